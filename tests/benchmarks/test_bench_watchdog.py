"""The watchdog: a stage past STAGE_TIMEOUT_S is killed with its whole process tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

from benchmarks.runner import REPO_ROOT
from tests.benchmarks.conftest import DAY, STAGES


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_hung_stage_is_killed_and_the_run_goes_on(tmp_path: Path) -> None:
    scenario = {
        "name": "watchdog",
        "upstream": None,
        "partition": DAY.isoformat(),
        "stages": [
            {"name": "hang", "callable": f"{STAGES}:hang"},
            {"name": "after", "callable": f"{STAGES}:allocate_in_child", "params": {"p": 1}},
        ],
    }
    config = tmp_path / "watchdog.json"
    config.write_text(json.dumps(scenario))
    results = tmp_path / "results"
    env = {**os.environ, "STAGE_TIMEOUT_S": "2"}
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.run",
            str(config),
            "hang",
            "--results-dir",
            str(results),
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert time.perf_counter() - started < 30
    assert done.returncode == 1, done.stderr
    [summary_path] = results.glob("watchdog/*-hang/summary.json")
    summary = json.loads(summary_path.read_text())
    assert summary["harness"]["stage_timeout_s"] == 2.0
    hang, after = summary["stages"]
    assert hang["status"] == "killed"
    assert hang["returncode"] == -9
    assert 2.0 <= hang["wall_s"] < 6.0
    assert hang["grade"] == "red"
    assert "killed by the watchdog" in hang["error"]
    child_pid = int((summary_path.parent / "stages" / "hang-child.pid").read_text())
    deadline = time.monotonic() + 5
    while not _gone(child_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(child_pid)
    assert after["status"] == "ok"
    assert "hang killed:" in done.stdout
