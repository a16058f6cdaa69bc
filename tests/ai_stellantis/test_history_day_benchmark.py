"""`benchmarks/history_day.py`: the day after a stored day, carried whole, consolidated by two
trees in turn, with the same rows."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest

from ai_core.iceberg.catalog import load_catalog
from benchmarks.history_day import KEY, ROOT, compare, run_once
from tests.ai_stellantis.conftest import DAY, UpstreamEnv, materialize_day
from tests.ai_stellantis.test_unattended_day import job_keys


def test_the_next_day_carries_every_row_and_both_trees_write_the_same(
    stellantis_env: UpstreamEnv,
    tmp_path: Path,
) -> None:
    assert materialize_day(job_keys(), DAY).success
    table = load_catalog(stellantis_env.data_dir).load_table("stellantis_consolidated.inventory")
    stored = pl.from_arrow(table.scan().to_arrow())
    assert isinstance(stored, pl.DataFrame) and stored.height > 100

    # A copy of the code as the base tree: its runs must import the copy, not this checkout.
    base = tmp_path / "base"
    for package in ("ai_core", "ai_stellantis"):
        shutil.copytree(ROOT / package, base / package)
    shutil.copy(ROOT / "pyproject.toml", base)  # where Dagster finds the project's definitions
    report = compare(stellantis_env.data_dir, dt.date.fromisoformat(DAY), base, repeats=1)

    assert report["day"] == "2026-11-21"
    assert report["same_rows"] is True
    for name in ("candidate", "base"):
        (run,) = report["runs"][name]
        assert run["success"] and run["rows"] == stored.height
        assert run["code"] == [str(base if name == "base" else ROOT)]
        assert report[name]["wall_s"] > 0 and report[name]["peak_mb"] > 0
    assert set(report["candidate_over_base"]) == {"wall_s", "cpu_s", "peak_mb"}

    # A base without one of the packages would run this checkout's: refused, not measured.
    shutil.rmtree(base / "ai_core")
    with pytest.raises(RuntimeError, match="imported the code of"):
        run_once(base, stellantis_env.data_dir, [KEY], report["day"], None)
