"""A callable stage that runs a whole Dagster job for the stage's day, as a deployment runs it.

The job runs with the definitions' own executor (each step in a process of its own, forked from
a server that preloaded the location) on a Dagster instance kept in the run's directory, so the
runs of consecutive days accumulate there as they would in production. Each step's wall comes
from the run's record and its peak memory from a sampler that follows every process the run
starts; both are reported per step, and the consolidated tier's steps are added up.

Params: `job` (default `stellantis_daily`), `definitions` (default the harness's),
`process_per_step_days` (the days of the run, from 1, that use the definitions' executor; the
others run every step in this process, which is faster and reports no peak per step; default
every day), `repeat_tier` with `repeats` (on those days, the tier's steps are run again that many
times, each time a re-execution of the day's run, and the median of the samples is reported:
one sample of a tier of a few seconds moves more between runs than the growth asked about), and
`upkeep_every_days` with `retention_days`: every that many days the table upkeep job runs after
the day, with a retention of that many days of the scenario (see `upkeep_retention_days`), and
`assets`: the asset keys of the job to run (default all of them), as a deployment's run of a
selection runs them.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import dagster as dg
import psutil

from ai_core.upkeep import UPKEEP_JOB
from benchmarks import dagster_stage, defaults
from benchmarks.context import StageContext
from benchmarks.job_run import ProcessPeaks, run_steps, sampled

JOB = "stellantis_daily"
PARTITION_TAG = "dagster/partition"
TIER_OF_STEP = {"transform": "transformed", "raw": "raw", "consolidated": "consolidated"}
"""A step key's first word found here names its tier: `transform__stellantis__raw__x`, the step
that writes the transformed tables of the raw table `x`, is of the transformed tier."""


def instance_home(context: StageContext) -> Path:
    """The run's Dagster instance: beside the summary, shared by every day of the run."""
    home = context.out_dir.parent / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    return home


def tier_of(step_key: str) -> str | None:
    """`stellantis__consolidated__inventory` is of the consolidated tier."""
    parts = step_key.split("__")
    return next((TIER_OF_STEP[p] for p in parts if p in TIER_OF_STEP), None)


def tier_totals(steps: Mapping[str, Mapping[str, float | None]]) -> dict[str, float]:
    """Per tier: the steps' summed wall and, when steps had processes of their own, their
    summed CPU and the largest step's peak."""
    totals: dict[str, float] = {}
    for key, figures in steps.items():
        tier = tier_of(key)
        if tier is None:
            continue
        wall, peak, cpu = figures.get("wall_s"), figures.get("peak_rss_mb"), figures.get("cpu_s")
        totals[f"{tier}_wall_s"] = round(totals.get(f"{tier}_wall_s", 0.0) + (wall or 0.0), 3)
        if peak is not None:
            totals[f"{tier}_peak_mb"] = max(totals.get(f"{tier}_peak_mb", 0.0), peak)
        if cpu is not None:
            totals[f"{tier}_cpu_s"] = round(totals.get(f"{tier}_cpu_s", 0.0) + cpu, 3)
    return totals


def day_number(instance: dg.DagsterInstance, job_name: str, day: dt.date) -> int:
    """Which day of the run `day` is (from 1): counted from the earliest day the instance ran."""
    records = instance.get_run_records(dg.RunsFilter(job_name=job_name))
    days = [dt.date.fromisoformat(r.dagster_run.tags[PARTITION_TAG]) for r in records]
    return (day - min([*days, day])).days + 1


def upkeep_retention_days(
    instance: dg.DagsterInstance, job_name: str, day: dt.date, retention_days: int
) -> float:
    """A retention of `retention_days` days of the scenario, in the wall-clock days upkeep
    expects: snapshots committed before the run of `day - retention_days` began are older.

    Snapshots carry the time of their commit, and a scenario runs a day in a minute, so the
    production retention of a week would expire nothing here.
    """
    oldest_kept = (day - dt.timedelta(days=retention_days)).isoformat()
    records = instance.get_run_records(
        dg.RunsFilter(job_name=job_name, tags={PARTITION_TAG: oldest_kept})
    )
    started = min((r.start_time for r in records if r.start_time is not None), default=None)
    if started is None:
        return float(retention_days)
    return max(0.0, (time.time() - started) / 86_400)


