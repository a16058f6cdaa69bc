"""The two Sentry sensors: failed asset checks, and failed or canceled runs.

Both are built per OEM, so one instance shared by several code locations (as in Dagster+) sends
each event once, tagged with the OEM that owns it: the check sensor keeps to asset keys under the
OEM's prefix, and the run sensor only sees runs of its own code location.
"""

from __future__ import annotations

import time

import dagster as dg

from ai_core.alerts.events import (
    PARTITION_TAG,
    AlertEvent,
    check_failure_event,
    run_end_event,
    run_unfinished_event,
)
from ai_core.alerts.executions import (
    CheckCursor,
    Evaluated,
    Found,
    Overdue,
    find_evaluations,
    oem_check_keys,
)
from ai_core.alerts.resource import Delivery, SentryResource
from ai_core.alerts.run_ends import (
    RunEnds,
    in_sensors_location,
    read_cursor,
    retry_undecided,
    run_ends_since,
    what_went_wrong,
)

CHECK_SENSOR = "asset_check_sentry_sensor"
RUN_FAILURE_SENSOR = "run_failure_sentry_sensor"
EVENTS_PER_TICK = 100
INTERVAL_S = 60
# A sensor's first tick has no cursor: it looks back this far instead of over the whole log,
# so turning alerts on for an old instance does not replay months of failures.
FIRST_TICK_LOOKBACK_S = 24 * 3600


def _check_alerts(
    failed: list[Evaluated], overdue: list[Overdue], instance: dg.DagsterInstance, oem: str
) -> list[tuple[AlertEvent, list[int]]]:
    """The alert of each of `failed`, in order, then one of each run of `overdue`: each with
    the check executions it stands for."""
    run_ids = sorted({e.run_id for e in failed} | {o.run_id for o in overdue})
    runs = (
        {run.run_id: run for run in instance.get_runs(filters=dg.RunsFilter(run_ids=run_ids))}
        if run_ids
        else {}
    )
    alerts = [
        (
            check_failure_event(
                e.evaluation,
                oem=oem,
                run_id=e.run_id,
                execution_id=e.id,
                partition=e.evaluation.partition
                or (runs[e.run_id].tags.get(PARTITION_TAG) if e.run_id in runs else None),
            ),
            [e.id],
        )
        for e in failed
        if e.evaluation
    ]
    by_run: dict[str, list[Overdue]] = {}
    for o in overdue:
        by_run.setdefault(o.run_id, []).append(o)
    for run_id, checks in by_run.items():
        names = [o.key.to_user_string() for o in checks]
        ids = [o.id for o in checks]
        if run_id in runs:
            alerts.append((run_unfinished_event(runs[run_id], names, oem=oem), ids))
    return alerts


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _log_delivery(
    context: dg.SensorEvaluationContext, what: str, alerts: int, delivery: Delivery
) -> None:
    for refusal in delivery.refused:
        context.log.warning(f"{what}: Sentry refused an alert for good, passed: {refusal}")
    if delivery.delivered < alerts:
        context.log.warning(f"{what}: {_not_delivered(alerts, delivery)}")


def _not_delivered(sent: int, delivery: Delivery) -> str:
    """How many of `sent` alerts did not reach Sentry, and why."""
    missed = _count(sent - delivery.delivered, "alert")
    return f"{missed} not delivered ({delivery.failure}), sent again on the next tick"


def _sent(alerts: int, noun: str, delivery: Delivery, among: str = "") -> list[str]:
    """How many of `alerts` alerts were sent; when not all, why the rest were not; and how many
    Sentry refused for good."""
    if delivery.delivered == alerts:
        parts = [f"sent {_count(alerts, noun)}{among}"]
    else:
        parts = [
            f"sent {delivery.delivered} of {_count(alerts, noun)}{among}",
            _not_delivered(alerts, delivery),
        ]
    if delivery.refused:
        parts.append(f"Sentry refused {len(delivery.refused)} of them for good")
    return parts


def _checks_summary(found: Found, alerts: int, delivery: Delivery) -> str:
    """What a tick of the check sensor did, for its skip message."""
    evaluations = _count(len(found.evaluated), "evaluation")
    parts = (
        _sent(alerts, "alert", delivery, f" for {evaluations}")
        if found.evaluated or found.overdue
        else ["no check evaluations since the last tick"]
    )
    if found.waiting:
        parts.append(
            f"waiting on runs not finished yet: {_count(len(found.waiting), 'planned check')}"
        )
    if found.overdue:
        parts.append(
            f"{_count(len(found.overdue), 'planned check')} of runs left unfinished, alerted as "
            "unfinished"
        )
    more = " (more wait for the next tick)" if found.unread is not None else ""
    return "; ".join(parts) + more


