"""`DailyScheduleComponent`: a partitioned job over a selection of assets and its daily schedule."""

from __future__ import annotations

from typing import Literal

import dagster as dg

from ai_core.partitions import daily_partitions


class DailyScheduleComponent(dg.Component, dg.Model, dg.Resolvable):
    """Runs the day's partition of the selected assets once a day.

    The run starts at `hour_of_day:minute_of_hour` UTC, the partitions' timezone; the default,
    10:00 UTC, keeps runs out of US evening hours, when the public sites are twice as slow.
    """

    job_name: str
    selection: str
    description: str = ""
    start_date: str = "2026-01-01"
    hour_of_day: int = 10
    minute_of_hour: int = 0
    # The job exists to run unattended, so its schedule starts running on deploy; set STOPPED in
    # YAML (or stop it in the UI) to keep it from running.
    default_status: Literal["RUNNING", "STOPPED"] = "RUNNING"

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        job = dg.define_asset_job(
            name=self.job_name,
            selection=self.selection,
            partitions_def=daily_partitions(self.start_date),
            description=self.description or None,
        )
        schedule = dg.build_schedule_from_partitioned_job(
            job,
            name=f"{self.job_name}_schedule",
            hour_of_day=self.hour_of_day,
            minute_of_hour=self.minute_of_hour,
            default_status=dg.DefaultScheduleStatus[self.default_status],
        )
        return dg.Definitions(jobs=[job], schedules=[schedule])
