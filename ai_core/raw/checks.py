"""Completeness of a raw partition, computed from the bodies it holds.

The check does not trust what the fetcher believed: per sub-resource, it compares the distinct
record keys found in the bodies that are committed with the total the upstream reported, or with
the lowest total when the listing moved while it was paged (`total_bounds`). Both come out of
the verbatim JSON, read with the endpoint's page layout (each body parsed to the parts the
layout reads, as the fetcher parses it) or found by the rule's regexes. The raw asset tallies
its chunks as they are written, so a national day is checked while it is fetched, without
reading its bodies back; a stored partition can be checked the same way from its batches.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

import dagster as dg
import polars as pl

from ai_core.arrow import Frame, as_polars
from ai_core.http.payload import parse_json
from ai_core.markdown import markdown_table
from ai_core.raw.layout import CompletenessRule, PageLayout
from ai_core.raw.totals import modal_totals, total_bounds

SAMPLE_LIMIT = 50
TABLE_LIMIT = 200
READ_PAGES = 16
"""Bodies copied out of a batch at a time to be parsed."""


@functools.cache
def _shape(layout: PageLayout) -> type:
    """The parts of a page the layout reads: built once per layout, as the parser keeps a
    decoder per shape."""
    return layout.shape()


_PAGES_SCHEMA = pl.Schema(
    [
        ("_sub_resource", pl.String),
        ("_page_number", pl.Int32),
        ("_fetch_error", pl.String),
        ("total", pl.Int64),
        ("keys", pl.List(pl.String)),
    ]
)


class CompletenessTally:
    """Per sub-resource completeness, fed one batch of raw rows at a time.

    Each batch is reduced at once to (sub-resource, reported total, record keys) per page, so
    memory holds the keys of the day, never its bodies. The raw asset feeds it the chunks it
    writes, so the check covers exactly the rows committed; fed a stored partition's batches, it
    checks that day again.
    """

    def __init__(self, rule: CompletenessRule) -> None:
        self.rule = rule
        self._layout = rule.layout()
        self._reduce = [
            pl.col("_sub_resource"),
            pl.col("_page_number").cast(pl.Int32),
            pl.col("_fetch_error").cast(pl.String),
            *(self._found(rule) if self._layout is None else ()),
        ]
        self._pages: list[pl.DataFrame] = []
        self._listed: dict[str, int] = {}
        self._gone: set[str] = set()

    @staticmethod
    def _found(rule: CompletenessRule) -> list[pl.Expr]:
        """The total and the keys as the rule's regexes find them in each body."""
        assert rule.record_key_pattern is not None
        body = pl.col("_response_body")
        total = (
            body.str.extract(rule.total_pattern, 1)
            .str.replace_all(",", "", literal=True)
            .cast(pl.Int64, strict=False)
            if rule.total_pattern
            else pl.lit(None, pl.Int64)
        )
        keys = body.str.extract_all(rule.record_key_pattern).list.eval(
            pl.element().str.extract(rule.record_key_pattern, 1).str.strip_chars('"')
        )
        return [total.alias("total"), keys.alias("keys")]

    def _read(self, bodies: pl.Series) -> pl.DataFrame:
        """The total and the keys of each body, read with the layout as the fetcher reads a
        page; a body that is not JSON (a failed page's) has neither."""
        layout = self._layout
        assert layout is not None
        shape = _shape(layout)
        totals: list[int | None] = []
        keys: list[list[str]] = []
        # As bytes, a few at a time: the parser reads UTF-8 itself, and only a few bodies are
        # copied out of the batch at once.
        as_bytes = bodies.cast(pl.Binary)
        for start in range(0, as_bytes.len(), READ_PAGES):
            for body in as_bytes.slice(start, READ_PAGES).to_list():
                data, problem = parse_json(body or b"", shape)
                content = layout.read(data) if problem is None else None
                totals.append(content.total if content is not None else None)
                keys.append(list(content.record_keys) if content is not None else [])
        return pl.DataFrame(
            {"total": totals, "keys": keys}, schema={"total": pl.Int64, "keys": pl.List(pl.String)}
        )

    def expect_listed(self, listed: Mapping[str, int]) -> None:
        """How many records the list each sub-resource came from gave it (a model-year code's
        `count`). One listed with none that answers a total of 0 and holds none is complete,
        not empty; one listed with fewer than `may_sell_out_below` may have sold out. The raw
        asset calls it as its fetch starts; a stored day checked again needs the same call."""
        self._listed.update(listed)

    def expect_gone(self, sub_resources: Iterable[str]) -> None:
        """Sub-resources the source no longer has (a dealer's table dropped from its dataset),
        stored as not fetched so that downstream carries their last rows. The check names them
        and warns rather than fails: an offboarded dealer ends this way, and a rerun cannot
        bring them back. A stored day checked again needs the same call."""
        self._gone.update(sub_resources)

    def add(self, batch: Frame) -> None:
        frame = as_polars(batch)
        # A day stored before failed pages were kept has no `_fetch_error`.
        absent = [c for c in ("_page_number", "_fetch_error") if c not in frame.columns]
        if absent:
            frame = frame.with_columns(pl.lit(None, _PAGES_SCHEMA[c]).alias(c) for c in absent)
        pages = frame.select(self._reduce)
        if self._layout is not None:
            pages = pages.hstack(self._read(frame.get_column("_response_body")))
        self._pages.append(pages)

    def table(self) -> pl.DataFrame:
        """Per sub-resource: pages, records, distinct records, expected (modal reported total),
        and the pages that failed with the first failure's text."""
        pages = pl.concat(self._pages) if self._pages else pl.DataFrame(schema=_PAGES_SCHEMA)
        totals = modal_totals(pages, "total").rename({"total": "expected_records"})
        bounds = total_bounds(
            pages.with_columns(pl.col("keys").list.len().alias("on_page")), "total", "on_page"
        )
        keys = (
            pages.select("_sub_resource", "keys")
            .explode("keys")
            .drop_nulls("keys")
            .group_by("_sub_resource")
            .agg(
                pl.len().alias("records"),
                (pl.len() if self.rule.keys_may_repeat else pl.col("keys").n_unique()).alias(
                    "distinct_records"
                ),
            )
        )
        # A page that failed and was fetched again later in the day (the listing moved) counts
        # as fetched.
        fetched = pages.filter(pl.col("_fetch_error").is_null()).select(
            "_sub_resource", "_page_number"
        )
        pages = pages.join(
            fetched.unique().with_columns(pl.lit(True).alias("_has_fetched_copy")),
            on=["_sub_resource", "_page_number"],
            how="left",
            nulls_equal=False,
            maintain_order="left",
        )
        failed = pl.col("_fetch_error").is_not_null() & pl.col("_has_fetched_copy").is_null()
        per_page = pages.group_by("_sub_resource").agg(
            pl.len().alias("pages"),
            failed.sum().cast(pl.Int64).alias("failed_pages"),
            pl.col("_page_number").filter(failed).sort().alias("failed_page_numbers"),
            pl.col("_fetch_error").filter(failed).first().alias("first_error"),
        )
        return (
            per_page.join(keys, on="_sub_resource", how="left")
            .join(totals, on="_sub_resource", how="left")
            .join(bounds, on="_sub_resource", how="left")
            .with_columns(
                pl.col("records", "distinct_records", "unsettled_boundaries").fill_null(0),
                pl.col("moved").fill_null(False),
                pl.coalesce("lowest_total", "expected_records").alias("lowest_total"),
            )
            .join(self._listed_frame(), on="_sub_resource", how="left")
            .sort("_sub_resource")
        )

    def _listed_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {"_sub_resource": list(self._listed), "listed_records": list(self._listed.values())},
            schema={"_sub_resource": pl.String, "listed_records": pl.Int64},
        )

    def check_result(self) -> dg.AssetCheckResult:
        return _check_result(self.table(), self.rule, frozenset(self._gone))


