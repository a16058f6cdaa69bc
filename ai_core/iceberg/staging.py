"""Writing a partition's data files chunk by chunk, before anything is committed.

Each chunk is cast to the table's schema and written to Parquet as soon as enough rows are
buffered; only the resulting `DataFile` descriptions are kept, so memory holds at most one chunk
plus `coalesce_bytes` of small chunks waiting to share a file. New columns are staged in a
transaction that is never committed: it only gives the field ids the files are written with,
and the commit re-applies the same evolution to the then-current table.

Files are written in chunk order and numbered in that order, so the partition's files list rows
in the order the chunks delivered them. The stager remembers which rows of which chunk each file
holds, so a writer can read staged rows back (`rows`) and strike rows from the staged files
(`strike`) before the commit, for a source that only knows at the end of the day which of the
rows it already handed over must go.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.io.pyarrow import bin_pack_arrow_table, pyarrow_to_schema, write_file
from pyiceberg.manifest import DataFile
from pyiceberg.partitioning import PartitionFieldValue, PartitionKey
from pyiceberg.table import Table, TableProperties, WriteTask
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.utils.properties import property_as_int

from ai_core.iceberg.schema import conform, new_columns
from ai_core.iceberg.tables import day_partition_field, dotted

Positions: TypeAlias = Sequence[int] | pl.Series
"""0-based positions of rows within a chunk."""

DEFAULT_COALESCE_BYTES = 32 * 1024 * 1024
"""Chunks smaller than this (in Arrow bytes) are buffered together into one data file."""


ROW_GROUP_BYTES = 32 * 1024 * 1024
"""Row groups of about this many Arrow bytes for tables of ordinary rows: larger groups wrote
faster and smaller files (figures in benchmarks/README.md, "Design notes")."""

WIDE_ROW_BYTES = 16 * 1024
WIDE_ROW_GROUP_BYTES = 8 * 1024 * 1024
"""Row groups of tables whose rows are whole pages (~100 KB): small, so a reader streaming a
raw day holds a few megabytes of bodies at a time."""


def _sized_row_groups(metadata: TableMetadata, rows: pa.Table) -> TableMetadata:
    """The metadata with a row-group limit in rows that gives row groups of about a set size.

    pyiceberg limits row groups by rows only (a million by default): for raw pages of ~100 KB
    that makes one row group per file, and a reader must decode a whole file at once. A limit
    the table sets itself is kept.
    """
    if TableProperties.PARQUET_ROW_GROUP_LIMIT in metadata.properties or rows.num_rows == 0:
        return metadata
    per_row = max(1, rows.nbytes // rows.num_rows)
    budget = WIDE_ROW_GROUP_BYTES if per_row >= WIDE_ROW_BYTES else ROW_GROUP_BYTES
    limit = max(16, min(TableProperties.PARQUET_ROW_GROUP_LIMIT_DEFAULT, budget // per_row))
    properties = {**metadata.properties, TableProperties.PARQUET_ROW_GROUP_LIMIT: str(limit)}
    return metadata.model_copy(update={"properties": properties})


@dataclass(frozen=True, slots=True)
class Segment:
    """Consecutive rows of one chunk inside a data file: chunk rows `start` to `start + length`."""

    chunk: int
    start: int
    length: int


def _split(pending: list[Segment], counts: Sequence[int]) -> list[list[Segment]]:
    """The buffered chunks' segments cut at file boundaries (`counts` rows a file, in order)."""
    out: list[list[Segment]] = []
    queue = list(reversed(pending))
    for count in counts:
        segments: list[Segment] = []
        while count:
            head = queue.pop()
            take = min(count, head.length)
            segments.append(Segment(head.chunk, head.start, take))
            if take < head.length:
                queue.append(Segment(head.chunk, head.start + take, head.length - take))
            count -= take
        out.append(segments)
    return out


def _positions(by_chunk: Mapping[int, Positions]) -> dict[int, pl.Series]:
    return {
        chunk: pl.Series(rows).cast(pl.Int64).unique()
        for chunk, rows in by_chunk.items()
        if len(rows)
    }


