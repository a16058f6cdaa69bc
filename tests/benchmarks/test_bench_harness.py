"""The benchmark harness on a tiny scenario: figures, grades, baselines, failures, abort."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from benchmarks.figures import api_call_bound, api_calls, latency_bound
from benchmarks.grading import grade, grade_stage
from benchmarks.machine import extraneous_packages
from benchmarks.report import run_report
from benchmarks.runner import REPO_ROOT, RunError, run_scenario
from benchmarks.scenario import Scenario, Thresholds, load_scenario
from tests.benchmarks.bench_stages import CHILD_MB
from tests.benchmarks.conftest import DAY, STAGES, TINY_SCENARIO

Run = tuple[Path, dict[str, Any]]


def _stage(summary: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in summary["stages"] if s["name"] == name)


def test_summary_describes_the_run(tiny_run: Run) -> None:
    path, summary = tiny_run
    assert path.name == "summary.json"
    assert path.parent.parent.name == "harness_tiny"
    assert re.fullmatch(r"\d{8}T\d{6}Z-tiny-check", path.parent.name)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert summary["git"]["sha"] == head
    assert isinstance(summary["git"]["dirty"], bool)
    assert summary["machine"]["cores_logical"] == os.cpu_count()
    assert summary["machine"]["memory_total_mb"] > 0
    # CI installs from the lock alone, so nothing the lock does not name is installed.
    assert summary["extraneous_packages"] == []
    assert summary["scenario"]["name"] == "harness_tiny"
    assert summary["scenario"]["partition"] == DAY.isoformat()
    assert summary["scenario"]["upstream"]["date"] == DAY.isoformat()
    started = dt.datetime.fromisoformat(summary["started_at"])
    finished = dt.datetime.fromisoformat(summary["finished_at"])
    assert started < finished
    assert summary["upstream"]["base_url_template"].startswith("http://127.0.0.1:")
    assert summary["upstream"]["stats"]
    assert [s["name"] for s in summary["stages"]] == ["codes", "allocate", "codes_again", "broken"]
    assert [s["status"] for s in summary["stages"]] == ["ok", "ok", "ok", "failed"]
    assert summary["status"] == "failed"
    assert summary["grade"] == "red"


def test_fetch_stage_figures(tiny_run: Run) -> None:
    path, summary = tiny_run
    codes = _stage(summary, "codes")
    body = (path.parent / "stages" / "codes.json").read_bytes()
    fetched = json.loads(body)["result"]["data"]["modelYearCodes"]
    assert codes["rows"] == len(fetched) > 0
    assert codes["bytes"] == len(body)
    assert codes["pages"] == 1
    assert codes["retries"] == 0
    # The server's own wait for its one answer (0.05 s, jittered), shared by the stage's own 2
    # workers, not the scenario's 4.
    paced = codes["upstream_stats_delta"]["paced_seconds"]
    assert paced == pytest.approx(0.05, rel=0.25)
    assert codes["latency_bound_s"] == pytest.approx(paced / 2, abs=0.0005)
    # Both figures are rounded to 3 decimals; wall_s's rounding is magnified 40x by the ratio.
    assert codes["wall_over_bound"] == pytest.approx(
        codes["wall_s"] / (paced / 2), abs=0.0005 / 0.025 + 0.0005
    )
    assert codes["wall_s"] > 0
    assert codes["cpu_s"] == pytest.approx(codes["user_cpu_s"] + codes["sys_cpu_s"], abs=2e-3)
    assert codes["cpu_s"] > 0
    assert codes["peak_rss_mb"] > 10
    assert codes["grades"] == {"memory": "green", "wall": "green", "stage": "green"}
    assert codes["thresholds"] == {"memory_mb": [6144.0, 8192.0], "wall_s": [600.0, 1200.0]}
    assert codes["upstream_stats_delta"]
    assert (path.parent / codes["log"]).is_file()


def test_peak_memory_includes_child_processes(tiny_run: Run) -> None:
    _, summary = tiny_run
    allocate = _stage(summary, "allocate")
    assert allocate["peak_rss_rusage_mb"] >= CHILD_MB
    assert allocate["peak_rss_mb"] == max(
        allocate["peak_rss_rusage_mb"], allocate["peak_rss_sampled_mb"]
    )
    assert allocate["rss_samples"] > 0
    assert allocate["grades"] == {"memory": "red", "wall": "green", "stage": "red"}
    assert allocate["metrics"] == {"rows": 0, "partition": DAY.isoformat(), "param": 3}
    assert allocate["latency_bound_s"] is None
    assert allocate["pages"] is None


def test_baseline_in_the_same_run(tiny_run: Run) -> None:
    _, summary = tiny_run
    codes, again = _stage(summary, "codes"), _stage(summary, "codes_again")
    [pair] = summary["baseline_comparisons"]
    assert pair["baseline"] == "codes_again"
    assert pair["stage"] == "codes"
    assert pair["both_ok"] is True
    assert pair["wall_ratio"] == pytest.approx(again["wall_s"] / codes["wall_s"])
    assert pair["memory_ratio"] == pytest.approx(again["peak_rss_mb"] / codes["peak_rss_mb"])
    report = run_report(summary)
    assert "baselines in this run:" in report
    line = next(x for x in report.splitlines() if x.startswith("codes_again") and "codes " in x)
    assert f"x{pair['wall_ratio']:.2f}" in line


def test_failed_stage_is_recorded(tiny_run: Run) -> None:
    path, summary = tiny_run
    broken = _stage(summary, "broken")
    assert broken["returncode"] == 1
    assert "stage broken failed on purpose" in broken["error"]
    assert broken["grade"] == "red"
    assert "broken failed: RuntimeError: stage broken failed on purpose" in run_report(summary)
    outcome = json.loads((path.parent / "stages" / "04-broken.json").read_text())
    assert outcome["status"] == "failed"


def test_abort_on_failure_skips_the_rest(tmp_path: Path) -> None:
    scenario = Scenario.model_validate(
        {
            "name": "abort",
            "upstream": None,
            "partition": DAY.isoformat(),
            "stages": [
                {"name": "broken", "callable": f"{STAGES}:fail"},
                {"name": "never", "callable": f"{STAGES}:fail"},
            ],
        }
    )
    path = run_scenario(
        scenario, "abort", results_root=tmp_path, abort_on_failure=True, echo=lambda _: None
    )
    summary = json.loads(path.read_text())
    assert [s["status"] for s in summary["stages"]] == ["failed", "skipped"]
    assert summary["stages"][1]["error"] == "run aborted after broken failed"
    assert not (path.parent / "stages" / "02-never.json").exists()


def test_server_that_fails_to_start_ends_the_run_with_an_error(tmp_path: Path) -> None:
    scenario = Scenario.model_validate(
        {
            "name": "no_server",
            "upstream": {"scope": "tiny", "server": f"{STAGES}:server_that_cannot_start"},
            "stages": [{"name": "never", "callable": f"{STAGES}:fail"}],
        }
    )
    with pytest.raises(RunError, match="cannot build the served day") as raised:
        run_scenario(scenario, "x", results_root=tmp_path, echo=lambda _: None)
    summary = json.loads(raised.value.summary_path.read_text())
    assert summary["status"] == "error"
    assert summary["error"].startswith("RuntimeError: cannot build the served day for {'scope'")
    assert summary["stages"] == []
    assert "run stopped: RuntimeError: cannot build the served day" in run_report(summary)


def test_packages_the_lock_does_not_name_are_listed(tmp_path: Path) -> None:
    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text())
    kept = [p["name"] for p in lock["package"] if p["name"] not in ("pytest", "ruff")]
    (tmp_path / "uv.lock").write_text("".join(f'[[package]]\nname = "{n}"\n' for n in kept))
    assert extraneous_packages(tmp_path) == ["pytest", "ruff"]
    assert extraneous_packages(tmp_path / "elsewhere") == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), (10.0, "green"), (60.0, "green"), (60.1, "yellow"), (120.0, "yellow"),
     (120.1, "red")],
)  # fmt: skip
def test_grade_bounds(value: float | None, expected: str | None) -> None:
    assert grade(value, (60.0, 120.0)) == expected


@pytest.mark.parametrize(
    ("pages", "latency", "workers", "expected"),
    [(335, 0.3, 10, 10.05), (335, 0.3, "10", 10.05), (None, 0.3, 10, None), (5, None, 10, None),
     (5, 0.3, None, None), (5, 0.3, 0, None), (5, 0.3, "many", None)],
)  # fmt: skip
def test_latency_bound(
    pages: float | None, latency: float | None, workers: object, expected: float | None
) -> None:
    assert latency_bound(pages, latency, workers) == pytest.approx(expected)


def test_latency_bound_prefers_the_servers_own_waits() -> None:
    # 335 pages the server answered in 120 s of waits in all, 10 at a time.
    assert latency_bound(335, 0.3, 10, paced_s=120.0) == pytest.approx(12.0)
    assert latency_bound(335, None, 10, paced_s=120.0) == pytest.approx(12.0)
    assert latency_bound(335, 0.3, 10, paced_s=None) == pytest.approx(10.05)


def test_api_call_bound_lists_first_then_overlaps_the_reads() -> None:
    # Three listing pages in a row, then 2,000 queries and 400 result pages, 8 at a time.
    delta = {
        "cpu_seconds": 0.1,
        "dealerconnect": {
            "requests": {"tables.list": 3, "jobs.query": 2000, "jobs.getQueryResults": 400}
        },
    }
    calls = api_calls(delta)
    assert calls == delta["dealerconnect"]["requests"]
    assert api_call_bound(calls, 0.3, 8) == pytest.approx((3 + 2400 / 8) * 0.3)
    assert api_calls({"cpu_seconds": 0.1}) is None
    assert api_call_bound(None, 0.3, 8) is None
    assert api_call_bound({"jobs.query": 5}, 0.3, None) is None
    assert api_call_bound({}, 0.3, 8) is None


def test_unfinished_stage_is_red_whatever_it_cost() -> None:
    grades = grade_stage("killed", 10.0, 1.0, Thresholds())
    assert grades == {"memory": "green", "wall": "green", "stage": "red"}


def test_shipped_scenarios_load() -> None:
    fast = load_scenario("stellantis_jeep_inventory_fast")
    national = load_scenario("stellantis_jeep_inventory")
    from ai_stellantis.definitions import defs

    known = {k.to_user_string() for k in defs().resolve_asset_graph().get_all_asset_keys()}
    for scenario in (fast, national):
        keys = [k for s in scenario.stages for k in s.asset_keys]
        assert keys[:3] == [
            "stellantis/raw/public_model_year_codes",
            "stellantis/raw/public_inventory",
            "stellantis/raw/public_dealers",
        ]
        assert set(keys) <= known
        assert {k.split("/")[1] for k in keys} == {"raw", "transformed", "consolidated"}
        assert "stellantis/consolidated/inventory" in keys
        # The inventory's five tables run as the one step that writes them all.
        (tables,) = [s for s in scenario.stages if s.name == "transformed_inventory_tables"]
        assert len(tables.asset_keys) == 5
        assert "stellantis/transformed/inventory_vehicles" in tables.asset_keys
        baselines = {s.baseline_of for s in scenario.stages if s.baseline_of}
        assert baselines == {"transformed_inventory"}
    assert fast.env["STELLANTIS_INVENTORY_ZIP"] == "10001"
    assert national.env["STELLANTIS_INVENTORY_RADIUS"] == "5000"


def test_invalid_scenario_names_the_problem(tmp_path: Path) -> None:
    bad = dict(TINY_SCENARIO, stages=[{"name": "x", "callable": "no_colon"}])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="must be 'module:function'"):
        load_scenario(str(path))
