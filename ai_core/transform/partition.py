"""One transformed day: the raw partition read batch by batch, resolved by key, written back out.

The first pass extracts the raw batches in groups of a few tens of megabytes of bodies, collapses
identical rows within each group, and spills the rows to an Arrow IPC file, keeping in memory only
what the key rule needs (key, provenance, hash) and the page facts. Keys are then resolved over the
whole day. The second pass, run by the IO manager as it consumes this object, reads the spilled
batches back and yields the kept rows, evaluating the entity's discrepancy rules on them. Memory
therefore holds one group's rows, not the day's.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import polars as pl
import pyarrow as pa

from ai_core.transform.batching import grouped
from ai_core.transform.drift import DRIFT_SCHEMA
from ai_core.transform.extract import PAGES_SCHEMA, REJECTED_SCHEMA, Extraction, Extractor
from ai_core.transform.facts import (
    RULE_SAMPLES_SCHEMA,
    DiscrepancyFacts,
    IntegrityFacts,
    discrepancy_facts,
    integrity_facts,
    rule_findings,
    sub_resource_counts,
)
from ai_core.transform.keys import (
    SAMPLE_LIMIT,
    KeyChoice,
    choose_rows,
    collapse_identical,
    conflict_samples,
)
from ai_core.transform.schema import HASH_COLUMN

RawBatches: TypeAlias = (
    pa.RecordBatchReader | Iterable[pa.RecordBatch] | Iterable[pa.Table] | Iterable[pl.DataFrame]
)
BATCH = "_batch"
ROW = "_row"


@dataclass(slots=True)
class Timings:
    extract_s: float = 0.0
    resolve_s: float = 0.0
    write_s: float = 0.0


class TransformedPartition:
    """Iterable of the day's kept rows as `pl.DataFrame` chunks; consumable once."""

    def __init__(self, label: str, extractor: Extractor, raw: RawBatches) -> None:
        self.label = label
        self.extractor = extractor
        self._raw = raw
        self._spill = tempfile.TemporaryDirectory(prefix="transformed-")
        self._files: list[Path] = []
        self._choice: KeyChoice | None = None
        self._pages = pl.DataFrame(schema=PAGES_SCHEMA)
        self._rejected = pl.DataFrame(schema=REJECTED_SCHEMA)
        self._unknown = pl.DataFrame(schema=DRIFT_SCHEMA)
        schema = extractor.schema
        narrow = [*self.key, "_sub_resource", "_page_number", "_fetched_at", HASH_COLUMN]
        self._narrow = pl.DataFrame(
            schema={**{c: schema[c] for c in narrow}, ROW: pl.UInt32, BATCH: pl.UInt32}
        )
        self._conflict_samples: pl.DataFrame | None = None
        self._batch_duplicates = 0
        self._rule_counts: dict[str, int] = {}
        self._rule_samples = pl.DataFrame(schema=RULE_SAMPLES_SCHEMA)
        self._rows_written = 0
        self._consumed = False
        self.timings = Timings()

    @property
    def key(self) -> list[str]:
        return list(self.extractor.plan.key)

    def prepare(self) -> TransformedPartition:
        """Pass one: extract every raw batch, spill its rows, and resolve keys over the day.

        Batches overlap: while one batch's slices are extracted on the pool, this thread reads
        the next raw batch and spills the previous one's rows, so both cores stay busy.
        """
        started = time.perf_counter()
        kept: list[tuple[pl.DataFrame, ...]] = []
        with ThreadPoolExecutor(max_workers=pl.thread_pool_size()) as pool:
            pending: Callable[[], Extraction] | None = None
            for batch in grouped(self._raw):
                queued = self.extractor.submit(batch, pool)
                if pending is not None:
                    kept.append(self._keep(pending()))
                pending = queued
            if pending is not None:
                kept.append(self._keep(pending()))
        self.timings.extract_s = time.perf_counter() - started
        started = time.perf_counter()
        if kept:
            narrow, pages, rejected, unknown = zip(*kept, strict=True)
            self._narrow = pl.concat(narrow)
            self._pages = pl.concat(pages)
            self._rejected = pl.concat(rejected)
            self._unknown = (
                pl.concat(unknown)
                .group_by("key")
                .agg(pl.col("occurrences").sum())
                .sort("key")
                .select(DRIFT_SCHEMA.names())
            )
        self._choice = choose_rows(self._narrow, self.key) if kept else None
        if self._choice is not None and self._choice.conflicts:
            self._conflict_samples = self._sample_conflicts(self._choice)
        self.timings.resolve_s = time.perf_counter() - started
        return self

    def _keep(self, extraction: Extraction) -> tuple[pl.DataFrame, ...]:
        """Spill one batch's rows, identical ones collapsed; give back what stays in memory:
        their narrow columns, the page facts, the rejections and the unknown keys."""
        index = len(self._files)
        rows = collapse_identical(extraction.rows, self.key).with_columns(
            pl.int_range(pl.len(), dtype=pl.UInt32).alias(ROW)
        )
        self._batch_duplicates += extraction.rows.height - rows.height
        path = Path(self._spill.name) / f"{index:06d}.arrow"
        rows.write_ipc(path)
        self._files.append(path)
        narrow = rows.select(
            *self.key, "_sub_resource", "_page_number", "_fetched_at", HASH_COLUMN, ROW
        ).with_columns(pl.lit(index, pl.UInt32).alias(BATCH))
        return narrow, extraction.pages, extraction.rejected, extraction.unknown_keys

    def _sample_conflicts(self, choice: KeyChoice) -> pl.DataFrame:
        """The conflicted keys' differing columns, read from the spilled rows of a few keys."""
        sampled = choice.conflicted.head(SAMPLE_LIMIT)
        rows = pl.scan_ipc(self._files).join(sampled.lazy(), on=self.key, how="semi").collect()
        return conflict_samples(rows.drop(ROW), choice.kept, self.key, self.extractor.plan.hashed)

    def __iter__(self) -> Iterator[pl.DataFrame]:
        if self._consumed:
            raise RuntimeError(f"{self.label}: a transformed partition can be written only once")
        self._consumed = True
        if self._choice is None:
            self.prepare()
        return self._chunks()

    def _chunks(self) -> Iterator[pl.DataFrame]:
        started = time.perf_counter()
        choice = self._choice
        try:
            if choice is None or choice.kept.height == 0:
                yield pl.DataFrame(schema=self.extractor.schema)
                return
            for index, path in enumerate(self._files):
                kept = choice.kept.filter(pl.col(BATCH) == index).select(ROW)
                rows = pl.read_ipc(path).join(kept, on=ROW, how="semi").drop(ROW)
                # Deleted as soon as read, while the writer stages the previous chunk, rather
                # than all at the end (freeing a national day's spill took 0.3 s).
                path.unlink()
                counts, samples = rule_findings(
                    rows, self.extractor.plan.entity.discrepancy_rules, self.key
                )
                for name, n in counts.items():
                    self._rule_counts[name] = self._rule_counts.get(name, 0) + n
                self._rule_samples = pl.concat([self._rule_samples, samples])
                self._rows_written += rows.height
                if rows.height:
                    yield rows
        finally:
            self.timings.write_s = time.perf_counter() - started
            self._spill.cleanup()

    def integrity(self) -> IntegrityFacts:
        """Data lost between the raw pages and the table (known once prepared)."""
        counts = sub_resource_counts(self._pages, self._narrow, self._rejected, self.key)
        return integrity_facts(counts, self._pages, self._rejected)

    def discrepancies(self) -> DiscrepancyFacts:
        """Rule findings on the written rows, unknown keys and conflicts (known once written)."""
        choice = self._choice
        return discrepancy_facts(
            self._rule_counts,
            self._rule_samples,
            self._unknown,
            self._conflict_samples,
            choice.conflicts if choice else 0,
        )

    def output_metadata(self) -> dict[str, Any]:
        """What the day cost and what it found, for the asset's materialization."""
        choice = self._choice
        pages = self._pages
        return {
            "pages": pages.height,
            "bad_pages": int((pages["status"] != "ok").sum()) if pages.height else 0,
            "records": int(pages["records"].sum()) if pages.height else 0,
            "rejected_records": self._rejected.height,
            "rows_written": self._rows_written,
            "duplicates_collapsed": self._batch_duplicates + (choice.duplicates if choice else 0),
            "key_conflicts": choice.conflicts if choice else 0,
            "unknown_keys": self._unknown.height,
            "extract_seconds": round(self.timings.extract_s, 3),
            "resolve_seconds": round(self.timings.resolve_s, 3),
            "write_seconds": round(self.timings.write_s, 3),
        }
