"""A whole job in one Dagster run as a stage: the run's wall, and each step's wall and peak."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest

from benchmarks.figures import job_chains, step_bounds
from benchmarks.job_run import MB, main, sampled
from benchmarks.runner import run_scenario
from benchmarks.scenario import Scenario, load_scenario
from tests.benchmarks import sample_job
from tests.benchmarks.conftest import DAY

JOB_COMMAND = [
    "{python}", "-m", "benchmarks.job_run", "--job", "sample_daily",
    "--module", "tests.benchmarks.sample_job", "--partition", "{partition}",
    "--home", "{stage_dir}", "--out", "{out}",
]  # fmt: skip
STEPS = ("sample__job__hold", "sample__job__wait", "sample__job__after")


def test_a_job_run_reports_each_steps_wall_and_peak(tmp_path: Path) -> None:
    scenario = Scenario.model_validate(
        {
            "name": "job",
            "upstream": None,
            "partition": DAY.isoformat(),
            "stages": [
                {
                    "name": "daily",
                    "command": JOB_COMMAND,
                    "latency_model": "job",
                }
            ],
        }
    )
    path = run_scenario(scenario, "job", results_root=tmp_path, echo=lambda _: None)
    (stage,) = json.loads(path.read_text())["stages"]
    assert stage["status"] == "ok", stage["error"]
    metrics = stage["metrics"]
    assert metrics["run_status"] == "SUCCESS"
    steps = metrics["steps"]
    assert set(steps) == set(STEPS)
    # Each step ran in a process of its own, found through the pid its events carry.
    assert len({s["pid"] for s in steps.values()}) == 3
    hold, wait, after = (steps[k] for k in STEPS)
    # The step that holds memory peaks above the others by about what it holds. Another step's
    # process is sometimes larger than its siblings (by 90 MB once on CI), so the largest of the
    # others is held to half the amount, the smallest to most of it.
    others = [wait["peak_rss_mb"], after["peak_rss_mb"]]
    assert hold["peak_rss_mb"] >= min(others) + 0.8 * sample_job.HOLD_MB
    assert hold["peak_rss_mb"] >= max(others) + 0.5 * sample_job.HOLD_MB
    assert wait["wall_s"] >= sample_job.WAIT_S
    # A forked step's wall from the launch of its process adds the fork and the step's set-up.
    assert all(s["launched_wall_s"] > s["wall_s"] for s in steps.values())
    # Sleeping costs no CPU: the wait step's process used about what the step that does
    # nothing used (a step process's start-up), far less than its sleep.
    assert 0 < wait["cpu_s"] < after["cpu_s"] + sample_job.WAIT_S / 2
    assert metrics["run_s"] >= wait["wall_s"] + after["wall_s"]
    # The CLI's own wall holds the run and its start-up; the stage's adds reading the run back.
    assert metrics["run_s"] < metrics["cli_wall_s"] < stage["wall_s"]
    assert metrics["largest_step_peak_mb"] == hold["peak_rss_mb"]
    # The whole tree holds at least the largest step; no stand-in waited, so no bound.
    assert stage["peak_rss_mb"] >= hold["peak_rss_mb"]
    assert stage["latency_bound_s"] is None
    # The CLI's own output is kept beside the run's instance. Dagster copies captured output to
    # it through `tail` processes that it stops when a step ends, so the last lines can miss it
    # on a loaded machine (once on CI, everything from the last step's STEP_SUCCESS on); the
    # figures come from the instance's event log, and the output's start is always there.
    log = (path.parent / "stages" / "01-daily" / "dagster.log").read_text()
    assert f"{metrics['run_id']} - " in log
    assert "RUN_START" in log and "STEP_START" in log


HELD_MB = 150
FORKS = textwrap.dedent(
    f"""
    import os, time
    held = b"x" * ({HELD_MB} * 2**20)
    if os.fork() == 0:
        time.sleep(1.0)  # sampled while it still runs its parent's command
        os.execvp("sleep", ["sleep", "1"])
    if os.fork() == 0:
        own = b"y" * (60 * 2**20)
        time.sleep(2.0)
        os._exit(0)
    os.wait()
    os.wait()
    """
)


def test_a_child_seen_before_its_exec_does_not_count_its_parents_pages() -> None:
    proc = subprocess.Popen([sys.executable, "-c", FORKS])
    with sampled(psutil.Process(proc.pid)) as peaks:
        proc.wait()
    assert proc.returncode == 0
    children = [p for p in peaks.subtree(proc.pid) if p != proc.pid]
    (execd,) = [p for p in children if p in peaks.peak]
    (worker,) = [p for p in children if p != execd]
    # Before its exec the child's RSS was the parent's held pages; afterwards, `sleep`'s own.
    assert peaks.forked[execd] >= HELD_MB * MB
    assert peaks.peak[execd] < 20 * MB
    parent = peaks.process_peak(proc.pid)
    total = peaks.subtree_peak(proc.pid)
    assert parent is not None and total is not None
    # The fork that never ran another program counts in full, as any process monitor shows it;
    # the one that ran `sleep` adds `sleep`.
    assert peaks.forked[worker] >= (HELD_MB + 60) * MB
    assert peaks.forked[worker] + parent <= total < peaks.forked[worker] + parent + 20 * MB


def test_a_job_that_does_not_run_fails_the_stage(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    code = main(
        ["--job", "sample_daily", "--module", "tests.benchmarks.sample_nowhere",
         "--partition", DAY.isoformat(), "--home", str(tmp_path / "home"), "--out", str(out)]
    )  # fmt: skip
    outcome = json.loads(out.read_text())
    assert code == 1 and outcome["status"] == "failed"
    assert "holds no run" in outcome["error"]


def test_the_job_bound_is_the_longest_chain_of_waits() -> None:
    delta = {
        "paced_seconds": 130.0,
        "paced_seconds_by_endpoint": {"filters": 6.0, "inventory": 120.0, "dealers": 4.0},
        "dealerconnect": {"requests": {"tables.list": 2, "jobs.query": 80, "jobs.get": 8}},
    }
    env = {"STELLANTIS_INVENTORY_PAGES_WORKERS": "10", "STELLANTIS_BIGQUERY_WORKERS": "8"}
    chains = job_chains(delta, 0.5, env)
    # Codes then inventory over 10 workers; the locator alone; DealerConnect's two listings
    # one after another, then 88 calls 8 at a time.
    assert chains == {
        "public_inventory": pytest.approx(12.6),
        "public_dealers": pytest.approx(0.4),
        "dealerconnect": pytest.approx((2 + 88 / 8) * 0.5),
    }
    assert job_chains({}, 0.5, env) == {}


def test_a_step_is_held_to_its_own_waits() -> None:
    delta = {"paced_seconds_by_endpoint": {"filters": 6.0, "inventory": 120.0}}
    env = {"STELLANTIS_INVENTORY_PAGES_WORKERS": "10"}
    steps = {
        "raw__inventory": {"wall_s": 13.2, "launched_wall_s": 13.8},
        "raw__codes": {"wall_s": 1.0, "launched_wall_s": None},
    }
    waits = {"raw__inventory": ["inventory"], "raw__codes": ["filters"], "raw__gone": ["x"]}
    bounds = step_bounds(waits, steps, delta, env)
    # The inventory step waits 120 s over 10 workers; a step run in the run's process has no
    # launch; a step the run did not have, or a stand-in that did not wait, has no bound.
    assert bounds == {
        "raw__inventory": {
            "bound_s": 12.0,
            "wall_over_bound": pytest.approx(1.1),
            "launched_over_bound": pytest.approx(1.15),
        },
        "raw__codes": {
            "bound_s": 0.6,
            "wall_over_bound": pytest.approx(1.667),
            "launched_over_bound": None,
        },
    }
    assert step_bounds(waits, steps, {}, env) == {}


def test_the_fast_scenario_runs_its_raw_steps_as_the_daily_job_does() -> None:
    scenario = load_scenario("stellantis_jeep_inventory_fast")
    stage = scenario.stages[-1]
    assert stage.callable == "benchmarks.daily_job:run"
    assert stage.params["assets"] == [
        "stellantis/raw/public_model_year_codes",
        "stellantis/raw/public_inventory",
    ]
    assert stage.step_waits == {"stellantis__raw__public_inventory": ["inventory"]}


def test_the_six_brand_evening_scenario_runs_the_daily_job_in_one_run() -> None:
    scenario = load_scenario("stellantis_daily_evening")
    (stage,) = scenario.stages
    assert stage.command is not None and stage.command[1:3] == ["-m", "benchmarks.job_run"]
    assert stage.command[stage.command.index("--job") + 1] == "stellantis_daily"
    assert stage.latency_model == "job"
    assert scenario.upstream is not None and scenario.upstream.latency == 0.6
    assert scenario.upstream.server == "standin.stellantis.dealerconnect.process:serve_market"
    assert "STELLANTIS_BRANDS" not in scenario.env  # every brand
