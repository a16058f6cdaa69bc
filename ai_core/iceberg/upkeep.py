"""Table upkeep: expire old snapshots, then delete the files no remaining snapshot references.

pyiceberg's `expire_snapshots` only drops snapshots from the metadata; the data files, manifests
and metadata files they alone referenced, and the files of writers that died before their commit,
stay on storage. `sweep_orphans` lists the table's location and deletes every file that the table
does not reference, once it is older than a grace period, so a write in flight is never touched.
On an object store, a writer killed mid-file leaves an incomplete multipart upload instead,
which no listing shows: the bucket's lifecycle rule must abort those (README, "S3 warehouse").
A data file counts as referenced while a remaining snapshot still lists it as live.

What a day's write recorded in its snapshot's summary (`ai.partition-date`, `ai.unobserved`,
`ai.history-from`) is needed for as long as the day may be rerun or repaired: before its
snapshot expires, it is kept as a table property (`reader.day_records`).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass

import pyarrow.fs as pafs
from pyiceberg.table import Table

from ai_core.iceberg.reader import day_records

DEFAULT_RETENTION_DAYS = 7.0
DEFAULT_GRACE_DAYS = 1.0
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class UpkeepReport:
    """What one table's upkeep did."""

    table: str
    snapshots_expired: int
    snapshots_kept: int
    files_removed: int
    bytes_removed: int
    orphans_in_grace: int

    def metadata(self) -> dict[str, int]:
        return {
            "snapshots_expired": self.snapshots_expired,
            "snapshots_kept": self.snapshots_kept,
            "files_removed": self.files_removed,
            "bytes_removed": self.bytes_removed,
            "orphans_in_grace": self.orphans_in_grace,
        }


def _bare(path: str) -> str:
    """A path without its scheme, as pyarrow's file systems list it (`s3://b/k` is `b/k`)."""
    return _SCHEME_RE.sub("", path)


def expire_snapshots(table: Table, retention: dt.timedelta) -> int:
    """Drop snapshots older than `retention` but never a branch or tag head; how many went.
    The day records they hold are kept as table properties first."""
    cutoff = dt.datetime.now(dt.UTC) - retention
    heads = {ref.snapshot_id for ref in table.metadata.refs.values()}
    cutoff_ms = int(cutoff.timestamp() * 1000)
    expiring = {
        s.snapshot_id
        for s in table.metadata.snapshots
        if s.timestamp_ms < cutoff_ms and s.snapshot_id not in heads
    }
    # A commit with nothing to expire would still write a new metadata file.
    if not expiring:
        return 0
    records = day_records(table, expiring)
    if records:
        with table.transaction() as transaction:
            transaction.set_properties(records)
    # Exactly the snapshots whose records were kept: a write landing meanwhile may have made
    # an older one expirable, and its record is kept at the next upkeep.
    heads = {ref.snapshot_id for ref in table.metadata.refs.values()}
    ids = [i for i in expiring if i not in heads and table.metadata.snapshot_by_id(i) is not None]
    if ids:
        table.maintenance.expire_snapshots().by_ids(ids).commit()
    table.refresh()
    return len(ids)


def referenced_files(table: Table) -> set[str]:
    """Every file the table's metadata reaches, scheme-less: the metadata files and their log,
    statistics, and each remaining snapshot's manifest list, manifests and live data files."""
    metadata = table.metadata
    found = {table.metadata_location, *(entry.metadata_file for entry in metadata.metadata_log)}
    found.update(s.statistics_path for s in metadata.statistics)
    found.update(s.statistics_path for s in metadata.partition_statistics)
    seen_manifests: set[str] = set()
    for snapshot in metadata.snapshots:
        found.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(table.io):
            # Snapshots share most manifests; each is read once.
            if manifest.manifest_path in seen_manifests:
                continue
            seen_manifests.add(manifest.manifest_path)
            found.add(manifest.manifest_path)
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
                found.add(entry.data_file.file_path)
    return {_bare(path) for path in found}


@dataclass(frozen=True)
class StoredFile:
    path: str
    size: int
    mtime_ns: int


def stored_files(location: str) -> tuple[pafs.FileSystem, list[StoredFile]]:
    """The file system of `location` and every file under it."""
    fs, root = pafs.FileSystem.from_uri(location)
    infos = fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
    return fs, [
        StoredFile(info.path, info.size or 0, info.mtime_ns or 0)
        for info in infos
        if info.type == pafs.FileType.File
    ]


def sweep_orphans(table: Table, grace: dt.timedelta) -> tuple[int, int, int]:
    """Delete unreferenced files older than `grace`: (files removed, bytes removed, orphans
    left because they are younger)."""
    referenced = referenced_files(table)
    fs, files = stored_files(table.location())
    oldest_kept_ns = time.time_ns() - int(grace.total_seconds() * 1e9)
    removed = removed_bytes = young = 0
    for stored in files:
        if _bare(stored.path) in referenced:
            continue
        if stored.mtime_ns > oldest_kept_ns:
            young += 1
            continue
        fs.delete_file(stored.path)
        removed += 1
        removed_bytes += stored.size
    return removed, removed_bytes, young


def upkeep(
    table: Table,
    name: str,
    retention: dt.timedelta = dt.timedelta(days=DEFAULT_RETENTION_DAYS),
    grace: dt.timedelta = dt.timedelta(days=DEFAULT_GRACE_DAYS),
) -> UpkeepReport:
    """Expire the table's old snapshots, then sweep the files nothing references any more."""
    expired = expire_snapshots(table, retention)
    removed, removed_bytes, young = sweep_orphans(table, grace)
    return UpkeepReport(
        table=name,
        snapshots_expired=expired,
        snapshots_kept=len(table.metadata.snapshots),
        files_removed=removed,
        bytes_removed=removed_bytes,
        orphans_in_grace=young,
    )
