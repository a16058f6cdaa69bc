"""The two Sentry sensors: failed asset checks from the event log, and failed runs.

Both are built per OEM, so one instance shared by several code locations (as in Dagster+) sends
each event once, tagged with the OEM that owns it: the check sensor keeps to asset keys under the
OEM's prefix, and a run failure sensor only sees runs of its own code location.
"""

from __future__ import annotations

import time

import dagster as dg

from ai_core.alerts.events import (
    PARTITION_TAG,
    AlertEvent,
    check_failure_event,
    run_failure_event,
)
from ai_core.alerts.executions import Evaluated, evaluated_since, oem_check_keys
from ai_core.alerts.resource import SentryResource

CHECK_SENSOR = "asset_check_sentry_sensor"
RUN_FAILURE_SENSOR = "run_failure_sentry_sensor"
EVENTS_PER_TICK = 100
INTERVAL_S = 60
# A sensor's first tick has no cursor: it looks back this far instead of over the whole log,
# so turning alerts on for an old instance does not replay months of failures.
FIRST_TICK_LOOKBACK_S = 24 * 3600


def _failed_check_events(
    evaluated: list[Evaluated], instance: dg.DagsterInstance, oem: str
) -> list[AlertEvent]:
    failed = [
        (e.evaluation, e.run_id) for e in evaluated if e.evaluation and not e.evaluation.passed
    ]
    run_ids = sorted({run_id for _, run_id in failed})
    partitions = (
        {
            run.run_id: run.tags.get(PARTITION_TAG)
            for run in instance.get_runs(filters=dg.RunsFilter(run_ids=run_ids))
        }
        if run_ids
        else {}
    )
    return [
        check_failure_event(
            evaluation,
            oem=oem,
            run_id=run_id,
            partition=evaluation.partition or partitions.get(run_id),
        )
        for evaluation, run_id in failed
    ]


def build_asset_check_sentry_sensor(oem: str) -> dg.SensorDefinition:
    """Every `INTERVAL_S`, sends the failed check evaluations of the OEM's assets logged since
    its cursor (a check-execution id), taking at most `EVENTS_PER_TICK` evaluations a tick."""

    @dg.sensor(
        name=CHECK_SENSOR,
        minimum_interval_seconds=INTERVAL_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Sends every failed asset check of {oem} to Sentry (WARN as warning, "
        "ERROR as error).",
    )
    def _sensor(context: dg.SensorEvaluationContext, sentry: SentryResource) -> dg.SkipReason:
        if sentry.resolved_dsn() is None:
            return dg.SkipReason("SENTRY_DSN is not set: failed checks are not sent to Sentry")
        if context.repository_def is None:
            raise dg.Failure(f"{CHECK_SENSOR} needs its code location's definitions")
        evaluated = evaluated_since(
            context.instance,
            oem_check_keys(context.repository_def, oem),
            after_id=int(context.cursor or 0),
            after_time=0.0 if context.cursor else time.time() - FIRST_TICK_LOOKBACK_S,
            limit=EVENTS_PER_TICK,
        )
        if not evaluated:
            return dg.SkipReason("no check evaluations since the last tick")
        events = _failed_check_events(evaluated, context.instance, oem)
        sentry.send(events)
        context.update_cursor(str(evaluated[-1].id))
        more = " (more wait for the next tick)" if len(evaluated) == EVENTS_PER_TICK else ""
        return dg.SkipReason(
            f"sent {len(events)} failed checks of {len(evaluated)} evaluations{more}"
        )

    return _sensor


def build_run_failure_sentry_sensor(oem: str) -> dg.SensorDefinition:
    """Sends each failed run of the code location, with its job, partition and error."""

    @dg.run_failure_sensor(
        name=RUN_FAILURE_SENSOR,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Sends every failed {oem} run to Sentry as an error.",
    )
    def _sensor(context: dg.RunFailureSensorContext, sentry: SentryResource) -> None:
        messages = [context.failure_event.message or "the run failed"]
        for step_event in context.get_step_failure_events():
            error = step_event.step_failure_data.error
            # Dagster wraps what the step raised; its innermost cause says what went wrong.
            while error is not None and error.cause is not None:
                error = error.cause
            if error is not None:
                messages.append(f"{step_event.step_key}: {error.message.strip()}")
        sentry.send([run_failure_event(context.dagster_run, messages, oem=oem)])

    return _sensor
