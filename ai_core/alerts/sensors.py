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
from ai_core.alerts.executions import (
    HOLD_S,
    CheckCursor,
    Evaluated,
    Found,
    find_evaluations,
    oem_check_keys,
)
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


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _checks_summary(found: Found, failed: int) -> str:
    """What a tick of the check sensor did, for its skip message."""
    if found.evaluated:
        parts = [
            f"sent {_count(failed, 'failed check')} of {_count(len(found.evaluated), 'evaluation')}"
        ]
    else:
        parts = ["no check evaluations since the last tick"]
    if found.waiting:
        parts.append(
            f"waiting on runs not finished yet: {_count(len(found.waiting), 'planned check')}"
        )
    if found.overdue:
        parts.append(
            f"passed over {_count(len(found.overdue), 'planned check')} of runs unfinished after "
            f"{HOLD_S // 3600} hours"
        )
    more = " (more wait for the next tick)" if found.unread is not None else ""
    return "; ".join(parts) + more


def build_asset_check_sentry_sensor(oem: str) -> dg.SensorDefinition:
    """Every `INTERVAL_S`, sends the failed check evaluations of the OEM's assets not sent yet,
    taking at most `EVENTS_PER_TICK` evaluations a tick. Its cursor is a `CheckCursor`."""

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
        now = time.time()
        cursor = CheckCursor.parse(context.cursor)
        found = find_evaluations(
            context.instance,
            oem_check_keys(context.repository_def, oem),
            cursor or CheckCursor(),
            after_time=0.0 if cursor else now - FIRST_TICK_LOOKBACK_S,
            now=now,
            limit=EVENTS_PER_TICK,
        )
        if found.overdue:
            context.log.warning(
                f"passed over check executions {found.overdue}: their runs are unfinished "
                f"{HOLD_S // 3600} hours after planning them"
            )
        events = _failed_check_events(found.evaluated, context.instance, oem)
        sentry.send(events)
        pending = [*found.waiting, *([] if found.unread is None else [found.unread])]
        handled = [e.id for e in found.evaluated] + found.passed_over
        if cursor is not None or handled or pending:
            advanced = (cursor or CheckCursor()).advance(handled, pending, found.highest)
            context.update_cursor(advanced.model_dump_json())
        return dg.SkipReason(_checks_summary(found, len(events)))

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
