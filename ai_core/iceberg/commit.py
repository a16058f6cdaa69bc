"""Replacing one day partition in a single catalog commit, retried when another writer wins.

The commit is one overwrite snapshot: it removes every data file of the day and adds the staged
ones, plus any schema evolution the staged files need, in one metadata version. Readers see the
old partition or the new one, never a mix; a process that dies before this point leaves the
table as it was; its staged files stay on disk unreferenced, harmless to readers, until an
orphan-file sweep (Spark's `remove_orphan_files`, or a listing of files no snapshot references)
deletes them. Failures this process sees (an exception, a lost commit) delete them at once.

The first attempt is planned against the table as loaded when the write began. If another writer
committed meanwhile, pyiceberg's own retry re-bases the snapshot when that is safe (a different
partition); if it gives up, or the schema moved, the table is refreshed and the commit is
planned again from scratch with the same staged files, up to `max_attempts` times. Two writers
of the same day both succeed in turn and the later one's rows are the partition (no rows twice).
If a concurrent writer gave other columns the field ids the staged files use, this raises
`SchemaConflictError` and the writer rewrites its files against the new schema first.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.manifest import DataFile, ManifestFile
from pyiceberg.table import Table, Transaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.refs import MAIN_BRANCH
from pyiceberg.table.snapshots import Operation
from pyiceberg.table.update import update_table_metadata
from pyiceberg.table.update.snapshot import _OverwriteFiles

from ai_core.iceberg.schema import PARTITION_COLUMN, new_columns
from ai_core.iceberg.tables import day_filter, day_partition_field, dotted

log = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 8


class SchemaConflictError(RuntimeError):
    """A concurrent writer gave a column this write added a different field id."""


@dataclass(frozen=True, slots=True)
class CommitResult:
    table: Table
    snapshot_id: int
    attempts: int


def commit_partition(
    table: Table,
    partition_date: dt.date,
    data_files: Sequence[DataFile],
    staged_schema: pa.Schema,
    snapshot_properties: Mapping[str, str],
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> CommitResult:
    """Make `data_files` the whole of `partition_date` in one commit; return the new snapshot."""
    name = dotted(table.name())
    for attempt in range(1, max_attempts + 1):
        if attempt > 1:
            table.refresh()
        try:
            snapshot_id = _commit_once(
                table, partition_date, data_files, staged_schema, dict(snapshot_properties)
            )
            return CommitResult(table=table, snapshot_id=snapshot_id, attempts=attempt)
        except (CommitFailedException, ValidationException) as exc:
            if attempt == max_attempts:
                raise CommitFailedException(
                    f"{name} partition {partition_date}: {max_attempts} commit attempts lost to "
                    f"concurrent writers (last: {exc}); rerun the partition"
                ) from exc
            log.info(
                "%s %s: commit attempt %d lost a race (%s); retrying",
                name,
                partition_date,
                attempt,
                exc,
            )
            time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))
    raise AssertionError("unreachable")


class _Transaction(Transaction):
    """A transaction that works out the staged metadata once per staged state.

    pyiceberg's `table_metadata` replays the staged updates and deep-copies the whole metadata
    on every read, and an overwrite reads it about thirty times, so each commit cost more the
    more snapshots the table kept. Staging rebinds the immutable tuple of updates, and a refresh
    the table's metadata, so the pair's identity says when the result must be worked out again.
    """

    _staged: tuple[TableMetadata, tuple[object, ...], TableMetadata] | None = None

    @property
    def table_metadata(self) -> TableMetadata:
        base, updates = self._table.metadata, self._updates
        staged = self._staged
        if staged is None or staged[0] is not base or staged[1] is not updates:
            staged = self._staged = (base, updates, update_table_metadata(base, updates))
        return staged[2]


class _DayOverwrite(_OverwriteFiles):
    """pyiceberg's overwrite, without the earlier snapshots' manifests that hold only deleted
    entries.

    Replacing a day writes a manifest of the files it deleted, which belongs to that snapshot
    alone. pyiceberg 0.12 carries it into every later snapshot, so each rerun of a day added a
    manifest that every later read of that day opened and no upkeep could expire. Iceberg's
    Java writer drops them.
    """

    def _existing_manifests(self) -> list[ManifestFile]:
        return [
            m
            for m in super()._existing_manifests()
            if m.has_added_files() or m.has_existing_files()
        ]


def _commit_once(
    table: Table,
    partition_date: dt.date,
    data_files: Sequence[DataFile],
    staged_schema: pa.Schema,
    properties: dict[str, str],
) -> int:
    tx = _Transaction(table)
    added = new_columns(table.schema().as_arrow(), staged_schema)
    if added is not None:
        with tx.update_schema() as update:
            update.union_by_name(added)
    _check_field_ids(dotted(table.name()), tx.table_metadata.schema().as_arrow(), staged_schema)
    predicate = day_filter([partition_date])
    replaced = _partition_files(table, partition_date)
    operation = Operation.OVERWRITE if table.current_snapshot() else Operation.APPEND
    overwrite = _DayOverwrite(
        operation=operation,
        transaction=tx,
        io=table.io,
        branch=MAIN_BRANCH,
        snapshot_properties=properties,
    )
    with overwrite:
        # The predicate scopes pyiceberg's conflict checks to this day, so writers of other
        # days never invalidate this commit.
        overwrite.delete_by_predicate(predicate)
        for data_file in replaced:
            overwrite.delete_data_file(data_file)
        for data_file in data_files:
            overwrite.append_data_file(data_file)
        snapshot_id = overwrite.snapshot_id
    tx.commit_transaction()
    return snapshot_id


def _partition_files(table: Table, partition_date: dt.date) -> list[DataFile]:
    """Every live data file of the day; refuses files that might mix days."""
    if table.current_snapshot() is None:
        return []
    field = day_partition_field(table)
    day_spec_ids = {
        spec_id for spec_id, spec in table.specs().items() if any(f == field for f in spec.fields)
    }
    files = []
    for task in table.scan(row_filter=day_filter([partition_date])).plan_files():
        data_file = task.file
        if data_file.spec_id not in day_spec_ids:
            raise ValueError(
                f"{dotted(table.name())}: data file {data_file.file_path} was written under "
                f"partition spec {data_file.spec_id}, which does not split by {PARTITION_COLUMN}, "
                f"so day {partition_date} cannot be replaced without rewriting it; rewrite the "
                "table"
            )
        if task.delete_files:
            raise ValueError(
                f"{dotted(table.name())}: day {partition_date} has row-level delete files, which "
                "this writer does not replace; compact the table first"
            )
        files.append(data_file)
    return files


def _check_field_ids(table: str, committed: pa.Schema, staged: pa.Schema) -> None:
    for field in staged:
        if field.name not in committed.names:
            raise SchemaConflictError(
                f"{table}: column {field.name!r} vanished during the write; rerun"
            )
        want = (field.metadata or {}).get(b"PARQUET:field_id")
        have = (committed.field(field.name).metadata or {}).get(b"PARQUET:field_id")
        if want != have:
            raise SchemaConflictError(
                f"{table}: column {field.name!r} was added by a concurrent writer with field id "
                f"{have!r} while this write used {want!r}; rerun the partition"
            )
