"""`write_partition`: a day's chunks in, that day of the table replaced atomically, a report out.

The first chunk creates the table if needed (from `schema_hint` when given, else from the
chunk), every chunk is written to data files as it arrives, and one commit at the end swaps the
day's old files for the new ones. Zero chunks replace the day with nothing. If the chunks raise
or the commit cannot land, the files written so far are deleted and the old day stays.

A source that learns only at the end of the day that some rows it already handed over must go
(a record seen again later, say) passes `rows_to_drop`: it is called once every chunk is staged,
before the commit, and the files holding those rows are rewritten without them.

Row order: the day's files are committed in chunk order and each file keeps its rows in chunk
order, so a scan that reads files in manifest order (`Table.scan().to_arrow()`,
`to_arrow_batch_reader()`, and the readers in `reader.py`) returns rows as written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException, ValidationException

from ai_core.iceberg.commit import (
    DEFAULT_MAX_ATTEMPTS,
    CommitResult,
    SchemaConflictError,
    commit_partition,
)
from ai_core.iceberg.output import StagedRows
from ai_core.iceberg.schema import PARTITION_COLUMN, Chunk, chunk_to_arrow, creation_schema
from ai_core.iceberg.staging import DEFAULT_COALESCE_BYTES, PartitionStager, Positions
from ai_core.iceberg.tables import Identifier, dotted, ensure_table

RowsToDrop = Callable[[StagedRows], Mapping[int, Positions]]
"""Given the staged chunks once every chunk is staged, the rows to leave out of the day:
positions (0-based) of a chunk's rows by chunk index (0-based, in the order the chunks came)."""

PARTITION_DATE_PROPERTY = "ai.partition-date"
"""Snapshot summary key every partition write records, so an empty day is still "written"."""

UNOBSERVED_PROPERTY = "ai.unobserved"
"""Snapshot summary key for the sub-resources of the source not fully observed that day (JSON)."""


@dataclass(frozen=True, slots=True)
class WriteReport:
    """What one partition write did."""

    table: str
    partition_date: dt.date
    location: str
    rows: int
    bytes: int
    files: int
    chunks: int
    snapshot_id: int
    seconds: float
    commit_attempts: int
    columns: tuple[tuple[str, str], ...]
    """The table's columns after the write, as (name, Iceberg type)."""

    def as_metadata(self) -> dict[str, Any]:
        """Plain values for Dagster output metadata."""
        return {
            "columns": len(self.columns),
            "table": self.table,
            "location": self.location,
            "rows": self.rows,
            "bytes": self.bytes,
            "files": self.files,
            "chunks": self.chunks,
            "snapshot_id": str(self.snapshot_id),
            "write_seconds": round(self.seconds, 3),
            "commit_attempts": self.commit_attempts,
        }


def write_partition(
    catalog: Catalog,
    identifier: Identifier,
    partition_date: dt.date,
    chunks: Iterable[Chunk],
    *,
    snapshot_properties: Mapping[str, str] | None = None,
    schema_hint: pa.Schema | None = None,
    coalesce_bytes: int = DEFAULT_COALESCE_BYTES,
    max_commit_attempts: int = DEFAULT_MAX_ATTEMPTS,
    rows_to_drop: RowsToDrop | None = None,
    late_properties: Callable[[], Mapping[str, str]] | None = None,
) -> WriteReport:
    """Replace day `partition_date` of the table with the rows of `chunks`, in one commit.

    `rows_to_drop`, when given, names rows of the staged chunks that the commit leaves out.
    `late_properties`, when given, adds snapshot properties known only once every chunk is in.
    `schema_hint` gives the schema (types, required fields, column order) of a table created by
    this write; columns the chunks add later are appended as optional columns either way.
    """
    started = time.perf_counter()
    name = dotted(identifier)
    stager: PartitionStager | None = None
    # Chunk N is written to Parquet on the staging thread while the caller produces chunk N+1:
    # at most one chunk waits, so memory holds two chunks, and the files keep chunk order.
    pending: Future[None] | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"stage-{name}") as staging:
        try:
            for chunk in chunks:
                arrow = chunk_to_arrow(chunk, partition_date)
                del chunk
                if pending is not None:
                    pending.result()
                if stager is None:
                    table = ensure_table(
                        catalog, identifier, _first_schema(schema_hint, arrow.schema)
                    )
                    stager = PartitionStager(table, partition_date, coalesce_bytes=coalesce_bytes)
                pending = staging.submit(stager.add, arrow)
                del arrow  # the staging thread holds it until written
            if pending is not None:
                pending.result()
                pending = None
            if stager is None:
                table = ensure_table(catalog, identifier, _first_schema(schema_hint, None))
                stager = PartitionStager(table, partition_date, coalesce_bytes=coalesce_bytes)
            stager.flush()
            if rows_to_drop is not None:
                stager.strike(rows_to_drop(stager))
        except BaseException:
            if pending is not None:
                # Let the file being written land before deleting what was staged.
                with contextlib.suppress(BaseException):
                    pending.result()
            if stager is not None:
                stager.discard()
            raise

    properties = {
        **(snapshot_properties or {}),
        **(late_properties() if late_properties is not None else {}),
        PARTITION_DATE_PROPERTY: partition_date.isoformat(),
    }
    try:
        try:
            result = _commit(stager, properties, max_commit_attempts)
        except SchemaConflictError:
            # Another writer added different columns meanwhile, so the field ids in our files
            # now mean other columns: rewrite the files against the current schema, once.
            stager = stager.rebased()
            result = _commit(stager, properties, max_commit_attempts)
    except (CommitFailedException, ValidationException, SchemaConflictError, ValueError):
        # These are raised before or instead of a catalog update, so the files are unreferenced.
        stager.discard()
        raise
    return WriteReport(
        table=name,
        partition_date=partition_date,
        location=result.table.location(),
        rows=sum(f.record_count for f in stager.data_files),
        bytes=sum(f.file_size_in_bytes for f in stager.data_files),
        files=len(stager.data_files),
        chunks=stager.chunks,
        snapshot_id=result.snapshot_id,
        seconds=time.perf_counter() - started,
        commit_attempts=result.attempts,
        columns=tuple((f.name, str(f.field_type)) for f in result.table.schema().fields),
    )


def _commit(stager: PartitionStager, properties: dict[str, str], max_attempts: int) -> CommitResult:
    return commit_partition(
        stager.table,
        stager.partition_date,
        stager.data_files,
        stager.arrow_schema,
        properties,
        max_attempts=max_attempts,
    )


def _first_schema(hint: pa.Schema | None, chunk_schema: pa.Schema | None) -> pa.Schema:
    if hint is not None:
        schema = hint
    elif chunk_schema is not None:
        schema = chunk_schema
    else:
        schema = pa.schema([pa.field(PARTITION_COLUMN, pa.date32(), nullable=False)])
    if PARTITION_COLUMN not in schema.names:
        schema = schema.insert(0, pa.field(PARTITION_COLUMN, pa.date32(), nullable=False))
    return creation_schema(schema)


def unobserved_property(parts: Iterable[str]) -> dict[str, str]:
    """The snapshot property naming the sub-resources not fully observed that day."""
    return {UNOBSERVED_PROPERTY: json.dumps(sorted(set(parts)))}
