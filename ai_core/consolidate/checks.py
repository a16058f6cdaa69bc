"""Facts about a consolidated day: what each source gave, broken links, ids, disagreements.

Pure functions over frames; `check_results` turns them into Dagster asset-check results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl

from ai_core.consolidate.foreign_keys import orphans
from ai_core.consolidate.history import ACTIVE
from ai_core.consolidate.matching import GROUP
from ai_core.consolidate.policies import WINNER
from ai_core.consolidate.sources import SOURCE, SourceInput
from ai_core.consolidate.spec import ForeignKey

SAMPLE_LIMIT = 50


@dataclass(frozen=True, slots=True)
class OrphanFacts:
    """Rows whose foreign key names a target that does not exist today."""

    column: str
    entity: str
    count: int
    samples: list[str]

    @classmethod
    def from_keys(
        cls, column: str, entity: str, count: int, keys: Sequence[pl.Series]
    ) -> OrphanFacts:
        """Facts from the orphans' key texts gathered chunk by chunk (see `orphan_keys`)."""
        every = pl.concat(keys) if keys else pl.Series(dtype=pl.String)
        return cls(column, entity, count, every.unique().sort().head(SAMPLE_LIMIT).to_list())


@dataclass(frozen=True, slots=True)
class IntegrityFacts:
    """Counts per source, orphans per foreign key, ids that are missing or not unique."""

    rows: int
    active_rows: int | None
    # Frames do not compare with `==`; equality of facts is about the numbers.
    sources: pl.DataFrame = field(compare=False)
    missing_sources: list[str]
    null_ids: int
    duplicate_ids: int
    duplicate_samples: list[str]
    orphans: list[OrphanFacts] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        """Problems that make the table wrong: ids that do not identify."""
        found = []
        if self.null_ids:
            found.append(f"{self.null_ids} rows have no id (no key field has a value)")
        if self.duplicate_ids:
            found.append(
                f"{self.duplicate_ids} ids are not unique, e.g. {self.duplicate_samples[:5]}"
            )
        return found

    @property
    def warnings(self) -> list[str]:
        """Problems of the inputs: a source absent from its window, links to nothing."""
        found = [f"source {s} has no partition in its history window" for s in self.missing_sources]
        found += [
            f"{o.count} rows have a {o.column} naming no {o.entity}, e.g. {o.samples[:5]}"
            for o in self.orphans
            if o.count
        ]
        return found


@dataclass(frozen=True, slots=True)
class DiscrepancyFacts:
    """Per field, how many entities' sources disagree; at most `SAMPLE_LIMIT` examples."""

    counts: dict[str, int]
    samples: pl.DataFrame = field(compare=False)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def source_usage(
    inputs: Sequence[SourceInput],
    stacked: pl.DataFrame,
    merged: pl.DataFrame,
) -> pl.DataFrame:
    """One row per source group: partition used, its age, rows read, rows without a key, wins."""
    declared = pl.DataFrame(
        {
            SOURCE: [i.group.name for i in inputs],
            "asset": [i.group.source for i in inputs],
            "priority": [i.group.priority for i in inputs],
            "partition_date": [i.partition_date for i in inputs],
        },
        schema={
            SOURCE: pl.String,
            "asset": pl.String,
            "priority": pl.Int32,
            "partition_date": pl.Date,
        },
    )
    counts = (
        stacked.select(SOURCE, GROUP)
        .group_by(SOURCE)
        .agg(pl.len().alias("rows"), pl.col(GROUP).is_not_null().sum().alias("keyed"))
    )
    won = merged.group_by(WINNER).agg(pl.len().alias("won")).rename({WINNER: SOURCE})
    return (
        declared.join(counts, on=SOURCE, how="left", maintain_order="left")
        .join(won, on=SOURCE, how="left", maintain_order="left")
        .with_columns(pl.col("rows", "keyed", "won").fill_null(0).cast(pl.Int64))
        .select(
            SOURCE,
            "asset",
            "priority",
            "partition_date",
            "rows",
            (pl.col("rows") - pl.col("keyed")).alias("rows_without_key"),
            "won",
        )
    )


def orphan_keys(frame: pl.DataFrame, fk: ForeignKey) -> pl.Series:
    """The key of each orphan row as text, `dealer_code=60421`, for samples."""
    texts = [pl.format(f"{f}={{}}", pl.col(f)) for f in fk.by]
    return (
        orphans(frame, fk).select(pl.concat_str(texts, separator=",").alias(fk.column)).to_series()
    )


