"""Writing a partition's data files chunk by chunk, before anything is committed.

Each chunk is cast to the table's schema and appended to an open Parquet file as soon as a row
group's worth of rows is buffered; a file is closed once it holds `coalesce_bytes`, and only the
resulting `DataFile` descriptions are kept. Memory therefore holds at most one chunk plus a row
group of small chunks, and what is left to write when the last chunk arrives is that chunk,
under a row group of rows before it, and a file footer, whatever the size of the day. A list of
records (structs) that is null is stored as an empty list, as pyiceberg's own writer stores it
and its reader reads it, so that every reader sees the same value. New columns are staged in a
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
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.io import OutputFile
from pyiceberg.io.pyarrow import ParquetFormatWriter
from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
from pyiceberg.partitioning import PartitionFieldValue, PartitionKey
from pyiceberg.table import Table, TableProperties
from pyiceberg.table.locations import load_location_provider
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.utils.properties import property_as_int

from ai_core.iceberg.schema import conform, is_list, new_columns
from ai_core.iceberg.tables import day_partition_field, dotted

Positions: TypeAlias = Sequence[int] | pl.Series
"""0-based positions of rows within a chunk."""

DEFAULT_COALESCE_BYTES = 32 * 1024 * 1024
"""Chunks smaller than this (in Arrow bytes) share one data file."""


ROW_GROUP_BYTES = 32 * 1024 * 1024
"""Row groups of about this many Arrow bytes for tables of ordinary rows: larger groups wrote
faster and smaller files (figures in benchmarks/README.md, "Design notes")."""

WIDE_ROW_BYTES = 16 * 1024
WIDE_ROW_GROUP_BYTES = 8 * 1024 * 1024
"""Row groups of tables whose rows are whole pages (~100 KB): small, so a reader streaming a
raw day holds a few megabytes of bodies at a time."""


MIN_GROUP_ROWS = 16
"""Fewest rows in a row group cut by size, however wide the rows (a locator page is MBs)."""


def row_group_bytes(rows: pa.Table) -> int:
    """The Arrow bytes of a row group for rows like these: wide rows get small groups."""
    per_row = max(1, rows.nbytes // max(1, rows.num_rows))
    return WIDE_ROW_GROUP_BYTES if per_row >= WIDE_ROW_BYTES else ROW_GROUP_BYTES


def _slices(rows: pa.Table, parts: int, min_rows: int = 1) -> list[pa.Table]:
    """`rows` cut, in order, into `parts` slices of even size, of at least `min_rows` rows."""
    size = max(min_rows, math.ceil(rows.num_rows / max(1, parts)))
    return [rows.slice(start, size) for start in range(0, rows.num_rows, size)]


def _row_groups(rows: pa.Table) -> list[pa.Table]:
    """`rows` cut into row groups of even size near `row_group_bytes` (26 rows at 25 a group are
    one group, not 25 and 1). pyiceberg limits row groups by rows only (a million by default):
    for raw pages of ~100 KB that would make one row group per file, which a reader must decode
    at once."""
    return _slices(rows, round(rows.nbytes / row_group_bytes(rows)), MIN_GROUP_ROWS)


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


def _has_record_list(kind: pa.DataType) -> bool:
    if is_list(kind):
        return pa.types.is_struct(kind.value_type) or _has_record_list(kind.value_type)
    return pa.types.is_struct(kind) and any(_has_record_list(f.type) for f in kind)


def _empty_lists(array: pa.Array) -> pa.Array:
    """`array` with each null list of structs, at any depth, an empty list."""
    kind = array.type
    if pa.types.is_struct(kind):
        children = [_empty_lists(array.field(i)) for i in range(kind.num_fields)]
        return pa.StructArray.from_arrays(children, fields=list(kind), mask=array.is_null())
    if is_list(kind):
        if pa.types.is_struct(kind.value_type):
            array = pc.if_else(pc.is_null(array), pa.scalar([], kind), array)
        rebuilt = pa.LargeListArray if pa.types.is_large_list(kind) else pa.ListArray
        return rebuilt.from_arrays(
            array.offsets, _empty_lists(array.values), type=kind, mask=array.is_null()
        )
    return array


def _with_empty_lists(rows: pa.Table) -> pa.Table:
    """`rows` with null lists of structs as empty ones, as pyiceberg's reader would read them
    anyway: its scan turns a stored null list of structs into an empty one, which Polars and
    others read as null. Lists of other values keep their nulls, as pyiceberg keeps them."""
    for i, field in enumerate(rows.schema):
        if _has_record_list(field.type):
            column = rows.column(i)
            filled = pa.chunked_array([_empty_lists(c) for c in column.chunks], field.type)
            rows = rows.set_column(i, field, filled)
    return rows


class _OpenFile:
    """A data file being written: Parquet row groups appended until it is closed."""

    def __init__(self, table: Table, metadata: TableMetadata, key: PartitionKey, name: str) -> None:
        self._io = table.io
        self._key = key
        self._spec_id = metadata.default_spec_id
        provider = load_location_provider(metadata.location, metadata.properties)
        self.path = provider.new_data_location(data_file_name=name, partition_key=key)
        self._output: OutputFile = self._io.new_output(self.path)
        # A table that sets its own row-group limit in rows gets it; otherwise each write is cut
        # by size (`_row_groups`) and the writer's limit, a million rows, leaves the cuts whole.
        self._own_limit = TableProperties.PARQUET_ROW_GROUP_LIMIT in metadata.properties
        self._writer = ParquetFormatWriter(self._output, metadata.schema(), metadata.properties)
        self.nbytes = 0
        self.segments: list[Segment] = []

    def write(self, rows: pa.Table, segments: list[Segment]) -> None:
        """Append `rows`, as row groups cut by size (or by the table's own limit)."""
        rows = _with_empty_lists(rows)
        for group in [rows] if self._own_limit else _row_groups(rows):
            self._writer.write(group)
        self.nbytes += rows.nbytes
        self.segments.extend(segments)

    def close(self) -> DataFile:
        statistics = self._writer.close()
        return DataFile.from_args(
            content=DataFileContent.DATA,
            file_path=self.path,
            file_format=FileFormat.PARQUET,
            partition=self._key.partition,
            file_size_in_bytes=len(self._output),
            sort_order_id=None,
            spec_id=self._spec_id,
            equality_ids=None,
            key_metadata=None,
            **statistics.to_serialized_dict(),
        )

    def abort(self) -> None:
        """Close without describing the file, and delete it."""
        with contextlib.suppress(Exception):
            self._writer.close()
        with contextlib.suppress(Exception):
            self._io.delete(self.path)


def _positions(by_chunk: Mapping[int, Positions]) -> dict[int, pl.Series]:
    return {
        chunk: pl.Series(rows).cast(pl.Int64).unique()
        for chunk, rows in by_chunk.items()
        if len(rows)
    }


def _pieces(rows: pa.Table, target: int) -> list[pa.Table]:
    """`rows` cut, in order, into pieces of at most about `target` Arrow bytes (0: one piece)."""
    if not target or rows.nbytes <= target:
        return [rows]
    return _slices(rows, math.ceil(rows.nbytes / target))


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
        self._open: _OpenFile | None = None
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

    @property
    def unwritten_bytes(self) -> int:
        """Arrow bytes of staged rows not yet written to a file: under a row group's worth
        (`row_group_bytes`) between chunks, unless `coalesce_bytes` is smaller."""
        return self._buffered_bytes

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
        # A row group's worth is written as soon as it is in, so the last chunk finds little
        # left to write.
        if self._buffered_bytes >= min(self._coalesce_bytes, row_group_bytes(conformed)):
            self._spill()

    def flush(self) -> None:
        """Write whatever is buffered and close the open file."""
        self._spill()
        self._close_open()

    def _spill(self) -> None:
        """Append the buffered rows to the open file (opening one, and closing it once it holds
        `coalesce_bytes` or would pass the table's target file size)."""
        if not self._buffer:
            return
        rows = pa.concat_tables(self._buffer)
        segments = self._buffered
        self._buffer, self._buffered, self._buffered_bytes = [], [], 0
        target = self._target_file_bytes()
        if self._open is not None and target and self._open.nbytes + rows.nbytes > target:
            self._close_open()
        pieces = _pieces(rows, target)
        for piece, piece_segments in zip(
            pieces, _split(segments, [p.num_rows for p in pieces]), strict=True
        ):
            if self._open is None:
                self._open = self._new_file()
            try:
                self._open.write(piece, piece_segments)
            except BaseException:
                # The file would hold rows its segments do not name: it goes.
                self._open.abort()
                self._open = None
                raise
            if len(pieces) > 1 or self._open.nbytes >= self._coalesce_bytes:
                self._close_open()

    def _close_open(self) -> None:
        if self._open is None:
            return
        opened, self._open = self._open, None
        try:
            self.data_files.append(opened.close())
        except BaseException:
            opened.abort()
            raise
        self._segments.append(opened.segments)

    def _target_file_bytes(self) -> int:
        return (
            property_as_int(
                self.metadata.properties,
                TableProperties.WRITE_TARGET_FILE_SIZE_BYTES,
                TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT,
            )
            or 0
        )

    def _new_file(self) -> _OpenFile:
        metadata = self.metadata
        key = PartitionKey(
            field_values=[
                PartitionFieldValue(field=day_partition_field(self._table), value=self._date)
            ],
            partition_spec=metadata.spec(),
            schema=metadata.schema(),
        )
        name = f"00000-{next(self._task_ids)}-{self._write_uuid}.parquet"
        return _OpenFile(self._table, metadata, key, name)

    def _write(self, rows: pa.Table) -> list[DataFile]:
        """`rows` written as data files of their own, in order."""
        files = []
        for piece in _pieces(rows, self._target_file_bytes()):
            written = self._new_file()
            try:
                written.write(piece, [])
                files.append(written.close())
            except BaseException:
                written.abort()
                raise
        return files

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
        if self._open is not None:
            self._open.abort()
            self._open = None
        for data_file in self.data_files:
            with contextlib.suppress(Exception):
                self._table.io.delete(data_file.file_path)
        self.data_files.clear()
