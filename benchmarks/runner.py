"""Run a scenario: start the upstream server, run each stage in its own process, write the summary.

Everything a run writes stays under its directory
`benchmarks/results/<scenario>/<timestamp>-<label>/`: the isolated catalog and warehouse in
`data/`, each stage's log and outcome in `stages/`, and `summary.json`, rewritten after every
stage so an interrupted run still leaves what it measured.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai_core.clock import TODAY_ENV
from benchmarks import defaults
from benchmarks import environment as stage_environment
from benchmarks import upstream as upstream_server
from benchmarks.figures import stage_figures
from benchmarks.measure import run_measured
from benchmarks.scenario import Scenario, StageConfig, Thresholds
from benchmarks.summary import RunSummary
from benchmarks.upstream import UpstreamHandle

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
ENVS_DIRNAME = ".envs"
"""Stage environments live in `<results root>/.envs/`, shared by every run under that root."""
PLACEHOLDERS = ("python", "env_python", "partition", "out", "stage_dir", "repo")
"""What a command stage's argv, its `env` values and its verify params may name in braces:
the project's interpreter, the stage environment's, the partition, the stage's outcome file
(a command may write `{"status", "metrics", "error"}` there), the stage's own directory, and
the repository root."""


class RunError(RuntimeError):
    """The run could not go on (the server did not start, the harness failed); stage failures
    are recorded in the summary instead."""

    def __init__(self, message: str, summary_path: Path) -> None:
        super().__init__(message)
        self.summary_path = summary_path


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _file_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")


def run_dir_for(results_root: Path, scenario: str, label: str, started: dt.datetime) -> Path:
    """`<root>/<scenario>/<UTC timestamp>-<label>`, the label reduced to file-name characters."""
    return results_root / scenario / f"{started:%Y%m%dT%H%M%SZ}-{_file_name(label) or 'run'}"


@contextlib.contextmanager
def _maybe_serve(scenario: Scenario) -> Iterator[UpstreamHandle | None]:
    if scenario.upstream is None:
        yield None
        return
    with upstream_server.serve(scenario.upstream) as handle:
        yield handle


def _stats(handle: UpstreamHandle | None) -> dict[str, Any]:
    if handle is None:
        return {}
    try:
        return dict(handle.stats())
    except Exception as exc:  # the server's failure must not lose the run's figures
        return {"error": f"upstream stats unavailable: {exc}"}


def stage_env(
    scenario: Scenario,
    stage: StageConfig,
    *,
    data_dir: Path,
    base_url_template: str | None,
    inherited: Mapping[str, str],
    partition: dt.date | None = None,
) -> dict[str, str]:
    """The stage's environment: inherited, then the scenario's, the stage's, then the run's own.

    The run's own values come last so no scenario can point a stage outside its isolated data
    dir or away from the run's upstream server.
    """
    env = {**inherited, **scenario.env, **stage.env}
    env["AI_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    day = partition or scenario.partition
    if day is not None:
        # The stand-in serves the stage's day as "today", so the sources' clock says so too.
        env[TODAY_ENV] = day.isoformat()
    if base_url_template is not None:
        env["STELLANTIS_BASE_URL_TEMPLATE"] = base_url_template
    return env


def expand(text: str, values: Mapping[str, str]) -> str:
    """`text` with each `{placeholder}` of `values` replaced; other braces are left alone."""
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def expand_params(value: Any, values: Mapping[str, str]) -> Any:
    """Placeholders expanded in every string of a JSON-like value."""
    if isinstance(value, str):
        return expand(value, values)
    if isinstance(value, list):
        return [expand_params(v, values) for v in value]
    if isinstance(value, dict):
        return {k: expand_params(v, values) for k, v in value.items()}
    return value


def stage_command(
    stage: StageConfig,
    partition: dt.date,
    out: Path,
    definitions: str = defaults.DEFINITIONS,
    placeholders: Mapping[str, str] | None = None,
) -> list[str]:
    """The stage's argv: a command stage's own, else `python -m benchmarks.stage ...`."""
    if stage.command is not None:
        return [expand(part, placeholders or {}) for part in stage.command]
    cmd = [sys.executable, "-m", "benchmarks.stage", "--partition", partition.isoformat()]
    cmd += ["--out", str(out), "--name", stage.name]
    if stage.asset_key is not None:
        assets = [arg for key in stage.asset_keys for arg in ("--asset", key)]
        return [*cmd, *assets, "--definitions", definitions]
    return [*cmd, "--callable", str(stage.callable), "--params", json.dumps(stage.params)]


def skipped_stage(stage: StageConfig, reason: str) -> dict[str, Any]:
    """The summary entry of a stage that was not run."""
    return {
        "name": stage.name,
        "label": stage.label,
        "kind": stage.kind,
        "target": stage.target,
        "baseline_of": stage.baseline_of,
        "status": "skipped",
        "error": reason,
        "grade": None,
    }


def _read_outcome(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


@dataclass(frozen=True, slots=True)
class StageRunner:
    """Runs the stages of one scenario run, each in its own measured process."""

    scenario: Scenario
    run_dir: Path
    timeout_s: float
    handle: UpstreamHandle | None

    @property
    def envs_dir(self) -> Path:
        """`<results root>/.envs`: the run directory is `<results root>/<scenario>/<run>`."""
        return self.run_dir.parent.parent / ENVS_DIRNAME

    def run(
        self, index: int, stage: StageConfig, partition: dt.date | None = None
    ) -> dict[str, Any]:
        """Run one stage for `partition` (the scenario's by default); return its summary entry."""
        partition = partition or self.scenario.partition
        assert partition is not None
        template = self.handle.base_url_template if self.handle is not None else None
        stem = f"{index:02d}-{_file_name(stage.name)}"
        out = self.run_dir / "stages" / f"{stem}.json"
        log = self.run_dir / "stages" / f"{stem}.log"
        stage_dir = self.run_dir / "stages" / stem
        if stage.command is not None or stage.verify is not None:
            stage_dir.mkdir(parents=True, exist_ok=True)
        placeholders = {
            "python": sys.executable,
            "partition": partition.isoformat(),
            "out": str(out),
            "stage_dir": str(stage_dir),
            "repo": str(REPO_ROOT),
        }
        expanded = {k: expand(v, placeholders) for k, v in stage.env.items()}
        env = stage_env(
            self.scenario,
            stage.model_copy(update={"env": expanded}),
            data_dir=self.run_dir / "data",
            base_url_template=template,
            inherited=os.environ,
            partition=partition,
        )
        setup: dict[str, Any] = {}
        if stage.environment is not None:
            # Built before the stage's clock starts: installing is not the stage's work.
            started = _now()
            try:
                python = stage_environment.ensure(REPO_ROOT / stage.environment, self.envs_dir)
            except stage_environment.StageEnvironmentError as exc:
                return {**skipped_stage(stage, str(exc)), "status": "failed", "grade": "red"}
            placeholders["env_python"] = str(python)
            setup = {"python": str(python), "seconds": round((_now() - started).total_seconds(), 3)}
        before = _stats(self.handle)
        process = run_measured(
            stage_command(stage, partition, out, self.scenario.definitions, placeholders),
            env=env,
            cwd=REPO_ROOT,
            log_path=log,
            timeout_s=self.timeout_s,
        )
        delta = upstream_server.stats_delta(before, _stats(self.handle))
        paced = delta.get("paced_seconds")
        figures = stage_figures(
            stage,
            process,
            _read_outcome(out),
            env=env,
            latency_s=self.scenario.upstream.mean_latency() if self.scenario.upstream else None,
            default_thresholds=Thresholds(),
            paced_s=paced if isinstance(paced, int | float) else None,
            upstream_delta=delta,
        )
        figures["upstream_stats_delta"] = delta
        figures["log"] = str(log.relative_to(self.run_dir))
        if setup:
            figures["environment"] = setup
        if stage.verify is not None and figures["status"] == "ok":
            verify_out = stage_dir / "verify.json"
            figures["stored"] = self.verify(stage, env, placeholders, verify_out, partition)
        return figures

    def verify(
        self,
        stage: StageConfig,
        env: Mapping[str, str],
        placeholders: Mapping[str, str],
        out: Path,
        partition: dt.date,
    ) -> dict[str, Any]:
        """Run the stage's verify callable in a process of its own, outside the measurement."""
        assert stage.verify is not None
        params = expand_params(stage.verify.params, placeholders)
        cmd = [sys.executable, "-m", "benchmarks.stage", "--callable", stage.verify.callable]
        cmd += ["--partition", partition.isoformat(), "--out", str(out)]
        cmd += ["--name", stage.name, "--params", json.dumps(params)]
        log = out.with_suffix(".log")
        with log.open("wb") as log_file:
            try:
                subprocess.run(
                    cmd,
                    env=dict(env),
                    cwd=REPO_ROOT,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    timeout=self.timeout_s,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                return {"error": f"verify {stage.verify.callable} ran over {self.timeout_s} s"}
        outcome = _read_outcome(out) or {}
        if outcome.get("status") != "ok":
            error = outcome.get("error") or f"verify wrote no outcome; see {log}"
            return {"error": error.strip().splitlines()[-1]}
        return dict(outcome.get("metrics") or {})


def run_scenario(
    scenario: Scenario,
    label: str,
    *,
    results_root: Path = RESULTS_DIR,
    timeout_s: float = defaults.STAGE_TIMEOUT_S,
    abort_on_failure: bool = False,
    today: dt.date | None = None,
    echo: Callable[[str], None] = print,
) -> Path:
    """Run every stage of `scenario` in order and return the path of its `summary.json`."""
    started = _now()
    scenario = scenario.resolved(today or started.date())
    run_dir = run_dir_for(results_root, scenario.name, label, started)
    (run_dir / "data").mkdir(parents=True)
    (run_dir / "stages").mkdir()
    summary = RunSummary(
        run_dir / "summary.json",
        scenario,
        label,
        repo=REPO_ROOT,
        started=started,
        harness={"stage_timeout_s": timeout_s, "abort_on_failure": abort_on_failure},
    )
    echo(f"run {scenario.name} -> {run_dir}")
    if extra := summary.data["extraneous_packages"]:
        echo(
            f"warning: the environment holds packages uv.lock does not name ({', '.join(extra)}); "
            "they can change every step's start-up and memory: `uv sync --frozen --all-extras` "
            "removes them"
        )
    try:
        with _maybe_serve(scenario) as handle:
            template = handle.base_url_template if handle is not None else None
            summary.data["upstream"] = {
                "base_url_template": template,
                "state": upstream_server.served_state(handle) if handle is not None else None,
                "stats": _stats(handle),
            }
            summary.write()
            runner = StageRunner(scenario, run_dir, timeout_s, handle)
            aborted_by: str | None = None
            runs = [
                (day, stage)
                for number, day in enumerate(scenario.run_days(), start=1)
                for stage in scenario.day_stages(number)
            ]
            # A run of several days moves the server to each, the first included.
            served_day = scenario.partition if scenario.days == 1 else None
            for index, (day, stage) in enumerate(runs, start=1):
                if aborted_by is not None:
                    summary.add_stage(
                        skipped_stage(stage, f"run aborted after {aborted_by} failed")
                    )
                    continue
                if day != served_day and handle is not None:
                    upstream_server.move_to(handle, day)
                    served_day = day
                echo(f"[{index}/{len(runs)}] {stage.name}: {stage.kind} {stage.target}")
                figures = runner.run(index, stage, day)
                summary.add_stage(figures)
                if "wall_s" in figures:
                    echo(
                        f"    {figures['status']} in {figures['wall_s']:.1f} s, "
                        f"peak {figures['peak_rss_mb']:.0f} MB, grade {figures['grade']}"
                    )
                else:
                    echo(f"    {figures['status']} before it started: {figures['error']}")
                if figures["status"] != "ok" and abort_on_failure:
                    aborted_by = stage.name
            summary.data["upstream"]["stats"] = _stats(handle)
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        summary.finish(_now(), status="error", error=message)
        raise RunError(f"run {scenario.name} stopped: {message}", summary.path) from exc
    except BaseException:
        summary.finish(_now(), status="interrupted")
        raise
    summary.finish(_now())
    return summary.path
