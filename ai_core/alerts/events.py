"""Alert events: what a failed check, or a failed or canceled run, tells Sentry, secrets
removed."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import dagster as dg

from ai_core.alerts.scrub import scrub_text, scrub_value

if TYPE_CHECKING:
    from sentry_sdk.types import Event

PARTITION_TAG = "dagster/partition"
# Set on a failed run, when the instance retries runs, to whether Dagster will retry it.
WILL_RETRY_TAG = "dagster/will_retry"
Level = Literal["warning", "error"]
# Sentry keeps one event per id, so an event sent again after a failed tick is not a second one.
EVENT_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://ai-core/alerts")


def event_id(*identity: str) -> str:
    """The Sentry event id of the alert about `identity`, the same on every tick."""
    return uuid.uuid5(EVENT_ID_NAMESPACE, "\n".join(identity)).hex


@dataclass(frozen=True)
class AlertEvent:
    """One Sentry event: a message at a level, searchable tags and detailed extra."""

    event_id: str
    message: str
    level: Level
    tags: dict[str, str]
    extra: dict[str, Any] = field(default_factory=dict)
    fingerprint: list[str] = field(default_factory=list)

    def as_sentry(self) -> Event:
        event: Event = {
            "event_id": self.event_id,
            "message": self.message,
            "level": self.level,
            "logger": "dagster",
            "tags": self.tags,
            "extra": self.extra,
        }
        if self.fingerprint:
            event["fingerprint"] = self.fingerprint
        return event


def metadata_values(metadata: Mapping[str, dg.MetadataValue]) -> dict[str, Any]:
    """Check metadata as plain values (markdown samples as their text), secrets redacted."""
    return {
        name: scrub_value(name, value.value if isinstance(value, dg.MetadataValue) else value)
        for name, value in metadata.items()
    }


def check_failure_event(
    evaluation: dg.AssetCheckEvaluation,
    *,
    oem: str,
    run_id: str,
    execution_id: int,
    partition: str | None,
) -> AlertEvent:
    """A failed check: `warning` for a WARN check, `error` for an ERROR one."""
    severity = evaluation.severity.value
    level: Level = "warning" if evaluation.severity == dg.AssetCheckSeverity.WARN else "error"
    asset = evaluation.asset_key.to_user_string()
    extra: dict[str, Any] = {
        "asset_key": asset,
        "run_id": run_id,
        "partition_date": partition,
        **metadata_values(evaluation.metadata),
    }
    if evaluation.description:
        extra["description"] = scrub_text(evaluation.description)
    return AlertEvent(
        event_id=event_id(run_id, evaluation.asset_check_key.to_user_string(), str(execution_id)),
        message=f"Dagster asset check failure: {evaluation.check_name} on {asset} ({severity})",
        level=level,
        tags={
            "oem": oem,
            "check_name": evaluation.check_name,
            "severity": severity,
            "partition_date": partition or "",
        },
        extra=extra,
        fingerprint=["dagster-asset-check", asset, evaluation.check_name],
    )


def run_end_event(
    run: dg.DagsterRun, messages: Sequence[str], *, canceled: bool, oem: str
) -> AlertEvent:
    """A failed or canceled run with its job, partition and what went wrong, the most telling
    message last: `error` for a failure, `warning` for a cancellation or a failure that Dagster
    retries. Each kind is an issue of its own in Sentry, so a retried failure does not stand
    for the final one."""
    status = dg.DagsterRunStatus.CANCELED if canceled else dg.DagsterRunStatus.FAILURE
    retried = not canceled and run.tags.get(WILL_RETRY_TAG) == "true"
    level: Level = "warning" if canceled or retried else "error"
    if canceled:
        title, kind = "Dagster run canceled", "dagster-run-canceled"
    elif retried:
        title, kind = "Dagster run failure (Dagster retries it)", "dagster-run-retried"
    else:
        title, kind = "Dagster run failure", "dagster-run-failure"
    headline = scrub_text(messages[-1].splitlines()[0]) if messages else status.value.lower()
    return _run_event(
        run,
        oem=oem,
        identity=status.value,
        title=title,
        detail=headline,
        level=level,
        kind=kind,
        status=status,
        error=scrub_text("\n".join(messages)),
    )


def run_unfinished_event(run: dg.DagsterRun, checks: Sequence[str], *, oem: str) -> AlertEvent:
    """A run left unfinished for longer than a run takes (started a day ago, or created a week
    ago), whose `checks` were never evaluated: most likely killed or stuck without Dagster
    knowing, so no failure will be sent."""
    state = "ended" if run.is_finished else "still"
    return _run_event(
        run,
        oem=oem,
        identity="unfinished",
        title="Dagster run unfinished",
        detail=f"{state} {run.status.value}, {len(checks)} checks never evaluated",
        level="warning",
        kind="dagster-run-unfinished",
        status=run.status,
        checks=list(checks),
    )


def _run_event(
    run: dg.DagsterRun,
    *,
    oem: str,
    identity: str,
    title: str,
    detail: str,
    level: Level,
    kind: str,
    status: dg.DagsterRunStatus,
    **extra: Any,
) -> AlertEvent:
    """An alert about `run`, `<title>: <job> (<partition>): <detail>`, tagged with its job and
    partition, an issue per `kind` and job, its id the same for the same `identity`."""
    partition = run.tags.get(PARTITION_TAG)
    return AlertEvent(
        event_id=event_id(run.run_id, identity),
        message=f"{title}: {run.job_name} ({partition or 'unpartitioned'}): {detail}",
        level=level,
        tags={"oem": oem, "job_name": run.job_name, "partition_date": partition or ""},
        extra={
            "run_id": run.run_id,
            "job_name": run.job_name,
            "partition_date": partition,
            "run_status": status.value,
            **extra,
        },
        fingerprint=[kind, run.job_name],
    )
