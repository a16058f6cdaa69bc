"""Writers as separate processes: killed mid-write, racing each other, and their memory."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ai_core.iceberg.catalog import load_catalog
from ai_core.iceberg.reader import arrow_table
from ai_core.iceberg.writer import write_partition
from tests.core.iceberg_writer_proc import SCHEMA, chunked_rows, day_rows

ROOT = Path(__file__).resolve().parents[2]
TABLE = "shop_raw.items"
D1 = dt.date(2026, 11, 21)


def start_writer(data_dir: Path, day: dt.date, mode: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.core.iceberg_writer_proc",
            str(data_dir),
            TABLE,
            day.isoformat(),
            mode,
            *args,
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> dict[str, object]:
    """The writer's report, plus how many lost commit races pyiceberg logged on the way."""
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    report = json.loads(out.strip().splitlines()[-1])
    report["races_lost"] = err.count("Commit failed due to a concurrent update")
    return report


def test_sigkill_mid_write_leaves_the_old_day_whole_and_a_rerun_matches_a_clean_run(
    tmp_path: Path,
) -> None:
    catalog = load_catalog(tmp_path)
    write_partition(catalog, TABLE, D1, [day_rows(D1, 0, 7, "old")], schema_hint=SCHEMA)
    before = catalog.load_table(TABLE)
    files_before = set((tmp_path / "warehouse").rglob("*.parquet"))

    proc = start_writer(
        tmp_path, D1, "kill", "--chunks", "5", "--rows", "100", "--signal-after", "2"
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "staged 2"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    orphans = set((tmp_path / "warehouse").rglob("*.parquet")) - files_before
    assert len(orphans) == 2  # the killed writer did get two chunks onto disk
    after = load_catalog(tmp_path).load_table(TABLE)
    assert after.metadata_location == before.metadata_location
    assert arrow_table(after, [D1]).to_pydict() == day_rows(D1, 0, 7, "old").to_pydict()

    rerun = start_writer(
        tmp_path, D1, "kill", "--chunks", "5", "--rows", "100", "--signal-after", "0"
    )
    assert finish(rerun)["rows"] == 500
    clean_dir = tmp_path / "clean"
    clean = load_catalog(clean_dir)
    write_partition(clean, TABLE, D1, chunked_rows(D1, 5, 100, "new"), schema_hint=SCHEMA)
    rerun_rows = arrow_table(load_catalog(tmp_path).load_table(TABLE), [D1])
    assert rerun_rows.to_pydict() == arrow_table(clean.load_table(TABLE), [D1]).to_pydict()


def test_two_processes_writing_different_days_at_once_both_land(tmp_path: Path) -> None:
    """Rounds of two writers released into their commits together, until one loses a race."""
    catalog = load_catalog(tmp_path)
    write_partition(catalog, TABLE, D1, [day_rows(D1, 0, 3, "untouched")], schema_hint=SCHEMA)
    outcomes = []
    for round_ in range(4):
        days = [D1 + dt.timedelta(days=1 + 2 * round_ + i) for i in range(2)]
        reports = race(tmp_path, days)
        table = load_catalog(tmp_path).load_table(TABLE)
        for i, d in enumerate(days):
            assert arrow_table(table, [d]).to_pydict() == day_rows(d, 0, 150, f"w{i}").to_pydict()
        assert arrow_table(table, [D1]).num_rows == 3
        outcomes.append([(r["races_lost"], r["commit_attempts"]) for r in reports])
        if any(r["races_lost"] for r in reports):
            break
    print(f"per round, (races lost, commit attempts) of each writer: {outcomes}")


def race(data_dir: Path, days: list[dt.date]) -> list[dict[str, object]]:
    procs = [
        start_writer(data_dir, d, "race", "--chunks", "3", "--rows", "50", "--tag", f"w{i}")
        for i, d in enumerate(days)
    ]
    try:
        for proc in procs:  # both have staged all but their last chunk
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
        for proc in procs:  # release both into their commits together
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
    proc = start_writer(tmp_path, D1, "memory", "--chunks", "20", "--chunk-mb", "50")
    report = finish(proc, timeout=600)
    assert report["chunks"] == 20 and report["files"] == 20
    assert report["rows"] == 20 * 50 * 1024
    print(
        f"peak RSS {report['peak_rss_mib']} MiB for {report['chunks']} chunks of 50 MiB, {report}"
    )
