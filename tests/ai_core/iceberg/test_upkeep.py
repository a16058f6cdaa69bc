"""Table upkeep: snapshots expired, unreferenced files swept, the table unchanged to readers."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from pathlib import Path

import dagster as dg
from pyiceberg.table import Table

from ai_core.iceberg.catalog import load_catalog
from ai_core.iceberg.reader import (
    DayWrite,
    arrow_table,
    day_writes,
    require_dates,
    unobserved_parts,
)
from ai_core.iceberg.resource import IcebergCatalogResource
from ai_core.iceberg.upkeep import stored_files, upkeep
from ai_core.iceberg.writer import unobserved_property, write_partition
from ai_core.upkeep import UPKEEP_JOB, build_upkeep_defs
from tests.ai_core.iceberg.writer_proc import SCHEMA, TABLE, chunked_rows, day_rows, start_writer
from tests.catalogs import embedded_backend

DAYS = [dt.date(2026, 11, 21) + dt.timedelta(days=i) for i in range(3)]
TWO_DAYS_AGO = time.time() - 2 * 86400


def files_under(table: Table) -> dict[str, int]:
    return {f.path: f.size for f in stored_files(table.location())[1]}


def age_everything(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (TWO_DAYS_AGO, TWO_DAYS_AGO))


def bare(path: str) -> str:
    return path.removeprefix("file://")


def reachable_from_current(table: Table) -> set[str]:
    """What the current snapshot and metadata reach, from pyiceberg's metadata tables."""
    snapshot = table.current_snapshot()
    assert snapshot is not None
    return {
        *(bare(p) for p in table.inspect.files()["file_path"].to_pylist()),
        *(bare(p) for p in table.inspect.manifests()["path"].to_pylist()),
        bare(snapshot.manifest_list),
        *(bare(p) for p in table.inspect.metadata_log_entries()["file"].to_pylist()),
        bare(table.metadata_location),
    }


