"""Writers as separate processes, on every catalog backend: killed mid-commit, racing each other.

Each writer is its own process that finds the catalog through `PYICEBERG_CATALOG__DEFAULT__*`, as
a production run does; the backends are the embedded SQLite catalog, the SQL catalog on a real
PostgreSQL and SeaweedFS's REST catalog with an S3 warehouse (`tests/conftest.py`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from pyiceberg.catalog import Catalog

from ai_core.iceberg.catalog import load_catalog
from ai_core.iceberg.reader import arrow_table
from ai_core.iceberg.writer import write_partition
from tests.ai_core.iceberg.writer_proc import (
    SCHEMA,
    TABLE,
    chunked_rows,
    day_rows,
    start_writer,
)
from tests.catalogs import BACKENDS, CatalogBackend, data_files, embedded_backend

D1 = dt.date(2026, 11, 21)

every_backend = pytest.mark.parametrize("catalog_backend", BACKENDS, indirect=True)


def open_catalog(backend: CatalogBackend) -> Catalog:
    return load_catalog(name="default", properties=backend.properties)


def finish(proc: subprocess.Popen[str], timeout: float = 240) -> dict[str, object]:
    """The writer's report, plus how many lost commit races pyiceberg logged on the way."""
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    report = json.loads(out.strip().splitlines()[-1])
    report["races_lost"] = err.count("Commit failed due to a concurrent update")
    return report


@every_backend
def test_sigkill_mid_write_leaves_the_old_day_whole_and_a_rerun_matches_a_clean_run(
    catalog_backend: CatalogBackend, tmp_path: Path
) -> None:
    catalog = open_catalog(catalog_backend)
    write_partition(catalog, TABLE, D1, [day_rows(D1, 0, 7, "old")], schema_hint=SCHEMA)
    before = catalog.load_table(TABLE)
    files_before = data_files(catalog_backend.properties, D1)

    proc = start_writer(
        catalog_backend, D1, "kill", "--chunks", "5", "--rows", "100", "--signal-after", "2"
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line == "staged 2", proc.stderr.read()[-3000:] if proc.stderr else line
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    orphans = data_files(catalog_backend.properties, D1) - files_before
    assert len(orphans) == 2  # the killed writer did get two chunks into the warehouse
    after = open_catalog(catalog_backend).load_table(TABLE)
    assert after.metadata_location == before.metadata_location
    assert arrow_table(after, [D1]).to_pydict() == day_rows(D1, 0, 7, "old").to_pydict()

    rerun = start_writer(
        catalog_backend, D1, "kill", "--chunks", "5", "--rows", "100", "--signal-after", "0"
    )
    assert finish(rerun)["rows"] == 500
    clean = load_catalog(tmp_path / "clean")
    write_partition(clean, TABLE, D1, chunked_rows(D1, 5, 100, "new"), schema_hint=SCHEMA)
    rerun_rows = arrow_table(open_catalog(catalog_backend).load_table(TABLE), [D1])
    assert rerun_rows.to_pydict() == arrow_table(clean.load_table(TABLE), [D1]).to_pydict()


@every_backend
def test_eight_processes_writing_different_days_at_once_all_land(
    catalog_backend: CatalogBackend,
) -> None:
    catalog = open_catalog(catalog_backend)
    write_partition(catalog, TABLE, D1, [day_rows(D1, 0, 3, "untouched")], schema_hint=SCHEMA)
    days = [D1 + dt.timedelta(days=1 + i) for i in range(8)]
    reports = race(catalog_backend, days)

    table = open_catalog(catalog_backend).load_table(TABLE)
    for i, d in enumerate(days):
        assert arrow_table(table, [d]).to_pydict() == day_rows(d, 0, 150, f"w{i}").to_pydict()
    assert arrow_table(table, [D1]).to_pydict() == day_rows(D1, 0, 3, "untouched").to_pydict()
    print(
        f"{catalog_backend.name}: (races lost, commit attempts) per writer: "
        f"{[(r['races_lost'], r['commit_attempts']) for r in reports]}"
    )


@every_backend
def test_two_processes_writing_the_same_day_at_once_leave_one_copy(
    catalog_backend: CatalogBackend,
) -> None:
    catalog = open_catalog(catalog_backend)
    write_partition(catalog, TABLE, D1, [day_rows(D1, 0, 7, "old")], schema_hint=SCHEMA)
    reports = race(catalog_backend, [D1, D1])

    rows = arrow_table(open_catalog(catalog_backend).load_table(TABLE), [D1]).to_pydict()
    winner = rows["tag"][0]
    assert winner in {"w0", "w1"}
    assert rows == day_rows(D1, 0, 150, winner).to_pydict()
    print(
        f"{catalog_backend.name}: {winner} holds the day; (races lost, commit attempts): "
        f"{[(r['races_lost'], r['commit_attempts']) for r in reports]}"
    )


def race(backend: CatalogBackend, days: list[dt.date]) -> list[dict[str, object]]:
    """Writers that stage all but their last chunk, then are released into their commits at once."""
    procs = [
        start_writer(backend, d, "race", "--chunks", "3", "--rows", "50", "--tag", f"w{i}")
        for i, d in enumerate(days)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            assert line == "ready", proc.stderr.read()[-3000:] if proc.stderr else line
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        return [finish(proc) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.mark.slow
def test_memory_of_a_twenty_chunk_write_is_about_one_chunk(tmp_path: Path) -> None:
    """Writes 20 chunks of 50 MiB and reports the writer's peak RSS (measured, not asserted)."""
    proc = start_writer(
        embedded_backend(tmp_path), D1, "memory", "--chunks", "20", "--chunk-mb", "50"
    )
    report = finish(proc, timeout=600)
    assert report["chunks"] == 20 and report["files"] == 20
    assert report["rows"] == 20 * 50 * 1024
    print(
        f"peak RSS {report['peak_rss_mib']} MiB for {report['chunks']} chunks of 50 MiB, {report}"
    )
