"""`TransformedDay`: one raw day read and decoded once for every entity extracted from it.

Several entities often live in the same pages (vehicles, and the dealers, models and options
they name). The day reads the raw batches once, decodes each slice of pages once with a struct
holding every entity's page shape (`shared_pages.py`), and hands the decoded slice to each
entity's extractor. The entities' partitions are written one after another by the IO manager:
the first one written drives the pass and gets its rows as they are extracted; the others'
rows, already collapsed by key, wait in a temporary folder on local disk, one Arrow file per
group, until their own write reads them back. Memory so holds one group of raw pages and its
rows, whatever the size of the day.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeAlias

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from ai_core.arrow import Frame, as_arrow, as_polars
from ai_core.transform.batching import GROUP_BYTES, grouped
from ai_core.transform.decode import CHUNK_BYTES, PageDecoder, byte_runs
from ai_core.transform.extract import Extraction, Extractor, SliceRows, page_bodies
from ai_core.transform.partition import TransformedPartition
from ai_core.transform.shared_pages import has_sub_records, narrowing, shared_page_dtype

RawBatches: TypeAlias = pa.RecordBatchReader | Iterable[Frame]


class ExtractionError(RuntimeError):
    """An entity's extraction failed; the message names the entity's table."""


@contextmanager
def _named(partition: TransformedPartition) -> Iterator[None]:
    """Errors of one entity's work raised as an `ExtractionError` naming its table."""
    try:
        yield
    except Exception as exc:
        raise ExtractionError(
            f"{partition.label}: extracting {partition.extractor.plan.entity.__name__} failed: "
            f"{exc}; fix the declaration or the raw day, then rerun the partition"
        ) from exc


class _Spill:
    """Kept rows of the partitions not being written, one Arrow file per group, deleted when
    read back or when the spill is garbage-collected."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="ai-transform-"))
        self._files: dict[int, list[Path]] = {}
        self._written = 0
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.folder, True)

    def add(self, index: int, rows: pl.DataFrame) -> None:
        path = self.folder / f"{index}-{self._written:07d}.arrow"
        self._written += 1
        rows.write_ipc(path, compression="lz4")
        self._files.setdefault(index, []).append(path)

    def read(self, index: int) -> Iterator[pl.DataFrame]:
        """The partition's groups in order, each file deleted once read, and the folder with
        the last one: a step process may exit without running the collector's finalisers."""
        for path in self._files.pop(index, []):
            rows = pl.read_ipc(path)
            path.unlink()
            yield rows
        if not self._files:
            self._cleanup()