def run_upkeep(
    defs: dg.Definitions, instance: dg.DagsterInstance, retention_days: float
) -> dict[str, Any]:
    """The upkeep job, in this process, with a scaled retention and grace."""
    started = time.perf_counter()
    config = {"retention_days": retention_days, "grace_days": retention_days}
    op = next(iter(defs.resolve_job_def(UPKEEP_JOB).graph.node_dict))
    result = defs.resolve_job_def(UPKEEP_JOB).execute_in_process(
        run_config={"ops": {op: {"config": config}}}, instance=instance
    )
    expired = removed = 0
    for event in result.all_events:
        if event.event_type_value == "ASSET_OBSERVATION":
            metadata = event.asset_observation_data.asset_observation.metadata
            expired += int(metadata["snapshots_expired"].value)  # type: ignore[arg-type]
            removed += int(metadata["files_removed"].value)  # type: ignore[arg-type]
    return {
        "upkeep_s": round(time.perf_counter() - started, 3),
        "upkeep_snapshots_expired": expired,
        "upkeep_files_removed": removed,
    }


def repeated(
    recon: Any,
    instance: dg.DagsterInstance,
    run_id: str,
    steps: Mapping[str, Any],
    tier: str,
    times: int,
) -> dict[str, Any]:
    """The tier's `steps` of run `run_id` run `times` more times, each a re-execution of that
    run (of its day) with the definitions' executor: each sample's tier figures and their
    medians."""
    selected = [key for key in steps if tier_of(key) == tier]
    if not selected:
        # Dagster reads an empty selection as the whole run.
        raise ValueError(f"run {run_id} has no step of the {tier!r} tier to run again")
    parent = instance.get_run_by_id(run_id)
    assert parent is not None
    samples: list[dict[str, float]] = []
    for _ in range(times):
        with sampled(psutil.Process()) as peaks:
            result = dg.execute_job(
                recon,
                instance,
                tags={PARTITION_TAG: parent.tags[PARTITION_TAG]},
                reexecution_options=dg.ReexecutionOptions(run_id, step_selection=selected),
            )
        if not result.success:
            failed = [e.step_key for e in result.get_step_failure_events()]
            raise RuntimeError(f"re-executing {tier} of run {run_id} failed in steps {failed}")
        totals = tier_totals(run_steps(instance, result.run_id, peaks))
        samples.append({k: v for k, v in totals.items() if k.startswith(f"{tier}_")})
    figures: dict[str, Any] = {f"{tier}_repeats": samples}
    for key in samples[0] if samples else ():
        figures[key.replace(f"{tier}_", f"{tier}_median_", 1)] = round(
            statistics.median(s[key] for s in samples), 3
        )
    return figures


def run(context: StageContext) -> dict[str, Any]:
    """Run the job for the stage's day; its steps' figures, by step and by tier."""
    job_name = str(context.params.get("job", JOB))
    definitions = str(context.params.get("definitions", defaults.DEFINITIONS))
    every = int(context.params.get("upkeep_every_days", 0))
    retention = int(context.params.get("retention_days", 7))
    processes_on = context.params.get("process_per_step_days")
    repeat_tier = str(context.params.get("repeat_tier", "consolidated"))
    repeats = int(context.params.get("repeats", 0))
    selected = context.params.get("assets")
    selection = [dg.AssetKey.from_user_string(k) for k in selected] if selected else None
    day = context.partition
    with dg.DagsterInstance.from_config(str(instance_home(context))) as instance:
        number = day_number(instance, job_name, day)
        in_processes = processes_on is None or number in processes_on
        recon = dg.build_reconstructable_job(
            dagster_stage.__name__,
            "job_of",
            reconstructable_args=(definitions, job_name),  # type: ignore[arg-type]
        )
        started = time.perf_counter()
        # Only a day with a process per step has a peak per step: in one process, every step's
        # would be the harness's own.
        with sampled(psutil.Process()) if in_processes else nullcontext(ProcessPeaks()) as peaks:
            if in_processes:
                result: Any = dg.execute_job(
                    recon,
                    instance,
                    tags={PARTITION_TAG: day.isoformat()},
                    asset_selection=selection,
                )
            else:
                result = dagster_stage.job_of(definitions, job_name).execute_in_process(
                    partition_key=day.isoformat(),
                    instance=instance,
                    raise_on_error=False,
                    asset_selection=selection,
                )
        run_s = round(time.perf_counter() - started, 3)
        if not result.success:
            failed = [e.step_key for e in result.get_step_failure_events()]
            raise RuntimeError(f"{job_name} {day} failed in steps {failed}; see the run's log")
        steps = run_steps(instance, result.run_id, peaks)
        metrics: dict[str, Any] = {
            "run_s": run_s,
            "day_number": number,
            "executor": "process per step" if in_processes else "in process",
        }
        metrics.update(tier_totals(steps))
        metrics["steps"] = steps
        if in_processes and repeats:
            metrics.update(repeated(recon, instance, result.run_id, steps, repeat_tier, repeats))
        if every and number % every == 0:
            scaled = upkeep_retention_days(instance, job_name, day, retention)
            defs = dagster_stage.load_definitions(definitions)
            metrics.update(run_upkeep(defs, instance, scaled))
    return metrics
