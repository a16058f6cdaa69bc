"""`compile_extractor`: an entity class read once, applied to batches of raw rows with Polars only.

Per batch: decode the pages with the implied schema, explode the records level by level (the raw
row's provenance travels with each record), build every column from the record struct with its
transforms, compute derived columns, split off rejected records (no key, or a value that breaks a
declared pattern), count the values a typed column could not read, and hash the non-key columns.
No Python runs per page or per record.

For an entity with `repeated_records` (a vehicle's dealer, its option codes), records that read
the same values on the same sub-resource are collapsed as soon as the values are read, before
the transforms, which then run on a slice's distinct records instead of on millions of copies.
The row kept names the first page the record is on, as the partition's own collapse of identical
rows would; each rejected copy is still reported where it is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from ai_core.arrow import Frame, as_arrow, as_polars
from ai_core.transform.coerce import Coercer
from ai_core.transform.decode import CHUNK_BYTES, PAGE, PageDecoder, byte_runs
from ai_core.transform.drift import DRIFT_SCHEMA, Drift, detect_drift
from ai_core.transform.entity import Entity
from ai_core.transform.hashing import snapshot_hash_expr
from ai_core.transform.plan import ColumnPlan, EntityPlan, column_stages, entity_plan, navigate
from ai_core.transform.scalars import int_expr, text_expr
from ai_core.transform.schema import HASH_COLUMN, PROVENANCE_SCHEMA, transformed_schema

CONTEXT_COLUMNS = (*PROVENANCE_SCHEMA, "_request_url")
"""Raw-row columns a derived column may use."""
COPIES = "_copies"
"""Positions in the slice's records of each distinct record's copies (`repeated_records`)."""
REJECTED_SCHEMA = pl.Schema(
    {
        "_sub_resource": pl.String(),
        "_page_number": pl.Int32(),
        "_record_index": pl.Int64(),
        "reason": pl.String(),
    }
)
PAGES_SCHEMA = pl.Schema(
    {
        "_sub_resource": pl.String(),
        "_page_number": pl.Int32(),
        "_fetched_at": pl.Datetime("us", "UTC"),
        "status": pl.String(),
        "reported_total": pl.Int64(),
        "records": pl.Int64(),
    }
)


UNREADABLE_SCHEMA = pl.Schema(
    {
        "column": pl.String(),
        "_sub_resource": pl.String(),
        "_page_number": pl.Int32(),
        "_record_index": pl.Int64(),
        "value": pl.String(),
    }
)
UNREADABLE_EMPTY = pl.DataFrame(schema=UNREADABLE_SCHEMA)
UNREADABLE_SAMPLES = 10


@dataclass(frozen=True, slots=True)
class Extraction:
    """What one batch of raw rows gave.

    `rows` are the accepted records in the transformed schema. `rejected` names each refused
    record by page and position. `pages` has one row per raw row: `status` is `ok`, `malformed`
    (not JSON) or `http <status>`, `reported_total` what the page says the upstream holds, and
    `records` how many records it carried. `unknown_keys` lists upstream keys the declaration
    does not know; `missing_keys` the declared key paths absent from every sampled record (None
    when nothing was sampled). `collapsed` counts the accepted records left out of `rows` as
    copies of one kept (only for entities with `repeated_records`).
    """

    rows: pl.DataFrame
    rejected: pl.DataFrame
    pages: pl.DataFrame
    unknown_keys: pl.DataFrame
    missing_keys: frozenset[str] | None = None
    collapsed: int = 0
    unreadable: dict[str, int] = field(default_factory=dict)
    """Per column read straight from the record by a coercer other than plain text (not picked
    from a list, nor inside a nested list): the accepted records, every copy counted, that sent
    it a value the coercer cannot read (a date in an unknown format, a price of `N/A`, a VIN of
    `PENDING`), stored as null."""
    unreadable_samples: pl.DataFrame = field(default_factory=lambda: UNREADABLE_EMPTY)
    """Up to `UNREADABLE_SAMPLES` of them a column: where, and the value as sent."""


@dataclass(frozen=True, slots=True)
class SliceRows:
    """What one slice of a raw batch gave: accepted rows, rejected records, page facts, the
    accepted records collapsed into a copy in `rows`, and the values no type could read."""

    rows: pl.DataFrame
    rejected: pl.DataFrame
    pages: pl.DataFrame
    collapsed: int = 0
    unreadable: dict[str, int] = field(default_factory=dict)
    unreadable_samples: pl.DataFrame = field(default_factory=lambda: UNREADABLE_EMPTY)


def checks_readable(column: ColumnPlan) -> bool:
    """A column read straight by a coercer other than plain text (a number, a date, a VIN),
    whose value can fail to read."""
    if column.derived is not None or column.fallback is not None or len(column.transforms) != 1:
        return False
    coercer = column.transforms[0]
    return isinstance(coercer, Coercer) and coercer.name != "text"


def _sent(name: str) -> str:
    return f"__sent:{name}"  # `:` keeps it apart from the working column of any field


def _unreadable_flag(name: str) -> str:
    return f"__unreadable:{name}"


_OK = (pl.col("_http_status") >= 200) & (pl.col("_http_status") < 300)


def _rec(level: int) -> str:
    return f"_rec{level}"


def _reason(plan: EntityPlan) -> pl.Expr:
    reasons = [pl.when(pl.col(k).is_null()).then(pl.lit(f"no {k}")) for k in plan.key]
    reasons += [
        pl.when(pl.col(c.name).is_not_null() & ~pl.col(c.name).str.contains(c.pattern)).then(
            pl.lit(f"{c.name} does not match {c.pattern}")
        )
        for c in plan.columns
        if c.pattern is not None and c.derived is None
    ]
    return pl.concat_str(reasons, separator="; ", ignore_nulls=True).alias("reason")


def _alike(plan: EntityPlan, read: list[pl.Expr], derived: list[pl.Expr]) -> list[str]:
    """The columns that make records alike: the values read, the sub-resource, and whatever
    provenance a derived column uses (all of it when that cannot be told)."""
    roots = {name for expr in derived for name in expr.meta.root_names()}
    known = {c.name for c in plan.columns} | set(CONTEXT_COLUMNS)
    context = [
        c for c in CONTEXT_COLUMNS if c == "_sub_resource" or c in roots or not roots <= known
    ]
    return [*context, *(expr.meta.output_name() for expr in read)]


def _distinct(records: pl.LazyFrame, alike: list[str]) -> pl.LazyFrame:
    """One row per distinct record, with the provenance of its first page and the positions of
    all its copies."""
    # Records that a derived column tells apart by every raw-row column have none left to carry.
    first_page = [
        pl.col(c).sort_by("_page_number", nulls_last=True).first()
        for c in CONTEXT_COLUMNS
        if c not in alike
    ]
    return records.group_by(*alike, maintain_order=True).agg(*first_page, pl.col(COPIES))


def _reported_total(plan: EntityPlan) -> pl.Expr:
    # A negative total reports nothing (a `-1` for unknown), as the raw tier reads it.
    totals = [int_expr(navigate(pl.col(PAGE), path)) for path in plan.totals]
    totals = [pl.when(total >= 0).then(total) for total in totals]
    return (pl.coalesce(totals) if totals else pl.lit(None, pl.Int64)).alias("reported_total")


class Extractor:
    """The compiled form of one entity class; call it on a raw batch for the accepted rows."""

    def __init__(self, plan: EntityPlan, *, detect_drift: bool = True) -> None:
        self.plan = plan
        self.detect_drift = detect_drift
        self.schema = transformed_schema(plan.entity)
        read = [c for c in plan.columns if c.derived is None]
        self._stages = column_stages(read, lambda level: pl.col(_rec(level)))
        self._checked = [c for c in read if checks_readable(c)]
        self._fallbacks = [
            pl.coalesce(pl.col(c.name), c.fallback.expr.cast(c.dtype)).alias(c.name)
            for c in plan.columns
            if c.fallback
        ]
        self._derived = [
            c.derived.expr.cast(c.dtype).alias(c.name) for c in plan.columns if c.derived
        ]
        self._reason = _reason(plan)
        self._hash = snapshot_hash_expr(plan.hashed)
        self._decoder = PageDecoder(plan.page_dtype)
        self._alike = (
            _alike(plan, self._stages[0], [*self._fallbacks, *self._derived])
            if plan.entity.repeated_records
            else None
        )

    def __call__(self, raw: Frame) -> pl.DataFrame:
        return self.extract(raw).rows

    def _records(self, pages: pl.DataFrame) -> pl.DataFrame:
        levels = self.plan.records.levels
        frame = pages.select(
            *CONTEXT_COLUMNS, "_row", navigate(pl.col(PAGE), levels[0]).alias(_rec(1))
        )
        frame = frame.explode(_rec(1), empty_as_null=False, keep_nulls=False)
        for depth, path in enumerate(levels[1:], start=2):
            frame = frame.with_columns(navigate(pl.col(_rec(depth - 1)), path).alias(_rec(depth)))
            frame = frame.explode(_rec(depth), empty_as_null=False, keep_nulls=False)
        return frame.with_columns(
            pl.int_range(pl.len(), dtype=pl.Int64).over("_row").alias("_record_index")
        )

    def extract(self, raw: Frame) -> Extraction:
        """Rows, rejections, page facts and unknown keys of one batch of raw rows.

        The batch is processed in slices of about `CHUNK_BYTES` of bodies, each converted to
        Polars and decoded on its own (two at a time on two cores), so decoded pages are held
        for a few slices, never for the whole batch.
        """
        with ThreadPoolExecutor(max_workers=pl.thread_pool_size()) as pool:
            return self.submit(raw, pool)()

    def submit(self, raw: Frame, pool: Executor) -> Callable[[], Extraction]:
        """Queue the batch's slices on `pool` and return at once; calling the result waits for
        them and gives the batch's `Extraction`. A caller can so prepare the next batch, or
        finish the previous one, while the slices run."""
        table = as_arrow(raw)
        # Decoding a slice is mostly single-threaded inside Polars; slices run side by side.
        futures = [
            pool.submit(self._extract_slice, table.slice(start, length))
            for start, length in _slices(table, pl.thread_pool_size())
        ]

        def result() -> Extraction:
            parts = [future.result() for future in futures]
            return self.assemble(table, parts)

        return result

    def assemble(self, table: pa.Table, parts: list[SliceRows]) -> Extraction:
        """The batch's `Extraction` from its slices' rows, in order."""
        rows = pl.concat([p.rows for p in parts]) if parts else pl.DataFrame(schema=self.schema)
        rejected = (
            pl.concat([p.rejected for p in parts])
            if parts
            else pl.DataFrame(schema=REJECTED_SCHEMA)
        )
        pages = pl.concat([p.pages for p in parts]) if parts else pl.DataFrame(schema=PAGES_SCHEMA)
        unreadable, unreadable_samples = merge_unreadable(
            (p.unreadable, p.unreadable_samples) for p in parts
        )
        drift = Drift(pl.DataFrame(schema=DRIFT_SCHEMA), None)
        if self.detect_drift and self.plan.entity.reports_unknown_keys:
            drift = detect_drift(
                table, pages["status"] == "ok", self.plan.page_dtype, self.plan.entity.ignored_keys
            )
        return Extraction(
            rows=rows,
            rejected=rejected,
            pages=pages,
            unknown_keys=drift.unknown,
            missing_keys=self._missing(drift.missing),
            collapsed=sum(p.collapsed for p in parts),
            unreadable=unreadable,
            unreadable_samples=unreadable_samples,
        )

    def _missing(self, missing: frozenset[str] | None) -> frozenset[str] | None:
        """Missing declared keys, less the alternative totals a page sends only one of."""
        totals = {".".join(path) for path in self.plan.totals}
        if missing is None or totals <= missing:
            return missing
        return missing - totals

    def decode(self, part: pa.Table) -> tuple[pl.DataFrame, pl.DataFrame]:
        """A slice's pages (provenance, status, decoded body) and their records, one row each."""
        frame = as_polars(part)
        decoded, malformed = self._decoder.decode(page_bodies(frame))
        pages = self._pages(frame, decoded, malformed)
        return pages, self._records(pages)

    def extract_decoded(
        self, frame: pl.DataFrame, decoded: pl.Series, malformed: pl.Series
    ) -> SliceRows:
        """One slice's rows from its raw rows and their pages, decoded with this entity's
        `plan.page_dtype` or a struct holding it (several entities decoding a slice once)."""
        pages = self._pages(frame, decoded, malformed)
        return self._slice_rows(pages, self._records(pages))

    def _pages(self, frame: pl.DataFrame, decoded: pl.Series, malformed: pl.Series) -> pl.DataFrame:
        return frame.select(*CONTEXT_COLUMNS, "_http_status").with_columns(
            pl.int_range(pl.len(), dtype=pl.UInt32).alias("_row"),
            decoded.alias(PAGE),
            malformed.alias("_malformed"),
        )

    def values(self, records: pl.DataFrame) -> pl.DataFrame:
        """Every column of each record, its rejection reason (empty when accepted) and its
        snapshot hash; of each distinct record, with the positions of its copies in `COPIES`,
        for an entity with `repeated_records`.

        The stages run in one lazy query, collected once: no frame is materialised between
        them, and the working columns are never copied out.
        """
        read, *transforms, last = self._stages
        query = records.lazy()
        if self._alike is None:
            context = [*CONTEXT_COLUMNS, "_row", "_record_index"]
            query = query.with_columns(read)
        else:
            context = [*CONTEXT_COLUMNS, COPIES]
            positions = pl.int_range(pl.len(), dtype=pl.UInt32).alias(COPIES)
            query = _distinct(query.select(*CONTEXT_COLUMNS, positions, *read), self._alike)
        # Whether each typed column was sent any text, taken before it is parsed; blank text
        # and the rare JSON object among what then did not parse are told apart afterwards.
        sent = [
            (pl.col(f"__{c.name}").str.len_bytes() > 0).alias(_sent(c.name)) for c in self._checked
        ]
        for stage in transforms:
            query = query.with_columns([*stage, *sent])
            sent = []
        unreadable = [
            (pl.col(_sent(c.name)) & pl.col(f"__{c.name}").is_null()).alias(
                _unreadable_flag(c.name)
            )
            for c in self._checked
        ]
        query = query.select(*context, *last, *unreadable)
        for expr in [*self._fallbacks, *self._derived]:  # in order, as the per-record path
            query = query.with_columns(expr)
        return query.with_columns(self._reason, self._hash).collect(engine="in-memory")

    def _extract_slice(self, part: pa.Table) -> SliceRows:
        return self._slice_rows(*self.decode(part))

    def _slice_rows(self, pages: pl.DataFrame, records: pl.DataFrame) -> SliceRows:
        values = self.values(records)
        accepted = pl.col("reason") == ""
        rows = values.filter(accepted).select(
            *PROVENANCE_SCHEMA, *(c.name for c in self.plan.columns), HASH_COLUMN
        )
        if self._alike is None:
            rejected = values.filter(~accepted).select(*REJECTED_SCHEMA)
        else:
            rejected = _each_copy(values.filter(~accepted), records)
        counts, samples = self._unreadable(values, records)
        per_page = records.group_by("_row").agg(pl.len().cast(pl.Int64).alias("records"))
        page_facts = (
            pages.with_columns(
                pl.when(~_OK)
                .then(pl.format("http {}", "_http_status"))
                .when(pl.col("_malformed"))
                .then(pl.lit("malformed"))
                .otherwise(pl.lit("ok"))
                .alias("status"),
                _reported_total(self.plan),
            )
            .join(per_page, on="_row", how="left", maintain_order="left")
            .with_columns(pl.col("records").fill_null(0))
            .select(*PAGES_SCHEMA)
        )
        return SliceRows(
            rows.cast(dict(self.schema)),  # type: ignore[arg-type]
            rejected,
            page_facts,
            collapsed=records.height - rejected.height - rows.height,
            unreadable=counts,
            unreadable_samples=samples,
        )

    def _unreadable(
        self, values: pl.DataFrame, records: pl.DataFrame
    ) -> tuple[dict[str, int], pl.DataFrame]:
        """Per checked column, the accepted records whose value did not parse (each copy of a
        repeated record counted), and a few of them read again from their records."""
        if not self._checked:
            return {}, UNREADABLE_EMPTY
        flags = [_unreadable_flag(c.name) for c in self._checked]
        accepted = pl.col("reason") == ""
        suspected = values.select((pl.col(flag) & accepted).any() for flag in flags)
        if not any(suspected.row(0)):
            return {}, UNREADABLE_EMPTY
        if self._alike is None:  # one value row per record, in record order
            position, copies = pl.int_range(pl.len(), dtype=pl.UInt32), pl.lit(1, pl.UInt32)
        else:
            position, copies = pl.col(COPIES).list.first(), pl.col(COPIES).list.len()
        # Positions first: they index the records, rejected ones included.
        found = values.select(
            position.alias("_position"), copies.alias("_copies"), *flags, accepted.alias("_ok")
        ).filter("_ok")
        counts: dict[str, int] = {}
        samples = [UNREADABLE_EMPTY]
        for column, flag, any_found in zip(self._checked, flags, suspected.row(0), strict=True):
            if not any_found:
                continue
            hits = found.filter(pl.col(flag))
            where = records.select(
                "_sub_resource",
                "_page_number",
                "_record_index",
                navigate(pl.col(_rec(column.level)), column.path).cast(pl.String).alias("value"),
            )
            sent = where[hits["_position"]].with_columns(
                pl.lit(column.name).alias("column"), hits["_copies"]
            )
            unread = sent.filter(text_expr(pl.col("value")).is_not_null())
            if unread.height:
                counts[column.name] = int(unread["_copies"].sum())
                samples.append(unread.head(UNREADABLE_SAMPLES).select(*UNREADABLE_SCHEMA))
        return counts, pl.concat(samples)