class TransformedDay:
    """A raw day and the entities extracted from it; `partition(label, extractor)` adds one
    and returns its `TransformedPartition`. Read once, by the first partition written."""

    def __init__(self, raw: RawBatches, *, group_bytes: int = GROUP_BYTES) -> None:
        self._raw = raw
        self._group_bytes = group_bytes
        self._partitions: list[TransformedPartition] = []
        self._lead: TransformedPartition | None = None
        self._spill: _Spill | None = None
        self._read = False
        # (sub-resource, page number) of the pages that failed, and of those fetched.
        self._failed: set[tuple[str, int | None]] = set()
        self._fetched: set[tuple[str, int | None]] = set()

    @property
    def unobserved(self) -> set[str]:
        """Sub-resources with a page that could not be fetched, known once the day is read; a
        page fetched again later in the day (the listing moved) is observed."""
        return {sub for sub, page in self._failed if (sub, page) not in self._fetched}

    def partition(self, label: str, extractor: Extractor) -> TransformedPartition:
        if self._lead is not None:
            raise RuntimeError(f"{label}: the day is already being read; add entities before")
        partition = TransformedPartition(label, extractor, self)
        self._partitions.append(partition)
        return partition

    def rows(self, partition: TransformedPartition) -> Iterator[pl.DataFrame]:
        """The partition's kept rows, group by group: extracted now for the first partition
        asked, read back from local disk for the others."""
        if self._lead is None:
            self._lead = partition
            self._spill = _Spill() if len(self._partitions) > 1 else None
            return self._pass(partition)
        if not self._read:
            raise RuntimeError(
                f"{partition.label}: {self._lead.label} is still reading the raw day; write "
                "it to the end before the day's other tables"
            )
        assert self._spill is not None
        return self._spill.read(self._partitions.index(partition))

    def _pass(self, lead: TransformedPartition) -> Iterator[pl.DataFrame]:
        """Every group extracted for every entity. Groups overlap: the next group's slices are
        queued on the pool before one is handed on, so while this thread reads raw batches and
        the writer stages rows, both cores keep extracting."""
        extractors = [p.extractor for p in self._partitions]
        decoder = PageDecoder(shared_page_dtype(extractors))
        narrowed = narrowing(decoder.dtype, extractors)
        with ThreadPoolExecutor(max_workers=pl.thread_pool_size()) as pool:
            pending: Callable[[], list[Extraction]] | None = None
            for table in grouped(self._observed(), self._group_bytes):
                queued = self._submit(decoder, narrowed, table, pool)
                if pending is not None:
                    yield self._hand_on(pending(), lead)
                pending = queued
            if pending is not None:
                yield self._hand_on(pending(), lead)
        self._read = True

    def _submit(
        self, decoder: PageDecoder, narrowed: pl.Expr | None, table: pa.Table, pool: Executor
    ) -> Callable[[], list[Extraction]]:
        """Queue the group's slices and return at once; the result gives each entity's
        `Extraction` of the group, in the order the entities were added."""
        sizes = pl.Series(pc.binary_length(table["_response_body"]))
        # Decoding a slice is mostly single-threaded inside Polars; slices run side by side.
        futures = [
            pool.submit(self._extract_slice, decoder, narrowed, table.slice(start, length))
            for start, length in byte_runs(sizes, CHUNK_BYTES, pl.thread_pool_size())
        ]

        def result() -> list[Extraction]:
            parts = [future.result() for future in futures]
            extractions = []
            for i, partition in enumerate(self._partitions):
                with _named(partition):
                    slices = [rows[i] for rows in parts]
                    extractions.append(partition.extractor.assemble(table, slices))
            return extractions

        return result

    def _extract_slice(
        self, decoder: PageDecoder, narrowed: pl.Expr | None, part: pa.Table
    ) -> list[SliceRows]:
        frame = as_polars(part)
        decoded, malformed = decoder.decode(page_bodies(frame))
        # One narrowing for all the entities with sub-records (see `shared_pages`).
        deep = decoded.to_frame().select(narrowed).to_series() if narrowed is not None else None
        rows = []
        for partition in self._partitions:
            extractor = partition.extractor
            pages = deep if deep is not None and has_sub_records(extractor) else decoded
            with _named(partition):
                rows.append(extractor.extract_decoded(frame, pages, malformed))
        return rows

    def _hand_on(self, extractions: list[Extraction], lead: TransformedPartition) -> pl.DataFrame:
        """Each entity keeps its group; the lead's rows go to its writer, the others' to disk."""
        handed = None
        for index, (partition, extraction) in enumerate(
            zip(self._partitions, extractions, strict=True)
        ):
            with _named(partition):
                rows = partition.keep(extraction)
            if partition is lead:
                handed = rows
            else:
                assert self._spill is not None
                self._spill.add(index, rows)
        assert handed is not None
        return handed

    def _observed(self) -> Iterator[pa.Table]:
        """The raw batches without the rows of pages that failed, whose sub-resources are noted."""
        for batch in self._raw:
            arrow = as_arrow(batch)
            if "_fetch_error" not in arrow.schema.names:
                yield arrow
                continue
            errors = arrow.column("_fetch_error")
            numbered = "_page_number" in arrow.schema.names
            pages = arrow.select(
                ["_sub_resource", "_page_number"] if numbered else ["_sub_resource"]
            )
            if errors.null_count == arrow.num_rows:
                if numbered:
                    self._fetched.update(_pairs(pages, numbered))
                yield arrow
                continue
            failed = pc.is_valid(errors)
            self._failed.update(_pairs(pages.filter(failed), numbered))
            if numbered:
                self._fetched.update(_pairs(pages.filter(pc.invert(failed)), numbered))
            kept = arrow.filter(pc.invert(failed))
            if kept.num_rows:
                yield kept


def _pairs(pages: pa.Table, numbered: bool) -> Iterator[tuple[str, int | None]]:
    """(sub-resource, page number) of each row; the number is None on a day stored without."""
    subs = pages.column("_sub_resource").to_pylist()
    numbers = pages.column("_page_number").to_pylist() if numbered else [None] * len(subs)
    return zip(subs, numbers, strict=True)


__all__ = ["ExtractionError", "RawBatches", "TransformedDay"]
