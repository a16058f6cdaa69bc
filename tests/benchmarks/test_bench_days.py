"""Three days of the thirty-day scenario on the tiny market: the daily job's figures per day, the
metadata each table's day costs to read, and the weekly upkeep, checked against the catalog."""

from __future__ import annotations

import datetime as dt
import json
import statistics
from pathlib import Path
from typing import Any

import pytest
from pyiceberg.table import Table

from ai_core.iceberg.catalog import load_catalog
from ai_core.iceberg.tables import day_filter
from benchmarks.daily_job import repeated, tier_of
from benchmarks.days_report import days_report
from benchmarks.runner import run_scenario
from benchmarks.scenario import Scenario, load_scenario

DAYS = 3
REPEATS = 2
INVENTORY = ("stellantis_consolidated", "inventory")


@pytest.fixture(scope="module")
def three_days(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The scenario shrunk to three tiny days; steps in processes of their own on day 2, whose
    consolidated steps run twice more; the upkeep after day 3 keeps one day of the scenario."""
    scenario = load_scenario("stellantis_thirty_days")
    stage = scenario.stages[0]
    params = {
        **stage.params,
        "process_per_step_days": [2],
        "repeats": REPEATS,
        "upkeep_every_days": DAYS,
        "retention_days": 1,
    }
    shrunk = scenario.model_copy(
        update={
            "days": DAYS,
            "upstream": scenario.upstream.model_copy(update={"scope": "tiny", "latency": 0.0})
            if scenario.upstream
            else None,
            "env": {**scenario.env, "STELLANTIS_INVENTORY_RADIUS": "5000"},
            "stages": [stage.model_copy(update={"params": params})],
        }
    )
    results = tmp_path_factory.mktemp("results")
    path = run_scenario(
        Scenario.model_validate(shrunk.model_dump()), "days", results_root=results, echo=print
    )
    return json.loads(path.read_text())


def _day(summary: dict[str, Any], number: int) -> dict[str, Any]:
    return summary["stages"][number - 1]


@pytest.mark.slow
def test_each_day_is_one_run_of_the_job(three_days: dict[str, Any]) -> None:
    stages = three_days["stages"]
    assert [s["name"] for s in stages] == ["daily_day01", "daily_day02", "daily_day03"]
    assert [s["status"] for s in stages] == ["ok"] * DAYS, [s.get("error") for s in stages]
    assert [s["metrics"]["day_number"] for s in stages] == [1, 2, 3]
    executors = [s["metrics"]["executor"] for s in stages]
    assert executors == ["in process", "process per step", "in process"]
    for stage in stages:
        steps = stage["metrics"]["steps"]
        assert {tier_of(k) for k in steps} == {"raw", "transformed", "consolidated"}
        consolidated = [f["wall_s"] for k, f in steps.items() if tier_of(k) == "consolidated"]
        assert len(consolidated) == 6
        assert stage["metrics"]["consolidated_wall_s"] == pytest.approx(sum(consolidated))
        assert all(0 < f["wall_s"] < stage["metrics"]["run_s"] for f in steps.values())


@pytest.mark.slow
def test_steps_in_processes_report_their_own_peak(three_days: dict[str, Any]) -> None:
    in_processes = _day(three_days, 2)["metrics"]
    peaks = [f["peak_rss_mb"] for f in in_processes["steps"].values()]
    # Each step's process imported Dagster, Polars and pyiceberg: well over 100 MB each, and
    # below the whole tree the harness saw.
    assert all(p is not None and 100 < p < _day(three_days, 2)["peak_rss_mb"] for p in peaks)
    assert all(f["cpu_s"] is not None and f["cpu_s"] > 0 for f in in_processes["steps"].values())
    assert in_processes["consolidated_cpu_s"] == pytest.approx(
        sum(f["cpu_s"] for k, f in in_processes["steps"].items() if tier_of(k) == "consolidated")
    )
    assert in_processes["consolidated_peak_mb"] == max(
        f["peak_rss_mb"] for k, f in in_processes["steps"].items() if tier_of(k) == "consolidated"
    )
    assert all(f["launched_wall_s"] > f["wall_s"] for f in in_processes["steps"].values())
    in_process = _day(three_days, 3)["metrics"]
    assert all(f["launched_wall_s"] is None for f in in_process["steps"].values())
    assert "consolidated_peak_mb" not in in_process
    assert "consolidated_cpu_s" not in in_process
    assert all(f["peak_rss_mb"] is None for f in in_process["steps"].values())


@pytest.mark.slow
def test_the_consolidated_steps_of_a_measured_day_run_again(three_days: dict[str, Any]) -> None:
    day = _day(three_days, 2)["metrics"]
    repeats = day["consolidated_repeats"]
    assert len(repeats) == REPEATS
    for sample in repeats:
        assert set(sample) == {"consolidated_wall_s", "consolidated_cpu_s", "consolidated_peak_mb"}
        assert all(v > 0 for v in sample.values())
    for name in ("wall_s", "cpu_s", "peak_mb"):
        values = [s[f"consolidated_{name}"] for s in repeats]
        assert day[f"consolidated_median_{name}"] == pytest.approx(
            statistics.median(values), abs=1e-3
        )
    assert "consolidated_repeats" not in _day(three_days, 3)["metrics"]
    # Each repeat is a re-execution of the day's run, of the consolidated steps alone.
    catalog = load_catalog(Path(three_days["run_dir"]) / "data")
    history = catalog.load_table(INVENTORY).metadata.snapshots
    assert len(history) == DAYS + REPEATS - 1  # day 1's expired by the upkeep after day 3


@pytest.mark.slow
def test_metadata_reads_match_the_catalog(three_days: dict[str, Any]) -> None:
    catalog = load_catalog(Path(three_days["run_dir"]) / "data")
    table: Table = catalog.load_table(INVENTORY)
    last = _day(three_days, 3)["stored"]
    figures = last["tables"]["stellantis_consolidated.inventory"]
    day = dt.date.fromisoformat(three_days["scenario"]["partition"]) + dt.timedelta(days=2)
    files = list(table.scan(row_filter=day_filter([day])).plan_files())
    assert figures["days"] == DAYS
    assert figures["plan_data_files"] == len(files) >= 1
    assert figures["plan_manifests_read"] == 1  # the day's own manifest, the others pruned
    assert figures["polars_manifests_read"] == 1  # Polars' own planner prunes the same way
    assert figures["polars_data_files"] == len(files)
    assert figures["partition_dates_manifests_read"] == 0  # the manifest list names each day
    assert figures["manifests_listed"] == DAYS
    metadata = Path(table.metadata_location.removeprefix("file://"))
    assert figures["metadata_json_bytes"] == metadata.stat().st_size
    assert figures["snapshots"] == len(table.metadata.snapshots)
    assert last["consolidated.snapshots"] == max(
        t["snapshots"] for n, t in last["tables"].items() if n.startswith("stellantis_consolidated")
    )


@pytest.mark.slow
def test_upkeep_keeps_the_retention_of_the_scenario(three_days: dict[str, Any]) -> None:
    before, after = _day(three_days, 2)["stored"], _day(three_days, 3)
    assert "upkeep_s" not in _day(three_days, 2)["metrics"]
    # One day of the scenario kept: each table's snapshot of day 1 went, days 2 and 3 stayed.
    tables = after["stored"]["tables"]
    assert after["metrics"]["upkeep_snapshots_expired"] == len(tables)
    # Each re-execution of day 2's consolidated steps committed a snapshot of its own.
    kept = {n: 2 + (REPEATS if n.startswith("stellantis_consolidated") else 0) for n in tables}
    assert {n: t["snapshots"] for n, t in tables.items()} == kept
    assert {n: t["snapshots"] for n, t in before["tables"].items()} == kept
    assert all(t["days"] == DAYS for t in tables.values() if t["plan_data_files"])


@pytest.mark.slow
def test_report_has_a_row_per_day(three_days: dict[str, Any]) -> None:
    report = days_report(three_days["stages"]).splitlines()
    assert report[0] == "days:"
    rows = [line.split()[0] for line in report[3:6]]
    assert rows == ["1", "2", "3"]
    assert any(line.startswith("against day 2") for line in report)


def test_a_tier_without_steps_is_not_run_again() -> None:
    # Dagster would read an empty step selection as the whole run: raw fetches and all.
    steps = {"stellantis__raw__public_inventory": {}, "transform__stellantis__raw__x": {}}
    with pytest.raises(ValueError, match="no step of the 'consolidated' tier"):
        repeated(None, None, "run-1", steps, "consolidated", 2)  # type: ignore[arg-type]


def test_days_are_compared_by_the_medians_of_their_repeats() -> None:
    def day(number: int, wall: float, median: float | None, runs: int) -> dict[str, Any]:
        metrics: dict[str, Any] = {
            "day_number": number,
            "consolidated_wall_s": wall,
            "consolidated_cpu_s": wall,
            "consolidated_peak_mb": 400.0,
        }
        if median is not None:
            metrics["consolidated_repeats"] = [{}] * runs
            metrics |= {
                "consolidated_median_wall_s": median,
                "consolidated_median_cpu_s": median,
                "consolidated_median_peak_mb": 400.0,
            }
        return {"metrics": metrics}

    # Day 10's own run was slow, its repeats were not; day 20 has only its own run.
    stages = [day(2, 3.0, 2.0, 5), day(10, 9.0, 2.2, 5), day(20, 3.3, None, 0)]
    rows = {line.split()[0]: line.split() for line in days_report(stages).splitlines()[-3:]}
    assert rows["2"][1:4] == ["5", "2.00", "x1.00"]
    assert rows["10"][1:4] == ["5", "2.20", "x1.10"]
    assert rows["20"][1:4] == ["1", "3.30", "x1.65"]


def test_a_scenario_of_several_days_names_each_days_stages() -> None:
    scenario = Scenario.model_validate(
        {
            "name": "two_days",
            "upstream": None,
            "partition": "2026-11-30",
            "days": 2,
            "stages": [
                {"name": "work", "callable": "m:f"},
                {"name": "plain", "callable": "m:g", "baseline_of": "work"},
            ],
        }
    )
    assert scenario.run_days() == [dt.date(2026, 11, 30), dt.date(2026, 12, 1)]
    second = scenario.day_stages(2)
    assert [(s.name, s.baseline_of) for s in second] == [
        ("work_day02", None),
        ("plain_day02", "work_day02"),
    ]
    assert second[0].label == "work (day 2)"
    single = scenario.model_copy(update={"days": 1})
    assert single.day_stages(1) == scenario.stages


@pytest.mark.slow
def test_a_selection_of_the_job_runs_only_its_assets_steps(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    scenario = load_scenario("stellantis_jeep_inventory_fast")
    stage = scenario.stages[-1]
    shrunk = scenario.model_copy(
        update={
            "upstream": scenario.upstream.model_copy(update={"scope": "tiny", "latency": 0.02})
            if scenario.upstream
            else None,
            "env": {**scenario.env, "STELLANTIS_INVENTORY_RADIUS": "5000"},
            "stages": [stage],
        }
    )
    results = tmp_path_factory.mktemp("selection")
    path = run_scenario(
        Scenario.model_validate(shrunk.model_dump()), "selection", results_root=results
    )
    (ran,) = json.loads(path.read_text())["stages"]
    assert ran["status"] == "ok", ran["error"]
    steps = ran["metrics"]["steps"]
    assert {k for k in steps if tier_of(k) is not None} == {
        "stellantis__raw__public_model_year_codes",
        "stellantis__raw__public_inventory",
    }
    # The inventory step cannot beat its own waits, and its launch adds to its wall.
    (key,) = ran["step_bounds"]
    bound = ran["step_bounds"][key]
    assert key == "stellantis__raw__public_inventory"
    assert bound["launched_over_bound"] > bound["wall_over_bound"] > 1