def build_asset_check_sentry_sensor(oem: str) -> dg.SensorDefinition:
    """Every `INTERVAL_S`, sends the failed check evaluations of the OEM's assets not sent yet,
    taking at most `EVENTS_PER_TICK` evaluations a tick. Its cursor is a `CheckCursor`; an
    evaluation whose alert Sentry did not accept is taken again on the next tick."""

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
        failed = [e for e in found.evaluated if e.evaluation and not e.evaluation.passed]
        alerts = _check_alerts(failed, found.overdue, context.instance, oem)
        delivery = sentry.send([event for event, _ in alerts])
        _log_delivery(context, "failed checks", len(alerts), delivery)
        undelivered = {i for _, ids in alerts[delivery.delivered :] for i in ids}
        overdue = [o.id for o in found.overdue]
        handled = [
            i for i in [e.id for e in found.evaluated] + overdue if i not in undelivered
        ] + found.passed_over
        pending = [*found.waiting, *undelivered, *([] if found.unread is None else [found.unread])]
        if cursor is not None or handled or pending:
            advanced = (cursor or CheckCursor()).advance(handled, pending, found.highest)
            context.update_cursor(advanced.model_dump_json())
        return dg.SkipReason(_checks_summary(found, len(alerts), delivery))

    return _sensor


def _runs_summary(found: RunEnds, alerts: int, delivery: Delivery, undecided: int) -> str:
    """What a tick of the run failure sensor did, for its skip message."""
    parts = (
        _sent(alerts, "failed or canceled run", delivery)
        if alerts
        else ["no failed or canceled runs of the code location since the last tick"]
    )
    if undecided:
        parts.append(f"{_count(undecided, 'failed run')} waiting for Dagster to decide its retry")
    more = " (more wait for the next tick)" if found.more or undecided else ""
    return "; ".join(parts) + more


def build_run_failure_sentry_sensor(oem: str) -> dg.SensorDefinition:
    """Every `INTERVAL_S`, sends each failed or canceled run of the code location, with its job,
    partition and what went wrong, taking at most `EVENTS_PER_TICK` a tick. Its cursor is the
    storage id of the last run status change handled; a run whose alert Sentry did not accept
    is taken again on the next tick, which Dagster's own run failure sensor, moving past a run
    whatever its function did, could not do."""

    @dg.sensor(
        name=RUN_FAILURE_SENSOR,
        minimum_interval_seconds=INTERVAL_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Sends every failed or canceled {oem} run to Sentry (a failure as error; "
        "a cancellation, or a failure Dagster retries, as warning).",
    )
    def _sensor(context: dg.SensorEvaluationContext, sentry: SentryResource) -> dg.SkipReason:
        if sentry.resolved_dsn() is None:
            return dg.SkipReason(
                "SENTRY_DSN is not set: failed and canceled runs are not sent to Sentry"
            )
        after_id = read_cursor(context.cursor)
        found = run_ends_since(
            context.instance,
            after_id=after_id,
            after_time=None if after_id is not None else time.time() - FIRST_TICK_LOOKBACK_S,
            limit=EVENTS_PER_TICK,
        )
        ours = [end for end in found.ends if in_sensors_location(context, end.run)]
        now = time.time()
        undecided = [end for end in ours if retry_undecided(context.instance, end, now)]
        if undecided:
            ours = [end for end in ours if end.storage_id < undecided[0].storage_id]
        delivery = sentry.send(
            [
                run_end_event(
                    end.run,
                    what_went_wrong(context.instance, end),
                    canceled=end.canceled,
                    oem=oem,
                )
                for end in ours
            ]
        )
        _log_delivery(context, "failed or canceled runs", len(ours), delivery)
        # The cursor stops before the first run whose alert was not delivered, or whose retry
        # Dagster has yet to decide.
        stops = [end.storage_id for end in ours[delivery.delivered :] + undecided[:1]]
        handled = [i for i in found.ids if not stops or i < stops[0]]
        if handled:
            context.update_cursor(str(handled[-1]))
        return dg.SkipReason(_runs_summary(found, len(ours), delivery, len(undecided)))

    return _sensor
