"""The runs that failed or were canceled since a cursor, read from the instance's run status
changes, and what their events say went wrong.

Their storage ids are one sequence across the instance on every storage (the default SQLite
storage keeps these changes in its index shard), so one id is the run failure sensor's cursor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal, Protocol

import dagster as dg

from ai_core.alerts.events import WILL_RETRY_TAG

EndEvent = Literal[dg.DagsterEventType.RUN_FAILURE, dg.DagsterEventType.RUN_CANCELED]
END_EVENTS: tuple[EndEvent, ...] = (
    dg.DagsterEventType.RUN_FAILURE,
    dg.DagsterEventType.RUN_CANCELED,
)


class Error(Protocol):
    """The parts of an error Dagster logged that an alert reads."""

    @property
    def message(self) -> str: ...

    @property
    def cause(self) -> Error | None: ...


@dataclass(frozen=True)
class RunEnd:
    """A run's end: its status change's storage id, the run and the event."""

    storage_id: int
    run: dg.DagsterRun
    event: dg.DagsterEvent
    timestamp: float

    @property
    def canceled(self) -> bool:
        return self.event.event_type == dg.DagsterEventType.RUN_CANCELED


@dataclass(frozen=True)
class RunEnds:
    """What a tick found after its cursor: the storage ids of the status changes read, in
    order, and the ends among them whose run still exists; `more` when some were left."""

    ids: list[int]
    ends: list[RunEnd]
    more: bool


def read_cursor(text: str | None) -> int | None:
    """The storage id a tick stopped at, or None before the first. Dagster's run failure
    sensor, which earlier versions were, left JSON holding it as `record_id`."""
    if not text:
        return None
    if text.strip().lstrip("-").isdigit():
        return int(text)
    return int(json.loads(text)["record_id"])


def run_ends_since(
    instance: dg.DagsterInstance, after_id: int | None, after_time: float | None, limit: int
) -> RunEnds:
    """Up to `limit` run ends after `after_id` (or, with no id, after `after_time`)."""
    found = [
        instance.fetch_run_status_changes(
            records_filter=dg.RunStatusChangeRecordsFilter(
                event_type=event_type, after_storage_id=after_id, after_timestamp=after_time
            ),
            ascending=True,
            limit=limit,
        ).records
        for event_type in END_EVENTS
    ]
    # A list cut at `limit` goes on past its last id, where the other lists' records would be
    # taken before ones of its own that precede them.
    full = [records[-1].storage_id for records in found if len(records) == limit]
    bound = min(full, default=None)
    records = sorted(
        (r for records in found for r in records if bound is None or r.storage_id <= bound),
        key=lambda r: r.storage_id,
    )
    runs = (
        {
            run.run_id: run
            for run in instance.get_runs(
                filters=dg.RunsFilter(run_ids=sorted({r.run_id for r in records}))
            )
        }
        if records
        else {}
    )
    kept = records[:limit]
    ends = [
        RunEnd(
            r.storage_id,
            runs[r.run_id],
            r.event_log_entry.get_dagster_event(),
            r.event_log_entry.timestamp,
        )
        for r in kept
        if r.run_id in runs
    ]
    return RunEnds([r.storage_id for r in kept], ends, more=bool(full) or len(records) > limit)


def in_sensors_location(context: dg.SensorEvaluationContext, run: dg.DagsterRun) -> bool:
    """Whether `run` belongs to the code location and repository of the sensor evaluating, as
    Dagster's run status sensors decide (a run and a sensor outside any location match)."""
    location = context.code_location_origin.location_name if context.code_location_origin else None
    origin = run.remote_job_origin.repository_origin if run.remote_job_origin else None
    return (location, context.repository_name) == (
        origin.code_location_origin.location_name if origin else None,
        origin.repository_name if origin else None,
    )


def _innermost(error: Error | None) -> str | None:
    """What went wrong, under the errors Dagster wraps it in."""
    while error is not None and error.cause is not None:
        error = error.cause
    return error.message.strip() if error is not None else None


def _events(
    instance: dg.DagsterInstance, run_id: str, of_type: dg.DagsterEventType
) -> list[dg.DagsterEvent]:
    return [entry.get_dagster_event() for entry in instance.all_logs(run_id, of_type=of_type)]


def what_went_wrong(instance: dg.DagsterInstance, end: RunEnd) -> list[str]:
    """What a run's events say went wrong, the most telling last: for a failure, the failure's
    message, the cause of the run's error, then each failed step's; for a cancellation, why
    it was asked for (an operator, the queue, a run monitor's max_runtime), then the message
    of its cancellation."""
    run_id = end.run.run_id
    if end.canceled:
        asked = _events(instance, run_id, dg.DagsterEventType.RUN_CANCELING)
        return [e.message for e in asked if e.message] + [end.event.message or "canceled"]
    step_causes = {
        event.step_key: cause
        for event in _events(instance, run_id, dg.DagsterEventType.STEP_FAILURE)
        if (cause := _innermost(event.step_failure_data.error))
    }
    failure = end.event.job_failure_data
    cause = _innermost(failure.error if failure else None)
    messages = [end.event.message or "the run failed"]
    # A run that failed in a step carries that step's error as its own: it is said once.
    if cause is not None and cause not in step_causes.values():
        messages.append(cause)
    messages.extend(f"{step}: {step_cause}" for step, step_cause in step_causes.items())
    return messages


RETRY_DECISION_S = 300.0
"""How long a failure is waited on for Dagster to tag whether it retries the run: it tags it
right after storing the failure, so only a process that died in between leaves it untagged."""


def retry_undecided(instance: dg.DagsterInstance, end: RunEnd, now: float) -> bool:
    """Whether `end` is a failure Dagster has not yet said it retries or not, on an instance
    that retries runs: sent now, a failure to be retried would read as final."""
    return (
        not end.canceled
        and instance.run_retries_enabled
        and WILL_RETRY_TAG not in end.run.tags
        and now - end.timestamp < RETRY_DECISION_S
    )
