"""Where the time of a `dagster asset materialize` stage went, read from its instance afterwards.

The stage's wall covers the CLI's start-up, loading the definitions, a process per step and the
steps' work; the run's own record splits them: `run_s` from the run's start to its end, and each
step's execution (`steps_s`) without its process's start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg


def run_timings(dagster_home: Path) -> dict[str, Any]:
    """The last run of the instance at `dagster_home`: its wall and each step's."""
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        records = instance.get_run_records(limit=1)
        if not records:
            raise LookupError(f"the Dagster instance at {dagster_home} holds no run")
        record = records[0]
        steps = {
            stat.step_key: round(stat.end_time - stat.start_time, 3)
            for stat in instance.get_run_step_stats(record.dagster_run.run_id)
            if stat.start_time is not None and stat.end_time is not None
        }
    run_s = None
    if record.start_time is not None and record.end_time is not None:
        run_s = round(record.end_time - record.start_time, 3)
    return {"run_s": run_s, "steps_s": steps, "steps_total_s": round(sum(steps.values()), 3)}
