"""Asset stages: one partition materialised in the stage process, its metadata in the summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.dagster_stage import materialise
from benchmarks.runner import run_scenario
from benchmarks.scenario import Scenario
from tests.benchmarks.conftest import DAY


def test_asset_stages_report_metadata_checks_and_failures(tmp_path: Path) -> None:
    scenario = Scenario.model_validate(
        {
            "name": "assets",
            "definitions": "tests.benchmarks.sample_defs:defs",
            "upstream": None,
            "partition": DAY.isoformat(),
            "stages": [
                {"name": "pages", "asset_key": "sample/raw/pages"},
                {"name": "broken", "asset_key": "sample/raw/broken"},
            ],
        }
    )
    path = run_scenario(scenario, "assets", results_root=tmp_path, echo=lambda _: None)
    pages, broken = json.loads(path.read_text())["stages"]

    assert pages["status"] == "ok", pages["error"]
    assert (pages["rows"], pages["bytes"], pages["pages"], pages["retries"]) == (120, 4096, 3, 1)
    assert pages["metrics"]["partition"] == DAY.isoformat()
    assert pages["metrics"]["table"] == "`sample_raw.pages`"
    assert pages["metrics"]["dagster/column_schema"] == [
        {"name": "vin", "type": "string"},
        {"name": "msrp", "type": "double"},
    ]
    assert pages["checks"] == [{"name": "pages_complete", "passed": False, "severity": "WARN"}]
    assert 0 < pages["work_wall_s"] < pages["wall_s"]
    # No upstream server, so no latency: the bound is unknown rather than zero.
    assert pages["latency_bound_s"] is None

    assert broken["status"] == "failed"
    assert broken["error"] == (
        "step sample__raw__broken: RuntimeError: sample/raw/broken fails on purpose"
    )
    assert (
        "RuntimeError: sample/raw/broken fails on purpose"
        in (path.parent / broken["log"]).read_text()
    )


def test_a_stage_of_several_assets_of_one_step_reports_each_and_their_sum() -> None:
    keys = ["sample/transformed/vehicles", "sample/transformed/dealers"]
    result = materialise(keys, DAY.isoformat(), "tests.benchmarks.sample_defs:defs")
    assert result["success"], result["errors"]
    metadata = result["metadata"]
    assert set(metadata["assets"]) == set(keys)
    assert metadata["assets"]["sample/transformed/dealers"]["rows"] == 7
    # Rows and extraction add up; the pages are the same ones, read once.
    assert (metadata["rows"], metadata["bytes"], metadata["pages"]) == (107, 2560, 3)
    assert metadata["extract_seconds"] == 1.75


def test_unknown_asset_key_names_the_scenario_field() -> None:
    with pytest.raises(KeyError, match="has no asset 'sample/raw/nowhere'; check the scenario"):
        materialise("sample/raw/nowhere", DAY.isoformat(), "tests.benchmarks.sample_defs:defs")