class PartitionStager:
    """Writes one day's chunks as data files of `table` and remembers them for the commit."""

    def __init__(
        self,
        table: Table,
        partition_date: dt.date,
        *,
        coalesce_bytes: int = DEFAULT_COALESCE_BYTES,
    ) -> None:
        self._table = table
        self._name = dotted(table.name())
        self._date = partition_date
        self._coalesce_bytes = coalesce_bytes
        self._schema_tx = table.transaction()
        # pyiceberg deep-copies the metadata on every `Transaction.table_metadata` read, so the
        # staged view is computed once per schema change rather than once per chunk.
        self._metadata = table.metadata
        self._arrow_schema = self._metadata.schema().as_arrow()
        self._write_uuid = uuid.uuid4()
        self._task_ids = itertools.count()
        self._buffer: list[pa.Table] = []
        self._buffered: list[Segment] = []
        self._buffered_bytes = 0
        self.data_files: list[DataFile] = []
        self._segments: list[list[Segment]] = []
        """For each data file, the chunk rows it holds, in file order."""
        self._struck = False
        self.chunks = 0

    @property
    def table(self) -> Table:
        return self._table

    @property
    def partition_date(self) -> dt.date:
        return self._date

    @property
    def metadata(self) -> TableMetadata:
        """The table as it will look after the commit (schema evolution applied)."""
        return self._metadata

    @property
    def arrow_schema(self) -> pa.Schema:
        return self._arrow_schema

    def add(self, chunk: pa.Table) -> None:
        """Stage one chunk (already carrying `_partition_date`); empty chunks write nothing."""
        self.chunks += 1
        added = new_columns(self.arrow_schema, chunk.schema)
        if added is not None:
            # Files already buffered must be written with the schema they were cast to.
            self.flush()
            with self._schema_tx.update_schema() as update:
                update.union_by_name(added)
            self._metadata = self._schema_tx.table_metadata
            self._arrow_schema = self._metadata.schema().as_arrow()
        if chunk.num_rows == 0:
            return
        conformed = conform(chunk, self.arrow_schema, self._name)
        self._buffer.append(conformed)
        self._buffered.append(Segment(self.chunks - 1, 0, conformed.num_rows))
        self._buffered_bytes += conformed.nbytes
        if self._buffered_bytes >= self._coalesce_bytes:
            self.flush()

    def flush(self) -> None:
        """Write whatever is buffered as data files."""
        if not self._buffer:
            return
        rows = pa.concat_tables(self._buffer)
        self._buffer.clear()
        self._buffered_bytes = 0
        written = self._write(rows)
        self._segments.extend(_split(self._buffered, [f.record_count for f in written]))
        self._buffered.clear()
        self.data_files.extend(written)

    def _write(self, rows: pa.Table) -> list[DataFile]:
        """`rows` written as data files of the day, in order."""
        metadata = self.metadata
        schema = metadata.schema()
        key = PartitionKey(
            field_values=[
                PartitionFieldValue(field=day_partition_field(self._table), value=self._date)
            ],
            partition_spec=metadata.spec(),
            schema=schema,
        )
        task_schema = pyarrow_to_schema(
            rows.schema, name_mapping=schema.name_mapping, format_version=metadata.format_version
        )
        target = property_as_int(
            metadata.properties,
            TableProperties.WRITE_TARGET_FILE_SIZE_BYTES,
            TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT,
        )
        tasks = (
            WriteTask(
                write_uuid=self._write_uuid,
                task_id=next(self._task_ids),
                record_batches=batches,
                schema=task_schema,
                partition_key=key,
            )
            for batches in bin_pack_arrow_table(rows, target or 0)
        )
        # write_file runs tasks on an executor but yields in task order.
        return list(write_file(self._table.io, _sized_row_groups(metadata, rows), tasks))

    def _read(self, data_file: DataFile) -> pa.Table:
        with self._table.io.new_input(data_file.file_path).open() as stream:
            return pq.read_table(stream)

    def _local_positions(self, index: int, positions: Mapping[int, pl.Series]) -> pl.Series:
        """Which rows of data file `index` are the given rows, by chunk index, of the chunks."""
        found: list[pl.Series] = []
        offset = 0
        for segment in self._segments[index]:
            wanted = positions.get(segment.chunk)
            if wanted is not None:
                end = segment.start + segment.length
                inside = wanted.filter((wanted >= segment.start) & (wanted < end))
                found.append(inside - segment.start + offset)
            offset += segment.length
        return pl.concat(found) if found else pl.Series(dtype=pl.Int64)

    def rows(self, wanted: Mapping[int, Positions]) -> pa.Table:
        """Staged rows, given as positions (0-based, in the order delivered) by chunk index, in
        staged order; meant for a few rows, since each file holding some of them is read whole,
        once."""
        self._check_unstruck()
        self.flush()
        positions = _positions(wanted)
        parts = []
        for index, data_file in enumerate(self.data_files):
            local = self._local_positions(index, positions)
            if local.len():
                parts.append(self._read(data_file).take(pa.array(local.sort().to_arrow())))
        return pa.concat_tables(parts) if parts else self.arrow_schema.empty_table()

    def strike(self, drops: Mapping[int, Positions]) -> int:
        """Rewrite the staged files holding the given rows without them, once, before the
        commit; returns how many rows went. `drops` maps a chunk's index (0-based, in the order
        the chunks were added) to positions of its rows. A file left empty is deleted."""
        self._check_unstruck()
        self.flush()
        self._struck = True
        positions = _positions(drops)
        if not positions:
            return 0
        struck = 0
        files: list[DataFile] = []
        for index, data_file in enumerate(self.data_files):
            doomed_rows = self._local_positions(index, positions)
            if doomed_rows.len() == 0:
                files.append(data_file)
                continue
            table = self._read(data_file)
            keep = pl.repeat(True, table.num_rows, eager=True).scatter(doomed_rows, False)
            kept = table.filter(keep.to_arrow())
            struck += table.num_rows - kept.num_rows
            # The new files go in the old one's place, so the day's rows keep their order.
            files.extend(self._write(kept) if kept.num_rows else [])
            with contextlib.suppress(Exception):
                self._table.io.delete(data_file.file_path)
        self.data_files = files
        return struck

    def _check_unstruck(self) -> None:
        if self._struck:
            raise RuntimeError(
                f"{self._name}: rows were already struck from the staged files; strike once, "
                "after reading back what is needed"
            )

    def rebased(self) -> PartitionStager:
        """The same rows re-staged against the table's latest schema; this stager's files go.

        Files are read back one at a time and matched to columns by name, so memory stays at one
        file and the new files carry the field ids the table now gives those names.
        """
        self._table.refresh()
        fresh = PartitionStager(self._table, self._date, coalesce_bytes=self._coalesce_bytes)
        try:
            for data_file in self.data_files:
                with self._table.io.new_input(data_file.file_path).open() as stream:
                    fresh.add(pq.read_table(stream))
            fresh.flush()
        except BaseException:
            fresh.discard()
            raise
        fresh.chunks = self.chunks
        self.discard()
        return fresh

    def discard(self) -> None:
        """Delete the files written so far; for when the commit is known not to have happened."""
        self._buffer.clear()
        for data_file in self.data_files:
            with contextlib.suppress(Exception):
                self._table.io.delete(data_file.file_path)
        self.data_files.clear()