def written_completeness(
    source_name: str, tally: CompletenessTally | None, written: bool
) -> dg.AssetCheckResult:
    """The check a raw stream reports once its chunks are written: over exactly those rows."""
    if tally is None:
        raise RuntimeError(f"{source_name}: the stream was built without a rule")
    if not written:
        raise RuntimeError(f"{source_name}: the stream has not been written yet")
    return tally.check_result()


def _check_result(
    table: pl.DataFrame, rule: CompletenessRule, gone: frozenset[str]
) -> dg.AssetCheckResult:
    needs_total = rule.reports_total
    # A listing that moved while paged counts records sold after they were seen and records
    # added: from its lowest total up is consistent, once every page boundary was answered
    # in one state (see `total_bounds`).
    moved = pl.col("moved")
    unsettled = pl.col("unsettled_boundaries") > 0
    short = pl.col("distinct_records") < pl.col("lowest_total")
    # Empty is suspect (a search backend answering 0 for a code with vehicles) unless the list
    # the sub-resource came from said so too.
    listed = pl.col("listed_records")
    answered_none = pl.col("expected_records").eq_missing(0)
    as_listed = (listed == 0).fill_null(False) & answered_none
    empty = (pl.col("distinct_records") == 0) & ~as_listed & ~pl.lit(rule.empty_is_complete)
    fetched = pl.col("failed_pages") == 0
    # Listed with a vehicle or two that sold before the fetch asked for them.
    few = listed.is_between(1, rule.may_sell_out_below - 1).fill_null(False)
    sold_out = empty & fetched & answered_none & few
    # Fetched in full and empty, where the rule says that can be the day's truth.
    plausible = empty & fetched & (pl.lit(rule.may_be_empty) | sold_out)
    vanished = ~fetched & pl.col("_sub_resource").is_in(pl.Series(sorted(gone), dtype=pl.String))
    bad = table.filter(
        (pl.col("failed_pages") > 0)
        | empty
        | (pl.col("expected_records").is_null() & needs_total)
        | unsettled
        | short
        | (pl.col("distinct_records") > pl.col("expected_records")) & ~moved
    ).with_columns(
        pl.when(vanished)
        .then(pl.lit("gone from the source"))
        .when(pl.col("failed_pages") > 0)
        .then(
            pl.format(
                "pages {} not fetched: {}",
                pl.col("failed_page_numbers").cast(pl.List(pl.String)).list.join(","),
                pl.col("first_error"),
            )
        )
        .when(sold_out)
        .then(pl.lit("sold out since listed?"))
        .when(empty)
        .then(pl.lit("empty"))
        .when(pl.col("expected_records").is_null())
        .then(pl.lit("no total reported" if needs_total else "ok"))
        .when(short)
        .then(pl.lit("short"))
        .when(unsettled)
        .then(pl.lit("moved, unsettled"))
        .otherwise(pl.lit("long"))
        .alias("problem"),
        (plausible | vanished).alias("plausible"),
        vanished.alias("gone"),
    )
    failed = bad.filter((pl.col("failed_pages") > 0) & ~pl.col("gone"))
    fetched_but_off = bad.filter(pl.col("failed_pages") == 0)
    went = bad.filter("gone")
    sentences = [] if table.height else ["the partition holds no pages"]
    if went.height:
        sentences.append(
            f"{went.height} sub-resource{'s' if went.height > 1 else ''} read on a recent day "
            f"{'are' if went.height > 1 else 'is'} gone from the source ({_named(went)}), as "
            "when a dealer is offboarded; downstream carries their last rows while they are "
            "recent, and a rerun cannot bring them back."
        )
    if failed.height:
        sentences.append(
            f"{int(failed['failed_pages'].sum())} pages of {failed.height} sub-resources were not "
            f"fetched ({_named(failed)}); the rest of the day is stored. Rerun this asset for the "
            "day once the upstream recovers, then its downstream assets."
        )
    if fetched_but_off.height:
        kinds = fetched_but_off.group_by("problem").len().sort("problem")
        counted = ", ".join(f"{n} {problem}" for problem, n in kinds.iter_rows())
        n = fetched_but_off.height
        sentences.append(
            f"{n} sub-resource{'s' if n > 1 else ''} fetched in full "
            f"{'are' if n > 1 else 'is'} off ({counted}: {_named(fetched_but_off)}); "
            "see the samples."
        )
    warning_only = table.height > 0 and bad.height > 0 and bool(bad["plausible"].all())
    if warning_only and not fetched_but_off.height:
        sentences.append("This is a warning: look at it if they should still be there.")
    elif warning_only and rule.may_be_empty:
        sentences.append(
            "An empty answer is true of a search with nothing in it, so this is a warning: "
            "look at it if the search should hold records."
        )
    elif warning_only:
        sentences.append(
            f"Each was listed with fewer than {rule.may_sell_out_below} records, which can sell "
            "between the list and the fetch, so this is a warning: look at it if they did not."
        )
    description = " ".join(sentences) or None
    return dg.AssetCheckResult(
        passed=table.height > 0 and bad.height == 0,
        severity=dg.AssetCheckSeverity.WARN if warning_only else dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata={
            "sub_resources": table.height,
            "pages": int(table["pages"].sum()) if table.height else 0,
            "distinct_records": int(table["distinct_records"].sum()) if table.height else 0,
            "expected_records": int(table["expected_records"].fill_null(0).sum())
            if table.height
            else 0,
            "incomplete_sub_resources": bad.height,
            "moved_sub_resources": table.filter(moved)["_sub_resource"]
            .head(SAMPLE_LIMIT)
            .to_list(),
            "empty_as_listed": table.filter(as_listed & (pl.col("distinct_records") == 0))[
                "_sub_resource"
            ]
            .head(SAMPLE_LIMIT)
            .to_list(),
            "sold_out_since_listed": table.filter(sold_out)["_sub_resource"]
            .head(SAMPLE_LIMIT)
            .to_list(),
            "problem_count": bad.height,
            "failed_pages": int(table["failed_pages"].sum()) if table.height else 0,
            "unobserved_sub_resources": failed["_sub_resource"].head(SAMPLE_LIMIT).to_list(),
            "gone_sub_resources": went["_sub_resource"].head(SAMPLE_LIMIT).to_list(),
            "samples": dg.MetadataValue.md(markdown_table(bad.head(SAMPLE_LIMIT).select(PROBLEMS))),
            "completeness": dg.MetadataValue.md(
                markdown_table(table.head(TABLE_LIMIT).select(PER_SUB))
            ),
        },
    )


def _named(rows: pl.DataFrame, limit: int = 10) -> str:
    named = ", ".join(rows["_sub_resource"].head(limit).to_list())
    return named + (f" and {rows.height - limit} more" if rows.height > limit else "")


PER_SUB = [
    "_sub_resource",
    "pages",
    "records",
    "distinct_records",
    "expected_records",
    "failed_pages",
    "listed_records",
]
PROBLEMS = [
    "_sub_resource",
    "problem",
    "pages",
    "distinct_records",
    "expected_records",
    "lowest_total",
    "listed_records",
]