def id_facts(
    ids: pl.DataFrame,
    id_column: str,
    *,
    rows: int,
    active_rows: int | None,
    usage: pl.DataFrame,
    orphans: list[OrphanFacts],
) -> IntegrityFacts:
    """Integrity facts from the day's id column (every row's id) and counts gathered elsewhere."""
    repeated = (
        ids.drop_nulls(id_column)
        .group_by(id_column)
        .agg(pl.len().alias("n"))
        .filter(pl.col("n") > 1)
        .sort(id_column)
    )
    return IntegrityFacts(
        rows=rows,
        active_rows=active_rows,
        sources=usage,
        missing_sources=usage.filter(pl.col("partition_date").is_null())[SOURCE].to_list(),
        null_ids=ids[id_column].null_count(),
        duplicate_ids=repeated.height,
        duplicate_samples=repeated[id_column].head(SAMPLE_LIMIT).to_list(),
        orphans=orphans,
    )


def integrity(
    frame: pl.DataFrame,
    id_column: str,
    usage: pl.DataFrame,
    foreign_keys: Sequence[ForeignKey],
) -> IntegrityFacts:
    """Counts, null and repeated ids, and orphans of each foreign key among today's rows."""
    live = frame.filter(pl.col(ACTIVE)) if ACTIVE in frame.columns else frame
    found = []
    for fk in foreign_keys:
        keys = orphan_keys(live, fk)
        found.append(OrphanFacts.from_keys(fk.column, fk.entity, keys.len(), [keys]))
    return id_facts(
        frame.select(id_column),
        id_column,
        rows=frame.height,
        active_rows=live.height if ACTIVE in frame.columns else None,
        usage=usage,
        orphans=found,
    )


def _as_text(name: str, dtype: pl.DataType) -> pl.Expr:
    if dtype.is_nested():
        return pl.struct(name).struct.json_encode()
    return pl.col(name).cast(pl.String)


def discrepancies(
    ordered: pl.DataFrame,
    ids: pl.DataFrame,
    fields: Sequence[str],
    id_column: str,
    limit: int = SAMPLE_LIMIT,
    tolerances: Mapping[str, float] | None = None,
    prefixes: Mapping[str, int] | None = None,
) -> DiscrepancyFacts:
    """Entities whose sources give different non-null values for one of `fields`; for a field
    with a tolerance, values further apart than it; for one with a prefix, values that differ
    in their first that many characters.

    Each source speaks once per entity (its preferred row), so only disagreement between
    sources counts. `ordered` is the rows in precedence order (`in_precedence_order`); `ids`
    maps `_group` to the entity id, which names the samples.
    """
    present = [f for f in fields if f in ordered.columns]
    empty = pl.DataFrame(schema={id_column: pl.String, "field": pl.String, "values": pl.String})
    if not present:
        return DiscrepancyFacts({f: 0 for f in fields}, empty)
    per_source = (
        ordered.select(GROUP, SOURCE, *present)
        .filter(pl.col(GROUP).is_not_null())
        .group_by(GROUP, SOURCE)
        .agg(pl.col(f).first(ignore_nulls=True) for f in present)
    )
    tolerance = tolerances or {}
    prefix = prefixes or {}

    def disagree(f: str) -> pl.Expr:
        if f in tolerance:
            spread = pl.col(f).max() - pl.col(f).min()
            # As the decimal the YAML spells (`str` of a float is its shortest spelling): money
            # compares to the cent, without float rounding.
            limit = pl.lit(Decimal(str(tolerance[f])))
            return (spread > limit).fill_null(False).cast(pl.UInt32) + 1
        if f in prefix:
            text = _as_text(f, per_source.schema[f])
            return text.str.slice(0, prefix[f]).drop_nulls().n_unique()
        return pl.col(f).drop_nulls().n_unique()

    distinct = per_source.group_by(GROUP).agg(disagree(f).alias(f) for f in present)
    counts = distinct.select((pl.col(f) > 1).sum().alias(f) for f in present).row(0, named=True)
    samples = []
    budget = limit
    for f in present:
        if budget <= 0 or not counts[f]:
            continue
        bad = (
            distinct.filter(pl.col(f) > 1)
            .join(ids, on=GROUP)
            .sort(id_column)
            .head(budget)
            .select(GROUP, id_column)
        )
        budget -= bad.height
        samples.append(
            per_source.join(bad, on=GROUP)
            .filter(pl.col(f).is_not_null())
            .sort(id_column, SOURCE)
            .group_by(id_column, maintain_order=True)
            .agg(
                pl.format("{}={}", pl.col(SOURCE), _as_text(f, per_source.schema[f]))
                .str.join("; ")
                .alias("values")
            )
            .select(id_column, pl.lit(f).alias("field"), "values")
        )
    all_counts = {f: int(counts.get(f, 0)) for f in fields}
    return DiscrepancyFacts(all_counts, pl.concat(samples) if samples else empty)
