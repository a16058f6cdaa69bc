"""Key groups: one row per entity key in a partition.

Rows that share a key and a snapshot hash are the same record seen twice (a vehicle on two pages
while the inventory moves): they collapse into one. A key with more than one distinct hash is a
conflict. The row kept is decided by one deterministic rule, for duplicates and conflicts alike:

    latest `_fetched_at`, then highest `_page_number`, then highest `_snapshot_hash`

so a rerun over the same raw partition keeps the same rows. For an entity whose records say
when the upstream read them (`newest_by`: a dealer portal read twice in a day), the rule first
keeps the newest by that column; for one whose records repeat across the day's parents
(`repeated_records`: a package on many vehicles), the row with the most fields filled
(`_filled`), so one copy's empty value does not hide another copy's value. Conflicts are
reported with the columns that differ, at most `SAMPLE_LIMIT` keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from ai_core.transform.schema import HASH_COLUMN

SAMPLE_LIMIT = 50
CONFLICT_SCHEMA = pl.Schema(
    {
        "key": pl.String(),
        "versions": pl.UInt32(),
        "rows": pl.UInt32(),
        "differing": pl.List(pl.String()),
        "values": pl.String(),
        "kept_from": pl.String(),
    }
)
VALUES_SHOWN = 3


@dataclass(frozen=True, slots=True)
class KeyGroups:
    rows: pl.DataFrame
    """One row per key, chosen by the rule above, in key order."""
    duplicates: int
    """Rows dropped because an identical row (same key and hash) was kept."""
    conflicts: int
    """Keys seen with more than one distinct hash."""
    conflict_rows: int
    """Rows dropped because another version of their key was kept."""
    conflict_samples: pl.DataFrame
    """Up to `SAMPLE_LIMIT` conflicted keys: versions, rows, differing columns, the kept page."""


FILLED = "_filled"
"""How many of a row's hashed fields are not null: the rule's first preference when present."""


def filled(hashed: Sequence[str]) -> pl.Expr:
    """The `FILLED` column: how many of `hashed` are not null in each row."""
    if not hashed:
        return pl.lit(0, pl.UInt32).alias(FILLED)
    return pl.sum_horizontal(pl.col(c).is_not_null() for c in hashed).cast(pl.UInt32).alias(FILLED)


def _preference(
    key: Sequence[str], most_filled: bool, newest: str | None
) -> tuple[list[str], list[bool]]:
    order = [*([newest] if newest else []), *([FILLED] if most_filled else [])]
    columns = [*key, *order, "_fetched_at", "_page_number", HASH_COLUMN]
    return columns, [False] * len(key) + [True] * (len(columns) - len(key))


def collapse_identical(rows: pl.DataFrame, key: Sequence[str]) -> pl.DataFrame:
    """One row per (key, hash), chosen by the rule; safe to apply per batch before the final
    resolution, which then gives the same result as applying it once to everything."""
    distinct = rows.select(pl.struct(*key, HASH_COLUMN).n_unique()).item()
    if distinct == rows.height:
        # Nothing to collapse (the usual case for a batch of records with their own keys).
        return rows
    # Identical rows differ only in provenance: keep the first page in sub-resource order, not
    # the latest fetched, so a rerun of the day names the same page whatever the fetch order.
    columns = [*key, "_sub_resource", "_page_number"]
    # Copies within one page are alike in every column (provenance is the page's): dropping
    # them first leaves the sort only each page's distinct rows, a fraction for sub-records.
    rows = rows.unique(subset=[*columns, HASH_COLUMN], keep="any")
    return rows.sort(columns, nulls_last=True).unique(
        subset=[*key, HASH_COLUMN], keep="first", maintain_order=True
    )


def _key_text(key: Sequence[str]) -> pl.Expr:
    return pl.concat_str(
        [pl.format(f"{k}={{}}", pl.col(k).cast(pl.String)) for k in key], separator=", "
    )


def _conflict_samples(
    rows: pl.DataFrame,
    kept: pl.DataFrame,
    key: Sequence[str],
    hashed: Sequence[str],
    keys: pl.DataFrame,
) -> pl.DataFrame:
    sample_keys = keys.sort(list(key)).head(SAMPLE_LIMIT)
    sample = rows.join(sample_keys.select(key), on=list(key), how="semi")
    differs = sample.group_by(key).agg(
        pl.col(HASH_COLUMN).n_unique().alias("versions"),
        pl.len().alias("rows"),
        # Hashing each column lets lists and structs be compared like scalars.
        *(pl.col(c).hash().n_unique().gt(1).alias(c) for c in hashed),
    )
    differing = pl.concat_list(
        [pl.when(pl.col(c)).then(pl.lit(c)) for c in hashed]
    ).list.drop_nulls()
    origin = kept.join(sample_keys.select(key), on=list(key), how="semi").select(
        *key, pl.format("{} page {}", "_sub_resource", "_page_number").alias("kept_from")
    )
    samples = (
        differs.join(origin, on=list(key), how="left")
        .sort(list(key))
        .with_columns(differing.alias("differing"))
    )
    return samples.select(
        _key_text(key).alias("key"),
        pl.col("versions").cast(pl.UInt32),
        pl.col("rows").cast(pl.UInt32),
        "differing",
        pl.Series("values", _differing_values(sample, samples, key), pl.String),
        "kept_from",
    )


def _differing_values(sample: pl.DataFrame, samples: pl.DataFrame, key: Sequence[str]) -> list[str]:
    """Per sampled key, its versions' values of each differing column (`col: a | b`); the
    sample is at most `SAMPLE_LIMIT` keys, so this is plain Python."""
    by_key = sample.partition_by(list(key), as_dict=True, maintain_order=True)
    texts = []
    for row in samples.select(*key, "differing").iter_rows():
        rows = by_key[tuple(row[: len(key)])]
        parts = []
        for column in row[-1]:
            shown = list(dict.fromkeys(_short(v) for v in rows[column].to_list()))
            more = " | …" if len(shown) > VALUES_SHOWN else ""
            parts.append(f"{column}: {' | '.join(shown[:VALUES_SHOWN])}{more}")
        texts.append("; ".join(parts))
    return texts


def _short(value: object, limit: int = 60) -> str:
    # Amounts read as written (`1299.50`), not as `Decimal('1299.50')`.
    text = str(value) if isinstance(value, Decimal) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class KeyChoice:
    """Which row each key keeps, decided from the columns the rule needs and nothing else."""

    kept: pl.DataFrame
    duplicates: int
    conflicts: int
    conflict_rows: int
    conflicted: pl.DataFrame
    """The keys seen with more than one hash."""


def choose_rows(
    rows: pl.DataFrame,
    key: Sequence[str],
    *,
    most_filled: bool = False,
    newest: str | None = None,
) -> KeyChoice:
    """Apply the rule to rows that carry at least the key, provenance and hash columns (and
    `FILLED` with `most_filled`, for an entity whose most filled row comes first, and the
    `newest` column, for one whose newest row by it comes first)."""
    key = list(key)
    columns, descending = _preference(key, most_filled, newest)
    distinct = collapse_identical(rows, key).sort(columns, descending=descending, nulls_last=True)
    kept = distinct.unique(subset=key, keep="first", maintain_order=True)
    conflicted = (
        distinct.group_by(key).agg(pl.len().alias("versions")).filter(pl.col("versions") > 1)
    )
    return KeyChoice(
        kept=kept,
        duplicates=rows.height - distinct.height,
        conflicts=conflicted.height,
        conflict_rows=distinct.height - kept.height,
        conflicted=conflicted.select(key).sort(key),
    )


def conflict_samples(
    rows: pl.DataFrame, kept: pl.DataFrame, key: Sequence[str], hashed: Sequence[str]
) -> pl.DataFrame:
    """Up to `SAMPLE_LIMIT` conflicted keys with the columns their versions differ in; `rows`
    holds every row of those keys (at least), `kept` the rows the rule kept."""
    key = list(key)
    if rows.height == 0:
        return pl.DataFrame(schema=CONFLICT_SCHEMA)
    versions = (
        rows.group_by(key).agg(pl.col(HASH_COLUMN).n_unique().alias("n")).filter(pl.col("n") > 1)
    )
    if versions.height == 0:
        return pl.DataFrame(schema=CONFLICT_SCHEMA)
    return _conflict_samples(rows, kept, key, hashed, versions.select(key))


def resolve_key_groups(
    rows: pl.DataFrame, key: Sequence[str], hashed: Sequence[str], newest: str | None = None
) -> KeyGroups:
    """Collapse identical rows, resolve conflicts by the rule (the newest by `newest` first,
    then the most filled when the rows carry `FILLED`), and report what was dropped."""
    choice = choose_rows(rows, key, most_filled=FILLED in rows.columns, newest=newest)
    samples = (
        _conflict_samples(rows, choice.kept, list(key), hashed, choice.conflicted)
        if choice.conflicts
        else pl.DataFrame(schema=CONFLICT_SCHEMA)
    )
    return KeyGroups(
        rows=choice.kept,
        duplicates=choice.duplicates,
        conflicts=choice.conflicts,
        conflict_rows=choice.conflict_rows,
        conflict_samples=samples,
    )
