"""The daily schedule component's job around one partitioned probe, under `step_executor`: the
probe says which process ran it.

No `from __future__ import annotations`: Dagster reads the asset's annotations at definition.
"""

import os

import dagster as dg

from ai_core.location import step_executor
from ai_core.partitions import daily_partitions
from ai_core.schedule import DailyScheduleComponent

JOB_NAME = "probe_daily"


@dg.asset(key=["daily_steps", "probe"], partitions_def=daily_partitions("2026-01-01"))
def probe() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"step_pid": os.getpid()})


def defs(steps: str | None) -> dg.Definitions:
    yaml = f'job_name: {JOB_NAME}\nselection: "key:daily_steps/*"\nstart_date: "2026-01-01"\n'
    if steps:
        yaml += f"steps: {steps}\n"
    component = DailyScheduleComponent.resolve_from_yaml(yaml)
    return dg.Definitions.merge(
        component.build_defs(dg.ComponentTree.for_test().load_context),
        dg.Definitions(assets=[probe], executor=step_executor(preload_module=__name__)),
    )


def scheduled_run(steps: str | None, context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """The run the schedule asks the daemon for at `context`'s tick."""
    schedule = defs(steps).resolve_schedule_def(f"{JOB_NAME}_schedule")
    (request,) = schedule.evaluate_tick(context).run_requests or []
    return request


def in_process_job() -> dg.JobDefinition:
    return defs("in_process").resolve_job_def(JOB_NAME)