def _each_copy(rejected: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """Distinct rejected records as one rejection per copy, in record order."""
    if rejected.is_empty():
        return pl.DataFrame(schema=REJECTED_SCHEMA)
    copies = rejected.select(COPIES, "reason").explode(COPIES).sort(COPIES)
    where = records.select("_sub_resource", "_page_number", "_record_index")[copies[COPIES]]
    return where.with_columns(copies["reason"]).select(*REJECTED_SCHEMA)


def page_bodies(frame: pl.DataFrame) -> pl.Series:
    """The bodies of the raw rows answered with a success, null for the others."""
    return frame.select(pl.when(_OK).then(pl.col("_response_body"))).to_series()


def _slices(table: pa.Table, workers: int = 1) -> list[tuple[int, int]]:
    """(start, length) of consecutive slices of at most about `CHUNK_BYTES` of bodies.

    Their number is a multiple of `workers` and their sizes about equal, so the workers finish
    together instead of one waiting on a full slice while another had a scrap.
    """
    return byte_runs(pl.Series(pc.binary_length(table["_response_body"])), CHUNK_BYTES, workers)


def compile_extractor(entity: type[Entity], *, detect_drift: bool = True) -> Extractor:
    """Read `entity` once; the result maps a raw batch (Arrow or Polars) to its typed rows.

    `extractor(raw)` gives the accepted rows; `extractor.extract(raw)` gives them with the
    rejected records, the per-page facts and the unknown upstream keys. For an entity with
    `repeated_records` the rows hold each slice's distinct records once (see `collapsed`).
    """
    return Extractor(entity_plan(entity), detect_drift=detect_drift)


def merge_unreadable(
    tallies: Iterable[tuple[Mapping[str, int], pl.DataFrame]],
) -> tuple[dict[str, int], pl.DataFrame]:
    """Unreadable counts and samples of several slices or groups as one: the counts summed, the
    first `UNREADABLE_SAMPLES` samples of each column kept."""
    counts: Counter[str] = Counter()
    samples = [UNREADABLE_EMPTY]
    for tally_counts, tally_samples in tallies:
        counts.update(tally_counts)
        samples.append(tally_samples)
    kept = pl.concat(samples)
    return dict(counts), kept.filter(pl.int_range(pl.len()).over("column") < UNREADABLE_SAMPLES)


__all__ = [
    "UNREADABLE_SCHEMA",
    "Extraction",
    "Extractor",
    "SliceRows",
    "checks_readable",
    "compile_extractor",
    "merge_unreadable",
    "page_bodies",
]