def reruns_and_a_killed_writer(data_dir: Path) -> Table:
    """Three days, two of them rerun, then a writer killed after staging two files."""
    catalog = load_catalog(data_dir)
    for day in DAYS:
        write_partition(catalog, TABLE, day, [day_rows(day, 0, 5, "first")], schema_hint=SCHEMA)
    for tag in ("second", "third"):
        for day in DAYS[:2]:
            write_partition(catalog, TABLE, day, chunked_rows(day, 2, 4, tag), schema_hint=SCHEMA)
    proc = start_writer(
        embedded_backend(data_dir),
        DAYS[2],
        "kill",
        "--chunks",
        "5",
        "--rows",
        "10",
        "--signal-after",
        "2",
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "staged 2"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    return catalog.load_table(TABLE)


def test_sweep_after_reruns_and_a_killed_writer_deletes_exactly_the_unreferenced_files(
    tmp_path: Path,
) -> None:
    table = reruns_and_a_killed_writer(tmp_path)
    before_rows = arrow_table(table, None).sort_by(
        [("_partition_date", "ascending"), ("seq", "ascending")]
    )
    snapshots_before = len(table.metadata.snapshots)
    age_everything(tmp_path / "warehouse")
    files_before = files_under(table)
    data_before = {p for p in files_before if p.endswith(".parquet")}
    # The stale picture the issue describes: a plain listing double-counts replaced rows.
    assert len(data_before) > len(table.inspect.files())

    report = upkeep(table, TABLE, retention=dt.timedelta(0), grace=dt.timedelta(days=1))

    table = load_catalog(tmp_path).load_table(TABLE)
    files_after = files_under(table)
    expected_kept = reachable_from_current(table)
    assert set(files_after) == expected_kept
    removed = set(files_before) - set(files_after)
    assert removed == set(files_before) - expected_kept
    assert report.files_removed == len(removed) > 0
    assert report.bytes_removed == sum(files_before[p] for p in removed)
    assert report.snapshots_expired == snapshots_before - 1
    assert report.snapshots_kept == 1 and report.orphans_in_grace == 0
    data_after = {p for p in files_after if p.endswith(".parquet")}
    current = {bare(p) for p in table.inspect.files()["file_path"].to_pylist()}
    assert data_after == current
    after_rows = arrow_table(table, None).sort_by(
        [("_partition_date", "ascending"), ("seq", "ascending")]
    )
    assert after_rows.to_pydict() == before_rows.to_pydict()

    metadata_location = table.metadata_location
    again = upkeep(table, TABLE, retention=dt.timedelta(0), grace=dt.timedelta(days=1))
    assert (again.files_removed, again.snapshots_expired) == (0, 0)
    assert load_catalog(tmp_path).load_table(TABLE).metadata_location == metadata_location


def test_retention_keeps_recent_snapshots_and_grace_keeps_young_files(tmp_path: Path) -> None:
    table = reruns_and_a_killed_writer(tmp_path)
    killed = {
        p
        for p in files_under(table)
        if p.endswith(".parquet")
        and p
        not in {
            bare(f) for s in table.metadata.snapshots for f in _snapshot_files(table, s.snapshot_id)
        }
    }
    assert len(killed) == 2
    first_snapshot = table.metadata.snapshots[0].snapshot_id
    first_day = arrow_table(table, None).num_rows
    # Only the killed writer's first file is old enough to go.
    old = sorted(killed)[0]
    os.utime(old, (TWO_DAYS_AGO, TWO_DAYS_AGO))

    report = upkeep(table, TABLE)

    assert report.snapshots_expired == 0
    assert report.files_removed == 1 and report.orphans_in_grace == 1
    remaining = files_under(table)
    assert old not in remaining and (killed - {old}) <= set(remaining)
    # Every snapshot still reads: the first one still holds the first version of its day.
    assert table.scan(snapshot_id=first_snapshot).to_arrow().num_rows == 5
    assert arrow_table(table, None).num_rows == first_day


def test_what_each_day_recorded_outlives_the_snapshots_upkeep_expires(tmp_path: Path) -> None:
    """A day's unobserved parts, a day written empty and the snapshot of each day's latest write
    are what reruns and the history repair read; upkeep keeps them as table properties."""
    catalog = load_catalog(tmp_path)
    write_partition(catalog, TABLE, DAYS[0], [day_rows(DAYS[0], 0, 3, "a")], schema_hint=SCHEMA)
    write_partition(
        catalog,
        TABLE,
        DAYS[1],
        [day_rows(DAYS[1], 0, 2, "a")],
        snapshot_properties=unobserved_property(["dealer/7"]),
    )
    write_partition(catalog, TABLE, DAYS[2], [])  # written empty
    write_partition(catalog, TABLE, DAYS[0], [day_rows(DAYS[0], 0, 4, "b")])  # a rerun
    table = catalog.load_table(TABLE)
    before = day_writes(table)
    assert set(before) == set(DAYS)

    assert upkeep(table, TABLE, retention=dt.timedelta(0)).snapshots_expired == 3
    table = catalog.load_table(TABLE)
    assert len(table.metadata.snapshots) == 1  # the rerun of the first day, the head
    after = day_writes(table)
    assert {d: w.snapshot_id for d, w in after.items()} == {
        d: w.snapshot_id for d, w in before.items()
    }

    def recorded(write: DayWrite) -> dict[str, str]:
        return {k: v for k, v in write.properties.items() if k.startswith("ai.")}

    assert {d: recorded(w) for d, w in after.items()} == {d: recorded(w) for d, w in before.items()}
    assert unobserved_parts(table, [DAYS[1], DAYS[2]]) == {DAYS[1]: frozenset({"dealer/7"})}
    assert set(day_writes(table, [DAYS[1]])) == {DAYS[1]}
    require_dates(table, DAYS)  # the empty day is still a day written

    # A later write of a day wins over its kept record, and is kept in turn.
    write_partition(catalog, TABLE, DAYS[1], [day_rows(DAYS[1], 0, 2, "c")])
    table = catalog.load_table(TABLE)
    rerun = table.current_snapshot()
    assert rerun is not None
    assert unobserved_parts(table, [DAYS[1]]) == {}
    assert day_writes(table)[DAYS[1]].snapshot_id == rerun.snapshot_id
    write_partition(catalog, TABLE, DAYS[2], [])
    upkeep(table, TABLE, retention=dt.timedelta(0))  # a view loaded before that last write
    table = catalog.load_table(TABLE)
    assert day_writes(table)[DAYS[1]].snapshot_id == rerun.snapshot_id
    upkeep(table, TABLE, retention=dt.timedelta(0))
    table = catalog.load_table(TABLE)
    assert table.metadata.snapshot_by_id(rerun.snapshot_id) is None
    assert day_writes(table)[DAYS[1]].snapshot_id == rerun.snapshot_id
    assert unobserved_parts(table, DAYS) == {}


def _snapshot_files(table: Table, snapshot_id: int) -> list[str]:
    return table.inspect.files(snapshot_id=snapshot_id)["file_path"].to_pylist()


def test_upkeep_job_sweeps_every_table_of_the_oem_and_reports_each(tmp_path: Path) -> None:
    table = reruns_and_a_killed_writer(tmp_path)
    catalog = load_catalog(tmp_path)
    write_partition(
        catalog, "other_raw.items", DAYS[0], [day_rows(DAYS[0], 0, 3, "x")], schema_hint=SCHEMA
    )
    write_partition(
        catalog, "other_raw.items", DAYS[0], [day_rows(DAYS[0], 0, 3, "y")], schema_hint=SCHEMA
    )
    age_everything(tmp_path / "warehouse")
    other_before = files_under(catalog.load_table("other_raw.items"))
    before_rows = arrow_table(table, None).num_rows

    defs = dg.Definitions.merge(
        build_upkeep_defs("shop"),
        dg.Definitions(resources={"iceberg": IcebergCatalogResource(data_dir=str(tmp_path))}),
    )
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def(UPKEEP_JOB).execute_in_process(
            instance=instance,
            run_config={"ops": {"shop_table_upkeep": {"config": {"retention_days": 0}}}},
        )
        assert result.success
        observations = [
            e.event_specific_data.asset_observation  # type: ignore[union-attr]
            for e in result.all_events
            if e.event_type_value == "ASSET_OBSERVATION"
        ]
    assert [o.asset_key for o in observations] == [dg.AssetKey(["shop", "raw", "items"])]
    meta = {k: v.value for k, v in observations[0].metadata.items()}
    assert meta["table"] == TABLE
    assert meta["files_removed"] > 0 and meta["bytes_removed"] > 0
    assert meta["snapshots_kept"] == 1
    table = load_catalog(tmp_path).load_table(TABLE)
    assert arrow_table(table, None).num_rows == before_rows
    assert files_under(catalog.load_table("other_raw.items")) == other_before
    schedule = defs.resolve_schedule_def(f"{UPKEEP_JOB}_schedule")
    assert schedule.cron_schedule == "0 4 * * 0"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_a_negative_retention_is_refused_naming_the_setting(tmp_path: Path) -> None:
    defs = dg.Definitions.merge(
        build_upkeep_defs("shop"),
        dg.Definitions(resources={"iceberg": IcebergCatalogResource(data_dir=str(tmp_path))}),
    )
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def(UPKEEP_JOB).execute_in_process(
            instance=instance,
            run_config={"ops": {"shop_table_upkeep": {"config": {"retention_days": -1}}}},
            raise_on_error=False,
        )
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert failure is not None and "retention_days" in str(failure.to_string())
