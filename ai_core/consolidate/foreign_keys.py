"""Foreign keys: each row gets the id of the row of another entity, same day, that it names.

The lookup is a left join on the declared fields; a row whose fields are all set but find no
target keeps a null id and is an orphan (counted by the integrity check).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from ai_core.consolidate.spec import ForeignKey


@dataclass(frozen=True, slots=True)
class LookupTable:
    """A consolidated entity as a lookup target: its rows and the column holding its id."""

    frame: pl.LazyFrame | pl.DataFrame
    id_column: str


def _lookup(fk: ForeignKey, target: LookupTable, where: str) -> pl.LazyFrame:
    """Target key to target id, one row per key (the active row first, then the least id)."""
    lazy = target.frame.lazy()
    names = lazy.collect_schema().names()
    needed = [*fk.by.values(), target.id_column]
    missing = [n for n in needed if n not in names]
    if missing:
        raise KeyError(
            f"{where}: foreign key {fk.column} looks up {fk.entity} by {needed}, but "
            f"{fk.entity} has no {missing}"
        )
    # A target with history also holds rows that left the feed; a live row wins over them.
    active = ["active"] if "active" in names else []
    return (
        lazy.select(*fk.by.values(), target.id_column, *active)
        .drop_nulls(list(fk.by.values()))
        .sort([*active, target.id_column], descending=[True] * len(active) + [False])
        .unique(subset=list(fk.by.values()), keep="first", maintain_order=True)
        .select(
            *(pl.col(t).alias(local) for local, t in fk.by.items()),
            pl.col(target.id_column).alias(fk.column),
        )
    )


def lookup_frames(
    foreign_keys: list[ForeignKey], targets: Mapping[str, LookupTable], where: str
) -> dict[str, pl.DataFrame]:
    """Per foreign key column, its target key to id table, read once for the whole day."""
    frames = {}
    for fk in foreign_keys:
        if fk.entity not in targets:
            raise KeyError(
                f"{where}: foreign key {fk.column} needs entity {fk.entity!r}, which was not "
                f"provided (provided: {sorted(targets)})"
            )
        frames[fk.column] = _lookup(fk, targets[fk.entity], where).collect()
    return frames


def attach_foreign_keys(
    frame: pl.DataFrame,
    foreign_keys: list[ForeignKey],
    lookups: Mapping[str, pl.DataFrame],
    where: str,
) -> pl.DataFrame:
    """The frame with one id column per foreign key (null where the target is not found).

    `lookups` comes from `lookup_frames`.
    """
    out = frame
    for fk in foreign_keys:
        missing = [f for f in fk.by if f not in frame.columns]
        if missing:
            raise KeyError(
                f"{where}: foreign key {fk.column} uses fields {missing}, which no source provides"
            )
        lookup = lookups[fk.column].with_columns(
            pl.col(local).cast(frame.schema[local]) for local in fk.by
        )
        # Joining only the key columns and adding the id column keeps the wide frame uncopied.
        ids = frame.select(list(fk.by)).join(
            lookup, on=list(fk.by), how="left", maintain_order="left"
        )
        out = out.with_columns(ids.get_column(fk.column))
    return out


def orphans(frame: pl.DataFrame, fk: ForeignKey) -> pl.DataFrame:
    """Rows naming a target (every `by` field set) that the lookup did not find."""
    named = pl.all_horizontal(pl.col(f).is_not_null() for f in fk.by)
    return frame.filter(named & pl.col(fk.column).is_null())
