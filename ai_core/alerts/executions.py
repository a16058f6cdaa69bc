"""The check evaluations a tick of the check sensor handles, read from check-execution records.

Their ids are one sequence across the whole instance on every storage, where event storage ids
are not: the default SQLite storage numbers each run's events on their own. An execution is
recorded when its run is created (planned) and completed when its check is evaluated. One still
planned in a run that has not finished waits, without holding back the executions after it; one
left planned by a run that had ended when the tick began is passed over, and one of a run
started more than `HOLD_S` ago (or created more than `STALE_S` ago) and not finished is
overdue: the sensor alerts that run once, and a check it evaluates later is not sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
from pydantic import BaseModel

PLANNED = "PLANNED"
# A run still unfinished a day after it started was most likely killed or lost (its status stays
# STARTED when its process dies without run monitoring), so its checks will never be evaluated.
HOLD_S = 24 * 3600
# Any unfinished run a week after its creation, whatever its status: one stuck starting or
# canceling, or never launched, would otherwise keep every later check id in the cursor.
STALE_S = 7 * 24 * 3600


class CheckCursor(BaseModel):
    """Every execution id up to `after` is handled, and so is each id in `done`."""

    after: int = 0
    done: list[int] = []

    @classmethod
    def parse(cls, text: str | None) -> CheckCursor | None:
        """The cursor stored by a tick, or None before the first; a plain id (the cursor of
        earlier versions, which handled every id up to it) reads as `after`."""
        if not text:
            return None
        if text.strip().isdigit():
            return cls(after=int(text))
        return cls.model_validate_json(text)

    def advance(self, handled: Iterable[int], pending: Iterable[int], highest: int) -> CheckCursor:
        """The cursor once `handled` are, with `pending` left for a later tick."""
        done = set(self.done).union(handled)
        waiting = set(pending)
        after = min(waiting) - 1 if waiting else max(self.after, highest, *done)
        return CheckCursor(after=after, done=sorted(i for i in done if i > after))


@dataclass(frozen=True)
class Evaluated:
    """One completed execution: its id, run and evaluation."""

    id: int
    run_id: str
    evaluation: dg.AssetCheckEvaluation | None


@dataclass(frozen=True)
class Overdue:
    """A check still planned by a run started more than `HOLD_S` ago, or created more than
    `STALE_S` ago, and not finished."""

    id: int
    run_id: str
    key: dg.AssetCheckKey


@dataclass(frozen=True)
class Found:
    """What a tick found above its cursor: the evaluations to handle, in id order."""

    evaluated: list[Evaluated]
    # Planned in a run that ended without evaluating them.
    passed_over: list[int]
    # Planned in a run unfinished past HOLD_S or STALE_S, apart from `passed_over`.
    overdue: list[Overdue]
    # Planned in runs not finished yet (queued or going).
    waiting: list[int]
    # The first id left unread because `evaluated` is full, if any.
    unread: int | None
    highest: int


def oem_check_keys(repository: dg.RepositoryDefinition, oem: str) -> list[dg.AssetCheckKey]:
    """Every check of the code location on an asset whose key starts with `oem`."""
    keys = set(repository.asset_checks_defs_by_key)
    for assets_def in repository.assets_defs_by_key.values():
        keys.update(spec.key for spec in assets_def.check_specs)
    return sorted((k for k in keys if k.asset_key.path[:1] == [oem]), key=str)


def _since(
    instance: dg.DagsterInstance, key: dg.AssetCheckKey, after_id: int, after_time: float, page: int
) -> list[Any]:
    """Executions of `key` newer than both bounds, paging back from the newest."""
    found: list[Any] = []
    before: int | None = None
    while True:
        records = instance.event_log_storage.get_asset_check_execution_history(
            key, limit=page, cursor=before
        )
        fresh = [r for r in records if r.id > after_id and r.create_timestamp >= after_time]
        found.extend(fresh)
        if len(fresh) < len(records) or len(records) < page:
            return found
        before = records[-1].id


def _evaluation(record: Any) -> dg.AssetCheckEvaluation | None:
    dagster_event = record.event.dagster_event if record.event else None
    data = dagster_event.event_specific_data if dagster_event else None
    return data if isinstance(data, dg.AssetCheckEvaluation) else None


def _ended_before(run: Any, now: float) -> bool:
    """Whether the run (a `RunRecord`, or None once deleted) had ended before `now`, when the
    tick began reading: then a check it left planned will never be evaluated. One that ended
    since may have evaluated it after the read, so it waits for the next tick."""
    if run is None:
        return True
    if not run.dagster_run.is_finished:
        return False
    return run.end_time is None or run.end_time < now


def _running_since(run: Any, now: float) -> float:
    """Seconds the run has been started and unfinished; 0 while it waits to start (a backfill's
    queued runs may wait days, their checks still to come)."""
    if run is None or run.dagster_run.status != dg.DagsterRunStatus.STARTED:
        return 0.0
    return now - run.start_time if run.start_time is not None else 0.0


def find_evaluations(
    instance: dg.DagsterInstance,
    keys: Sequence[dg.AssetCheckKey],
    cursor: CheckCursor,
    *,
    after_time: float,
    now: float,
    limit: int,
) -> Found:
    """Up to `limit` completed executions above `cursor` and not yet done, oldest first, with
    the planned ones passed over or waiting among them."""
    records = sorted(
        (r for key in keys for r in _since(instance, key, cursor.after, after_time, limit)),
        key=lambda r: r.id,
    )
    done = set(cursor.done)
    runs: dict[str, Any] = {}
    evaluated: list[Evaluated] = []
    passed_over: list[int] = []
    overdue: list[Overdue] = []
    waiting: list[int] = []
    unread: int | None = None
    for record in records:
        if record.id in done:
            continue
        if record.status.value != PLANNED:
            if len(evaluated) == limit:
                unread = record.id
                break
            evaluated.append(Evaluated(record.id, record.run_id, _evaluation(record)))
            continue
        if record.run_id not in runs:
            runs[record.run_id] = instance.get_run_record_by_id(record.run_id)
        run = runs[record.run_id]
        if _ended_before(run, now):
            passed_over.append(record.id)
        elif _running_since(run, now) > HOLD_S or now - record.create_timestamp > STALE_S:
            overdue.append(Overdue(record.id, record.run_id, record.key))
        else:
            waiting.append(record.id)
    highest = max((r.id for r in records), default=cursor.after)
    return Found(evaluated, passed_over, overdue, waiting, unread, highest)
