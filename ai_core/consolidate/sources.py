"""Which partition each source contributes (gap fill), and all sources stacked into one frame.

A source with no rows for the day contributes its latest partition at most `history_days` older,
and its rows say so: `_source_partition_date` and `_source_age_days` travel with every row into
the merge. A source that wrote the day but could not observe part of it (a sub-resource whose
pages failed, recorded with the day) also contributes, for that part only, the rows of the latest
earlier day within `history_days` that observed it, unless today's rows hold their key: an outage
is never read as the entities leaving.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from ai_core.consolidate.frames import refuse_float_for_decimal
from ai_core.consolidate.spec import KeyLookup, SourceGroup

SOURCE = "_source"
PRIORITY = "_priority"
SOURCE_DATE = "_source_partition_date"
SOURCE_AGE = "_source_age_days"
SNAPSHOT_HASH = "_snapshot_hash"

PROVENANCE_INPUT = (SOURCE, PRIORITY, SOURCE_DATE, SOURCE_AGE, SNAPSHOT_HASH)
"""Columns the stacking adds to every source row; entity fields are the other columns."""


@dataclass(frozen=True, slots=True)
class CarriedRows:
    """Rows of an earlier day standing in for a part of the source not observed today."""

    partition_date: dt.date
    frame: pl.LazyFrame | pl.DataFrame


@dataclass(frozen=True, slots=True)
class SourceInput:
    """One source group's rows for the day: `frame` is None when it has nothing in its window.

    `unobserved` names the parts (sub-resources) the chosen day did not fully observe, and
    `carried` the earlier rows that stand in for them."""

    group: SourceGroup
    frame: pl.LazyFrame | pl.DataFrame | None
    partition_date: dt.date | None
    unobserved: frozenset[str] = frozenset()
    carried: tuple[CarriedRows, ...] = ()


def latest_observations(
    day: dt.date,
    unobserved_today: frozenset[str],
    available: Iterable[dt.date],
    unobserved_by_day: dict[dt.date, frozenset[str]],
    earliest: dt.date,
) -> dict[dt.date, frozenset[str]]:
    """For each day from `earliest` to before `day` (the source's day standing in for the
    consolidated one), the parts `day` did not observe whose latest observation it holds (a day
    observes a part when its write did not record it as missing). `earliest` is counted from
    the consolidated day, so a source that skipped days carries no older rows for it."""
    wanted = set(unobserved_today)
    chosen: dict[dt.date, frozenset[str]] = {}
    for earlier in sorted((d for d in available if earliest <= d < day), reverse=True):
        missed = unobserved_by_day.get(earlier, frozenset())
        seen = {
            p for p in wanted if p not in missed and not any(p.startswith(m + "/") for m in missed)
        }
        if seen:
            chosen[earlier] = frozenset(seen)
            wanted -= seen
        if not wanted:
            break
    return chosen


def without_held_keys(
    rows: pl.LazyFrame,
    today: pl.LazyFrame,
    key_alternatives: Sequence[Sequence[str]],
    rename: Mapping[str, str],
) -> pl.LazyFrame:
    """`rows` of a source, less those today's rows of the same source hold under any alternative
    of the entity's key that the source has (a vehicle by its VIN when the source has no order
    number): a record fetched today is not carried from an earlier day as well."""
    source_names = {new: old for old, new in rename.items()}
    have = set(rows.collect_schema().names()) & set(today.collect_schema().names())
    for alternative in key_alternatives:
        key = [source_names.get(f, f) for f in alternative]
        if set(key) <= have:
            held = today.select(key).drop_nulls().unique()
            rows = rows.join(held, on=key, how="anti")
    return rows


def with_keys_from(
    frame: pl.LazyFrame, table: pl.LazyFrame | None, lookup: KeyLookup
) -> pl.LazyFrame:
    """The source's rows with the `take` fields of the `table` row sharing their `by` fields
    (null where none does, or when there is no table); a row matching several is repeated,
    once for each."""
    names = frame.collect_schema().names()
    missing = sorted(set(lookup.by) - set(names))
    if missing:
        raise KeyError(
            f"key_from {lookup.source}: the source has no {missing} to join on; its columns are "
            f"{sorted(names)}: fix `key_from.by` in the component's YAML"
        )
    frame = frame.drop(c for c in lookup.take if c in names)
    if table is None:
        return frame.with_columns(pl.lit(None, pl.String).alias(c) for c in lookup.take)
    schema = frame.collect_schema()
    keys = (
        table.select(*lookup.by, *lookup.take)
        .drop_nulls(lookup.by)
        .unique()
        .with_columns(pl.col(c).cast(schema[c]) for c in lookup.by)
    )
    return frame.join(keys, on=lookup.by, how="left", maintain_order="left")


def choose_partition(
    day: dt.date, available: Iterable[dt.date], history_days: int
) -> dt.date | None:
    """The day itself if it holds rows, else the latest day within `history_days` before it."""
    earliest = day - dt.timedelta(days=history_days)
    candidates = [d for d in available if earliest <= d <= day]
    return max(candidates, default=None)


def entity_columns(frame: pl.LazyFrame | pl.DataFrame, group: SourceGroup) -> list[str]:
    """The source's entity fields after renaming: every column not starting with `_` and not
    excluded."""
    names = frame.collect_schema().names()
    for option, asked in (("rename", group.rename), ("exclude", group.exclude)):
        missing = sorted(set(asked) - set(names))
        if missing:
            raise KeyError(
                f"source {group.name} ({group.source}) has no columns {missing} to {option}; "
                f"its columns are {sorted(names)}: fix `{option}` in the component's YAML"
            )
    left_out = set(group.exclude)
    return [group.rename.get(n, n) for n in names if not n.startswith("_") and n not in left_out]


def source_frames(day: dt.date, inputs: Sequence[SourceInput]) -> list[pl.LazyFrame]:
    """Each contributing source's rows with its entity fields and provenance, lazily, in
    precedence order (priority, fresher partition, name), which the merge relies on."""
    present = [
        (i.group, i.frame.lazy(), i.partition_date)
        for i in inputs
        if i.frame is not None and i.partition_date is not None
    ]
    present += [(i.group, c.frame.lazy(), c.partition_date) for i in inputs for c in i.carried]
    present.sort(key=lambda p: (p[0].priority, -p[2].toordinal(), p[0].name))
    frames = []
    for group, lazy, partition in present:
        fields = entity_columns(lazy, group)
        has_hash = SNAPSHOT_HASH in lazy.collect_schema().names()
        renamed = lazy.rename(group.rename) if group.rename else lazy
        frames.append(
            renamed.select(
                *fields,
                pl.lit(group.name, pl.String).alias(SOURCE),
                pl.lit(group.priority, pl.Int32).alias(PRIORITY),
                pl.lit(partition, pl.Date).alias(SOURCE_DATE),
                pl.lit((day - partition).days, pl.Int32).alias(SOURCE_AGE),
                pl.col(SNAPSHOT_HASH).reinterpret(signed=False)
                if has_hash
                else pl.lit(None, pl.UInt64).alias(SNAPSHOT_HASH),
            )
        )
    if not frames:
        raise ValueError("no source contributed rows: nothing to stack")
    refuse_float_for_decimal(
        [
            (f"{group.source} {partition}", frame.collect_schema())
            for (group, _, partition), frame in zip(present, frames, strict=True)
        ]
    )
    return frames


def stacked_template(frames: Sequence[pl.LazyFrame]) -> pl.DataFrame:
    """No rows, the stacked columns: every source's fields aligned by name, types widened to a
    common supertype, in the order `stack_sources` gives them."""
    return pl.concat([f.head(0) for f in frames], how="diagonal_relaxed").collect()


def stack_sources(
    day: dt.date, inputs: Sequence[SourceInput], columns: Sequence[str] | None = None
) -> pl.DataFrame:
    """Every contributing source's rows in one frame, entity fields aligned by name.

    Sources follow each other in precedence order (see `source_frames`). Fields a source lacks
    are null in its rows; types are widened to a common supertype. `columns` keeps only those
    (the ones a source lacks are left out), so a narrow pass reads no more than it needs.
    """
    frames = source_frames(day, inputs)
    if columns is not None:
        wanted = set(columns)
        frames = [f.select(c for c in f.collect_schema().names() if c in wanted) for f in frames]
    return pl.concat(frames, how="diagonal_relaxed").collect(engine="in-memory")
