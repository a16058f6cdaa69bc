"""Reading whole day partitions back: lazily, as a batch stream, or eagerly.

Every view is pinned to the snapshot current when it is made and reads only the files of the
requested days (the filter prunes by partition before any data is opened).

Row order: `arrow_batches` and `arrow_table` return rows in the order they were written (chunks
in write order, rows within a chunk in order), days in the order asked for. `lazy_frame` scans
the same files in the same order, but Polars' streaming engine only keeps that order for
order-preserving queries; sort, or use the Arrow views, when order matters.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.io.pyarrow import schema_to_pyarrow
from pyiceberg.table import Table

from ai_core.iceberg.schema import PARTITION_COLUMN
from ai_core.iceberg.tables import day_filter, dotted, partition_dates
from ai_core.iceberg.writer import PARTITION_DATE_PROPERTY, UNOBSERVED_PROPERTY


class MissingPartitionError(LookupError):
    """A day was asked for that has never been written to the table."""


DAY_RECORD_PREFIX = "ai.day."
"""Table property prefix under which upkeep keeps a day's write record (`ai.day.2026-11-20`)
when it expires the snapshot holding it: a rerun of an old day still needs what it recorded."""


def written_dates(table: Table) -> set[dt.date]:
    """Days holding data, plus days written empty (recorded with their writes)."""
    return set(partition_dates(table)) | set(day_writes(table))


@dataclass(frozen=True, slots=True)
class DayWrite:
    """The latest write of one day: its snapshot and the properties it recorded."""

    snapshot_id: int
    properties: Mapping[str, str]


def day_writes(table: Table, dates: Sequence[dt.date] | None = None) -> dict[dt.date, DayWrite]:
    """Per day (of `dates`, or every day), the latest snapshot that wrote it (newest write
    wins), from the retained snapshots or, once upkeep has expired it, the table's record."""
    found: dict[dt.date, DayWrite] = {}
    properties = table.properties
    keys = (
        [k for k in properties if k.startswith(DAY_RECORD_PREFIX)]
        if dates is None
        else [f"{DAY_RECORD_PREFIX}{d.isoformat()}" for d in dates]
    )
    for key in keys:
        if key in properties:
            record = json.loads(properties[key])
            kept = dt.date.fromisoformat(key.removeprefix(DAY_RECORD_PREFIX))
            found[kept] = DayWrite(int(record["snapshot_id"]), record["properties"])
    wanted = None if dates is None else {d.isoformat() for d in dates}
    # Every retained snapshot is newer than every expired one, so it overrides a record.
    for snapshot in sorted(table.snapshots(), key=lambda s: s.sequence_number or 0):
        props = snapshot.summary.additional_properties if snapshot.summary else {}
        day = props.get(PARTITION_DATE_PROPERTY)
        if day and (wanted is None or day in wanted):
            found[dt.date.fromisoformat(day)] = DayWrite(snapshot.snapshot_id, dict(props))
    return found


def day_records(table: Table, snapshot_ids: set[int]) -> dict[str, str]:
    """The table properties keeping the write record of each day whose latest write is one of
    `snapshot_ids` (about to be expired): its snapshot id and the `ai.` properties it recorded."""
    return {
        f"{DAY_RECORD_PREFIX}{day.isoformat()}": json.dumps(
            {
                "snapshot_id": write.snapshot_id,
                "properties": {k: v for k, v in write.properties.items() if k.startswith("ai.")},
            },
            sort_keys=True,
        )
        for day, write in day_writes(table).items()
        if write.snapshot_id in snapshot_ids
    }


def unobserved_parts(table: Table, dates: Sequence[dt.date]) -> dict[dt.date, frozenset[str]]:
    """Per day, the sub-resources its latest write recorded as not fully observed (days whose
    latest write recorded none, or that were never written, are absent)."""
    writes = day_writes(table, dates)
    found: dict[dt.date, frozenset[str]] = {}
    for day in dates:
        write = writes.get(day)
        parts = json.loads(write.properties.get(UNOBSERVED_PROPERTY) or "[]") if write else []
        if parts:
            found[day] = frozenset(parts)
    return found


def require_dates(table: Table, dates: Sequence[dt.date]) -> None:
    """Raise `MissingPartitionError` naming the table and the days never written."""
    missing = sorted(set(dates) - written_dates(table))
    if missing:
        shown = ", ".join(d.isoformat() for d in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise MissingPartitionError(
            f"table {dotted(table.name())} has no partition {shown}{more}: materialize the "
            "upstream asset for those days first"
        )


def lazy_frame(table: Table, dates: Sequence[dt.date] | None) -> pl.LazyFrame:
    """A `pl.LazyFrame` of the days (all days when `dates` is None)."""
    snapshot = table.current_snapshot()
    if snapshot is None:
        return pl.DataFrame(table.schema().as_arrow().empty_table()).lazy()
    frame = pl.scan_iceberg(table, snapshot_id=snapshot.snapshot_id)
    if dates is None:
        return frame
    return frame.filter(pl.col(PARTITION_COLUMN).is_in(list(dates)))


def arrow_batches(
    table: Table, dates: Sequence[dt.date] | None, columns: Sequence[str] | None = None
) -> pa.RecordBatchReader:
    """A streaming `pa.RecordBatchReader` of the days; holds one data file's batches at a time.

    `columns` projects the read to those columns, so the others are never decoded.

    pyiceberg's own batch reader submits every file to its thread pool at once, so it can hold
    the whole scan in memory; reading file by file keeps memory to the largest file.
    """
    snapshot = table.current_snapshot()
    schema = table.schema().select(*columns) if columns else table.schema()
    target = schema_to_pyarrow(schema)
    if snapshot is None:
        return pa.RecordBatchReader.from_batches(target, iter(()))
    days: list[dt.date | None] = list(dates) if dates is not None else [None]
    tasks = [
        task
        for day in days
        for task in table.scan(
            row_filter=day_filter(None if day is None else [day]), snapshot_id=snapshot.snapshot_id
        ).plan_files()
    ]

    def batches() -> Iterator[pa.RecordBatch]:
        # Day partitions are replaced whole, so data files carry no deletes: read each file's
        # row groups in small batches rather than through pyiceberg's scan, which materialises
        # whole files (measured at several hundred MB for one raw day).
        for task in tasks:
            with table.io.new_input(task.file.file_path).open() as stream:
                parquet = pq.ParquetFile(stream)
                present = [name for name in target.names if name in parquet.schema_arrow.names]
                rows = _batch_rows(parquet.metadata)
                for batch in parquet.iter_batches(batch_size=rows, columns=present):
                    yield _conform_batch(batch, target)

    return pa.RecordBatchReader.from_batches(target, batches())


BATCH_BYTES = 8 * 1024 * 1024
"""About how much one read batch holds: a raw page is ~100 KB, a transformed row ~1 KB."""


def _batch_rows(metadata: pq.FileMetaData) -> int:
    size = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    per_row = max(1, size // max(1, metadata.num_rows))
    return int(max(16, min(65_536, BATCH_BYTES // per_row)))


def _conform_batch(batch: pa.RecordBatch, target: pa.Schema) -> pa.RecordBatch:
    """The batch in the table's schema; columns added after the file was written are null."""
    arrays = [
        batch.column(name).cast(field.type)
        if name in batch.schema.names
        else pa.nulls(batch.num_rows, field.type)
        for name, field in zip(target.names, target, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=target)


def arrow_table(table: Table, dates: Sequence[dt.date] | None) -> pa.Table:
    """The days as one `pa.Table`."""
    return arrow_batches(table, dates).read_all()
