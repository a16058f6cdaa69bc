"""Integrity and discrepancy facts of a transformed partition, as plain values for asset checks.

Integrity is about data lost between the raw pages and the table: pages that were not JSON or not
a success, records rejected for lack of a key, and sub-resources holding fewer distinct keys than
the upstream reported. Discrepancies are about data kept but worth a look: the entity's own rules
(a corrected brand, an image with no URL), upstream keys the declaration does not know, and key
conflicts. Every function here is pure: frames in, facts out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from ai_core.raw.totals import modal_totals, total_bounds

SAMPLE_LIMIT = 50


def sub_resource_counts(
    pages: pl.DataFrame, rows: pl.DataFrame, rejected: pl.DataFrame, key: Sequence[str]
) -> pl.DataFrame:
    """Per sub-resource: pages, bad pages, the reported total (the one most pages give, larger
    on a tie), records read, rejected, distinct keys kept, and `missing`: the lowest total of
    the pages holding records (a listing that moved while paged reports several; see
    `total_bounds`), minus kept."""
    totals = modal_totals(pages, "reported_total").drop("reported_totals")
    lowest = total_bounds(pages, "reported_total", "records").select(
        "_sub_resource", "lowest_total"
    )
    page_counts = pages.group_by("_sub_resource").agg(
        pl.len().alias("pages"),
        (pl.col("status") != "ok").sum().alias("bad_pages"),
        pl.col("records").sum().alias("records"),
    )
    kept = rows.group_by("_sub_resource").agg(
        pl.struct(list(key)).n_unique().alias("distinct_keys")
    )
    refused = rejected.group_by("_sub_resource").agg(pl.len().alias("rejected"))
    return (
        page_counts.join(totals, on="_sub_resource", how="left")
        .join(lowest, on="_sub_resource", how="left")
        .join(refused, on="_sub_resource", how="left")
        .join(kept, on="_sub_resource", how="left")
        .with_columns(pl.col("rejected", "distinct_keys").fill_null(0).cast(pl.Int64))
        .with_columns(
            (pl.coalesce("lowest_total", "reported_total") - pl.col("distinct_keys")).alias(
                "missing"
            )
        )
        .sort("_sub_resource")
        .select(
            "_sub_resource",
            pl.col("pages", "bad_pages").cast(pl.Int64),
            "reported_total",
            pl.col("records").cast(pl.Int64),
            "rejected",
            "distinct_keys",
            "missing",
        )
    )


@dataclass(frozen=True, slots=True)
class IntegrityFacts:
    pages: int
    bad_pages: int
    records: int
    rejected: int
    distinct_keys: int
    short_sub_resources: int
    """Sub-resources with fewer distinct keys than the upstream reported (its lowest total, when
    the listing moved while paged)."""
    samples: pl.DataFrame
    """Up to `SAMPLE_LIMIT` problems: bad pages, rejected records, short sub-resources."""
    unobserved: tuple[str, ...] = ()
    """Sub-resources the raw day could not fetch in full, left out of `short_sub_resources`."""

    @property
    def data_lost(self) -> bool:
        return bool(self.bad_pages or self.rejected or self.short_sub_resources)


def integrity_facts(
    counts: pl.DataFrame,
    pages: pl.DataFrame,
    rejected: pl.DataFrame,
    unobserved: Sequence[str] = (),
) -> IntegrityFacts:
    """Totals of `sub_resource_counts` and samples of what was lost."""
    bad = pages.filter(pl.col("status") != "ok").select(
        pl.lit("bad page").alias("problem"),
        pl.format("{} page {}: {}", "_sub_resource", "_page_number", "status").alias("detail"),
    )
    refused = rejected.select(
        pl.lit("rejected record").alias("problem"),
        pl.format(
            "{} page {} record {}: {}", "_sub_resource", "_page_number", "_record_index", "reason"
        ).alias("detail"),
    )
    short = counts.filter(pl.col("missing") > 0).select(
        pl.lit("short sub-resource").alias("problem"),
        pl.format(
            "{}: {} distinct of {} reported",
            "_sub_resource",
            "distinct_keys",
            pl.col("distinct_keys") + pl.col("missing"),
        ).alias("detail"),
    )
    samples = pl.concat(
        [bad.head(SAMPLE_LIMIT), refused.head(SAMPLE_LIMIT), short.head(SAMPLE_LIMIT)]
    )

    def total(column: str) -> int:
        return int(counts[column].sum()) if counts.height else 0

    return IntegrityFacts(
        pages=total("pages"),
        bad_pages=total("bad_pages"),
        records=total("records"),
        rejected=total("rejected"),
        distinct_keys=total("distinct_keys"),
        short_sub_resources=int((counts["missing"] > 0).sum()) if counts.height else 0,
        samples=samples.head(SAMPLE_LIMIT),
        unobserved=tuple(unobserved),
    )


@dataclass(frozen=True, slots=True)
class DiscrepancyFacts:
    counts: dict[str, int] = field(default_factory=dict)
    """Rows matching each of the entity's discrepancy rules, `unreadable <column>` counts (in
    records as sent, every copy counted) and `unknown key <path>` counts."""
    samples: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema={"rule": pl.String(), "detail": pl.String()})
    )
    """Up to `SAMPLE_LIMIT` examples (`rule`, `detail`), shared between the kinds found."""

    @property
    def total(self) -> int:
        return sum(self.counts.values())


DISCREPANCY_SAMPLES_SCHEMA = pl.Schema({"rule": pl.String(), "detail": pl.String()})


def discrepancy_findings(
    rows: pl.DataFrame, discrepancies: Mapping[str, pl.Expr], key: Sequence[str]
) -> tuple[dict[str, int], pl.DataFrame]:
    """Rows showing each named discrepancy: counts, and up to `SAMPLE_LIMIT` samples of each."""
    key_text = pl.concat_str(
        [pl.format(f"{k}={{}}", pl.col(k).cast(pl.String)) for k in key], separator=", "
    )
    counts: dict[str, int] = {}
    samples = [pl.DataFrame(schema=DISCREPANCY_SAMPLES_SCHEMA)]
    for name, condition in discrepancies.items():
        hits = rows.filter(condition.fill_null(False))
        counts[name] = hits.height
        samples.append(
            hits.head(SAMPLE_LIMIT).select(
                pl.lit(name).alias("rule"),
                pl.format("{} ({} page {})", key_text, "_sub_resource", "_page_number").alias(
                    "detail"
                ),
            )
        )
    return counts, pl.concat(samples)


def discrepancy_facts(
    rule_counts: Mapping[str, int],
    rule_samples: pl.DataFrame,
    unknown_keys: pl.DataFrame,
    conflict_samples: pl.DataFrame | None = None,
    conflicts: int = 0,
) -> DiscrepancyFacts:
    """Counts and samples (at most `SAMPLE_LIMIT` in all, shared fairly between kinds) of the
    entity's rule findings, unknown upstream keys and key conflicts."""
    counts = {name: n for name, n in rule_counts.items() if n}
    for path, occurrences in unknown_keys.iter_rows():
        counts[f"unknown key {path}"] = int(occurrences or 0)
    if conflicts:
        counts["key conflicts"] = conflicts
    kinds = [rule_samples.filter(pl.col("rule") == name) for name in rule_counts]
    kinds.append(
        unknown_keys.select(
            pl.lit("unknown key").alias("rule"),
            pl.format("{} ({} occurrences)", "key", pl.col("occurrences").fill_null(-1)).alias(
                "detail"
            ),
        )
    )
    if conflict_samples is not None and conflict_samples.height:
        kinds.append(
            conflict_samples.select(
                pl.lit("key conflict").alias("rule"),
                pl.format(
                    "{}: {} versions differ in {}; kept {}",
                    "key",
                    "versions",
                    "values",
                    "kept_from",
                ).alias("detail"),
            )
        )
    kinds = [k for k in kinds if k.height]
    share = SAMPLE_LIMIT // max(1, len(kinds))
    samples = pl.concat(
        [k.head(max(1, share)) for k in kinds] or [pl.DataFrame(schema=DISCREPANCY_SAMPLES_SCHEMA)]
    )
    return DiscrepancyFacts(counts=counts, samples=samples.head(SAMPLE_LIMIT))
