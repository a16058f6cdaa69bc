"""The check evaluations logged since a cursor, read from the instance's check-execution records.

Their ids are one sequence across the whole instance on every storage, where event storage ids
are not: the default SQLite storage numbers each run's events on their own. An execution is
recorded when its check is planned and completed when it is evaluated, so a tick stops before the
first execution still planned in a run that is running; one that stays planned because its run
ended is passed over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

PLANNED = "PLANNED"


@dataclass(frozen=True)
class Evaluated:
    """One completed execution: its id (the cursor), run and evaluation."""

    id: int
    run_id: str
    evaluation: dg.AssetCheckEvaluation | None


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


def evaluated_since(
    instance: dg.DagsterInstance,
    keys: Sequence[dg.AssetCheckKey],
    after_id: int,
    after_time: float,
    limit: int,
) -> list[Evaluated]:
    """Up to `limit` completed executions after `after_id`, oldest first."""
    pending = sorted(
        (r for key in keys for r in _since(instance, key, after_id, after_time, limit)),
        key=lambda r: r.id,
    )
    finished: dict[str, bool] = {}
    out: list[Evaluated] = []
    for record in pending:
        if len(out) == limit:
            break
        if record.status.value == PLANNED:
            if record.run_id not in finished:
                run = instance.get_run_by_id(record.run_id)
                finished[record.run_id] = run is None or run.is_finished
            if not finished[record.run_id]:
                break
        out.append(Evaluated(record.id, record.run_id, _evaluation(record)))
    return out
