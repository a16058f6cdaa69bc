"""`DailyScheduleComponent`: a partitioned job over a selection of assets, its daily schedule, and
freshness checks on the assets that must land each day."""

from __future__ import annotations

from typing import Literal

import dagster as dg
from pydantic import Field

from ai_core.partitions import daily_partitions

DEFAULT_FRESHNESS_HOURS = 6.0


class FreshnessRule(dg.Model, dg.Resolvable):
    """Each of `assets` must hold today's partition `hours_after` the schedule's start, or its
    freshness check fails (at ERROR). The deadline must fall on the same UTC day as the start:
    after midnight, 'today' is already the next day's partition."""

    assets: list[str]
    hours_after: float = Field(default=DEFAULT_FRESHNESS_HOURS, gt=0)


class DailyScheduleComponent(dg.Component, dg.Model, dg.Resolvable):
    """Runs the day's partition of the selected assets once a day.

    The run starts at `hour_of_day:minute_of_hour` UTC, the partitions' timezone; the default,
    10:00 UTC, keeps runs out of US evening hours, when the public sites are twice as slow.
    """

    job_name: str
    selection: str
    description: str = ""
    start_date: str
    """The first daily partition (YYYY-MM-DD)."""
    hour_of_day: int = Field(default=10, ge=0, le=23)
    minute_of_hour: int = Field(default=0, ge=0, le=59)
    # The job exists to run unattended, so its schedule starts running on deploy; set STOPPED in
    # YAML (or stop it in the UI) to keep it from running.
    default_status: Literal["RUNNING", "STOPPED"] = "RUNNING"
    freshness: FreshnessRule | None = None
    run_retries: int = Field(default=1, ge=0)
    """Whole-run retries from the failed steps, where the instance enables run retries."""
    steps: Literal["forked", "in_process"] | None = None
    """Where the job's steps run, under the location's `ai_core.location.step_executor`:
    `forked`, each step in its own process, side by side, as a national day needs; `in_process`,
    every step in the run's process, one after another, which a small scope's day finishes
    sooner. Unset, the executor's default (`forked`). A run's own config still overrides it."""

    def freshness_deadline_cron(self) -> str:
        """The daily cron of the freshness deadline, `freshness.hours_after` past the start."""
        assert self.freshness is not None
        minutes = (
            self.hour_of_day * 60 + self.minute_of_hour + round(self.freshness.hours_after * 60)
        )
        if minutes >= 24 * 60:
            raise ValueError(
                f"{self.job_name}: freshness.hours_after {self.freshness.hours_after} puts the "
                "deadline past midnight UTC, when today's partition is already the next day's; "
                "start the schedule earlier or lower hours_after"
            )
        return f"{minutes % 60} {minutes // 60} * * *"

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        checks = (
            dg.build_time_partition_freshness_checks(
                assets=[dg.AssetKey.from_user_string(k) for k in self.freshness.assets],
                deadline_cron=self.freshness_deadline_cron(),
                timezone="UTC",
                severity=dg.AssetCheckSeverity.ERROR,
            )
            if self.freshness
            else []
        )
        # Freshness is about today, whatever partition a run writes: its checks run from their
        # sensor, never inside the job (a backfill of an old day would fail them).
        job = dg.define_asset_job(
            name=self.job_name,
            selection=dg.AssetSelection.from_string(self.selection)
            - dg.AssetSelection.checks(*checks),
            partitions_def=daily_partitions(self.start_date),
            description=self.description or None,
            config={"execution": {"config": {"steps": self.steps}}} if self.steps else None,
            tags={
                "dagster/max_retries": str(self.run_retries),
                "dagster/retry_strategy": "FROM_FAILURE",
            },
        )
        schedule = dg.build_schedule_from_partitioned_job(
            job,
            name=f"{self.job_name}_schedule",
            hour_of_day=self.hour_of_day,
            minute_of_hour=self.minute_of_hour,
            default_status=dg.DefaultScheduleStatus[self.default_status],
        )
        if not checks:
            return dg.Definitions(jobs=[job], schedules=[schedule])
        sensor = dg.build_sensor_for_freshness_checks(
            freshness_checks=checks,
            name=f"{self.job_name}_freshness_sensor",
            default_status=dg.DefaultSensorStatus.RUNNING,
        )
        return dg.Definitions(
            jobs=[job], schedules=[schedule], asset_checks=checks, sensors=[sensor]
        )
