"""`DailyScheduleComponent`: the schedule runs by default, and freshness checks fail while today's
partition is missing after the deadline and pass once it lands."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator

import dagster as dg
import pydantic
import pytest
import time_machine

from ai_core.partitions import daily_partitions
from ai_core.schedule import DailyScheduleComponent
from tests.ai_core import daily_steps_job

KEY = dg.AssetKey(["acme", "raw", "listings"])


@dg.asset(key=KEY, partitions_def=daily_partitions("2026-01-01"))
def listings() -> None:
    return None


def component(yaml: str) -> DailyScheduleComponent:
    return DailyScheduleComponent.resolve_from_yaml(yaml)


def defs_of(c: DailyScheduleComponent) -> dg.Definitions:
    built = c.build_defs(dg.ComponentTree.for_test().load_context)
    return dg.Definitions.merge(
        built,
        dg.Definitions(
            assets=[listings],
            jobs=[dg.define_asset_job("freshness", selection=dg.AssetSelection.all_asset_checks())],
        ),
    )


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def yaml_for(start: dt.datetime, hours_after: float) -> str:
    return f"""
job_name: acme_daily
selection: "key:acme/*"
start_date: "2026-01-01"
hour_of_day: {start.hour}
minute_of_hour: {start.minute}
freshness:
  hours_after: {hours_after}
  assets: [acme/raw/listings]
"""


def freshness(defs: dg.Definitions, instance: dg.DagsterInstance) -> dg.AssetCheckEvaluation:
    result = defs.resolve_job_def("freshness").execute_in_process(instance=instance)
    (evaluation,) = result.get_asset_check_evaluations()
    return evaluation


def test_the_schedule_runs_by_default_and_the_freshness_sensor_too() -> None:
    defs = defs_of(component(yaml_for(dt.datetime(2026, 1, 1, 10, 0), 6)))
    schedule = defs.resolve_schedule_def("acme_daily_schedule")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.cron_schedule == "0 10 * * *"
    sensor = defs.resolve_sensor_def("acme_daily_freshness_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    stopped = component(yaml_for(dt.datetime(2026, 1, 1, 10, 0), 6) + "default_status: STOPPED\n")
    assert defs_of(stopped).resolve_schedule_def("acme_daily_schedule").default_status == (
        dg.DefaultScheduleStatus.STOPPED
    )
    assert component(yaml_for(dt.datetime(2026, 1, 1, 10, 30), 6)).freshness_deadline_cron() == (
        "30 16 * * *"
    )


def test_a_deadline_past_midnight_is_refused_with_the_remedy() -> None:
    with pytest.raises(ValueError, match=r"past midnight UTC.*lower hours_after"):
        defs_of(component(yaml_for(dt.datetime(2026, 1, 1, 20, 0), 6)))


NOON = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
"""The checks' clock in these tests, so they hold at any hour: the wall clock moved there, and
ticking on from it (the runs inside need time to pass)."""


def test_today_missing_after_the_deadline_fails_until_it_lands(
    instance: dg.DagsterInstance,
) -> None:
    defs = defs_of(component(yaml_for(NOON - dt.timedelta(hours=1, minutes=3), 1)))
    today = NOON.date().isoformat()
    with time_machine.travel(NOON, tick=True):
        missing = freshness(defs, instance)
        assert not missing.passed
        assert missing.severity == dg.AssetCheckSeverity.ERROR
        assert today in (missing.description or "")

        yesterday = (NOON.date() - dt.timedelta(days=1)).isoformat()
        dg.materialize([listings], partition_key=yesterday, instance=instance)
        assert not freshness(defs, instance).passed  # yesterday does not count for today

        dg.materialize([listings], partition_key=today, instance=instance)
        assert freshness(defs, instance).passed


def test_before_the_deadline_yesterday_is_what_must_be_there(
    instance: dg.DagsterInstance,
) -> None:
    defs = defs_of(component(yaml_for(NOON + dt.timedelta(minutes=30), 1)))
    yesterday = (NOON.date() - dt.timedelta(days=1)).isoformat()
    with time_machine.travel(NOON, tick=True):
        assert not freshness(defs, instance).passed  # nothing yet, not even yesterday
        dg.materialize([listings], partition_key=yesterday, instance=instance)
        assert freshness(defs, instance).passed


def test_a_scheduled_run_runs_its_steps_where_the_yaml_says(
    instance: dg.DagsterInstance,
) -> None:
    # The run the daemon launches for a tick: the schedule's request, with its config and tags.
    tick = dt.datetime(2026, 1, 3, 10, 0, tzinfo=dt.UTC)
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
    request = daily_steps_job.scheduled_run("in_process", context)
    result = dg.execute_job(
        dg.reconstructable(daily_steps_job.in_process_job),
        instance,
        run_config=request.run_config,
        tags=request.tags,
    )
    assert result.success
    (event,) = result.get_asset_materialization_events()
    assert event.materialization.metadata["step_pid"].value == os.getpid()
    # Unset, the run leaves the executor its default: forked (`tests/ai_core/test_location.py`;
    # forking here would start this process's one step server with the wrong preload).
    default = daily_steps_job.scheduled_run(None, context)
    assert "execution" not in default.run_config


def test_an_unknown_steps_value_is_refused() -> None:
    with pytest.raises(
        pydantic.ValidationError, match="steps\n  Input should be 'forked' or 'in_process'"
    ):
        component(yaml_for(dt.datetime(2026, 1, 1, 10, 0), 6) + "steps: threads\n")
