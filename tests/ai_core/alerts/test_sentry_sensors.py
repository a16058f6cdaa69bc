"""Both Sentry sensors end to end: real instance, real runs, ticks evaluated as the daemon does,
events received by a Sentry endpoint on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import time_machine

from ai_core.alerts.events import PARTITION_TAG, WILL_RETRY_TAG, AlertEvent, event_id
from ai_core.alerts.executions import HOLD_S, STALE_S, CheckCursor, find_evaluations
from ai_core.alerts.resource import SENTRY_DSN_ENV, Delivery, SentryResource
from ai_core.alerts.run_ends import RETRY_DECISION_S
from ai_core.alerts.sensors import (
    CHECK_SENSOR,
    EVENTS_PER_TICK,
    RUN_FAILURE_SENSOR,
    build_asset_check_sentry_sensor,
    build_run_failure_sentry_sensor,
)
from ai_core.defs import build_core_defs
from ai_core.iceberg.resource import IcebergCatalogResource
from tests.ai_core.alerts.sentry_receiver import PUBLIC_KEY, SentryReceiver

OEM = "acme"
DAY = "2026-11-20"
PARTITIONS = dg.DailyPartitionsDefinition(start_date="2026-11-01")


@dg.asset(
    key=[OEM, "raw", "listings"],
    partitions_def=PARTITIONS,
    check_specs=[
        dg.AssetCheckSpec("completeness", asset=dg.AssetKey([OEM, "raw", "listings"])),
        dg.AssetCheckSpec("drift", asset=dg.AssetKey([OEM, "raw", "listings"])),
        dg.AssetCheckSpec("fine", asset=dg.AssetKey([OEM, "raw", "listings"])),
    ],
)
def listings() -> Iterator[Any]:
    yield dg.Output(None)
    yield dg.AssetCheckResult(
        check_name="completeness",
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "short_sub_resources": 2,
            "samples": dg.MetadataValue.md("| sub_resource | records |\n|---|---|\n| IUJ | 3 |"),
            "api_token": "tok-123",
            "source": "https://svc:hunter2@api.example.test/v1?page=2&access_token=abc",
        },
    )
    yield dg.AssetCheckResult(
        check_name="drift", passed=False, severity=dg.AssetCheckSeverity.WARN, metadata={"n": 1}
    )
    yield dg.AssetCheckResult(check_name="fine", passed=True)


OTHER_KEY = dg.AssetKey(["other", "raw", "listings"])


@dg.asset(key=OTHER_KEY, check_specs=[dg.AssetCheckSpec("x", asset=OTHER_KEY)])
def other_oem() -> Iterator[Any]:
    yield dg.Output(None)
    yield dg.AssetCheckResult(check_name="x", passed=False)


MANY = EVENTS_PER_TICK + 30
MANY_KEY = dg.AssetKey([OEM, "raw", "many"])


@dg.asset(
    key=MANY_KEY,
    check_specs=[dg.AssetCheckSpec(f"c{i:03d}", asset=MANY_KEY) for i in range(MANY)],
)
def many_checks() -> Iterator[Any]:
    yield dg.Output(None)
    for i in range(MANY):
        yield dg.AssetCheckResult(check_name=f"c{i:03d}", passed=False)


@dg.asset(key=[OEM, "raw", "boom"], partitions_def=PARTITIONS)
def boom() -> None:
    raise RuntimeError("upstream answered 503 for https://svc:hunter2@api.example.test/v1")


class Catalog(dg.ConfigurableResource):
    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        raise RuntimeError("catalog unreachable at https://svc:hunter2@catalog.example.test")


@dg.asset(key=[OEM, "raw", "needs_catalog"])
def needs_catalog(catalog: Catalog) -> None:
    pass


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def receiver() -> Iterator[SentryReceiver]:
    with SentryReceiver() as receiver:
        yield receiver


SLOW_KEY = dg.AssetKey([OEM, "raw", "slow"])
GATE = threading.Event()
STARTED = threading.Event()


@dg.asset(key=SLOW_KEY, check_specs=[dg.AssetCheckSpec("slow_check", asset=SLOW_KEY)])
def slow() -> Iterator[Any]:
    STARTED.set()
    assert GATE.wait(120), "the test never opened the gate"
    yield dg.Output(None)
    yield dg.AssetCheckResult(check_name="slow_check", passed=False)


CHECKED = dg.Definitions(assets=[listings, other_oem, many_checks, slow])


def tick(
    sensor: dg.SensorDefinition,
    instance: dg.DagsterInstance,
    sentry: SentryResource,
    cursor: str | None = None,
    definitions: dg.Definitions = CHECKED,
) -> Any:
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"sentry": sentry}, definitions=definitions
    )
    return sensor.evaluate_tick(context)


def low_water(cursor: str | None) -> int:
    """The check sensor cursor's low-water mark."""
    parsed = CheckCursor.parse(cursor)
    assert parsed is not None
    return parsed.after


def execution_ids(instance: dg.DagsterInstance, assets_def: dg.AssetsDefinition) -> list[int]:
    """The ids of the executions of `assets_def`'s checks, oldest first."""
    storage = instance.event_log_storage
    return sorted(
        record.id
        for spec in assets_def.check_specs
        for record in storage.get_asset_check_execution_history(spec.key, limit=100)
    )


def failure_storage_id(instance: dg.DagsterInstance, run_id: str) -> int:
    """The storage id of `run_id`'s failure among the instance's run status changes."""
    changes = instance.fetch_run_status_changes(dg.DagsterEventType.RUN_FAILURE, limit=100)
    (storage_id,) = [r.storage_id for r in changes.records if r.run_id == run_id]
    return storage_id


@contextmanager
def slow_run_going(instance: dg.DagsterInstance) -> Iterator[None]:
    """A run of `slow` that has planned its check and waits in its step until the block ends."""
    GATE.clear()
    STARTED.clear()
    running = threading.Thread(target=lambda: dg.materialize([slow], instance=instance))
    running.start()
    try:
        assert STARTED.wait(120)
        yield
    finally:
        GATE.set()
        running.join(120)


def test_core_defs_run_both_sensors_by_default() -> None:
    defs = dg.Definitions.merge(
        build_core_defs(OEM), dg.Definitions(resources={"iceberg": IcebergCatalogResource()})
    )
    for name in (CHECK_SENSOR, RUN_FAILURE_SENSOR):
        assert defs.resolve_sensor_def(name).default_status == dg.DefaultSensorStatus.RUNNING
    assert defs.resolve_sensor_def(CHECK_SENSOR).minimum_interval_seconds == 60


def test_failed_checks_are_sent_once_with_their_tags_and_metadata(
    instance: dg.DagsterInstance, receiver: SentryReceiver
) -> None:
    sensor = build_asset_check_sentry_sensor(OEM)
    sentry = SentryResource(dsn=receiver.dsn)
    dg.materialize([listings], instance=instance, partition_key=DAY)
    dg.materialize([other_oem], instance=instance)

    first = tick(sensor, instance, sentry)
    events = sorted(receiver.events, key=lambda e: e["tags"]["check_name"])
    assert [e["message"] for e in events] == [
        f"Dagster asset check failure: completeness on {OEM}/raw/listings (ERROR)",
        f"Dagster asset check failure: drift on {OEM}/raw/listings (WARN)",
    ]
    assert [e["level"] for e in events] == ["error", "warning"]
    completeness = events[0]
    assert completeness["tags"] == {
        "oem": OEM,
        "check_name": "completeness",
        "severity": "ERROR",
        "partition_date": DAY,
    }
    extra = completeness["extra"]
    run_id = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": DAY}))[0].run_id
    assert extra["asset_key"] == f"{OEM}/raw/listings"
    assert extra["run_id"] == run_id
    assert extra["partition_date"] == DAY
    assert extra["short_sub_resources"] == 2
    assert "| IUJ | 3 |" in extra["samples"]
    assert extra["api_token"] == "[redacted]"
    assert extra["source"] == (
        "https://[redacted]@api.example.test/v1?page=2&access_token=[redacted]"
    )
    assert "hunter2" not in str(receiver.events) and "tok-123" not in str(receiver.events)
    assert first.cursor is not None

    second = tick(sensor, instance, sentry, cursor=first.cursor)
    assert len(receiver.events) == 2
    assert second.cursor is None or second.cursor == first.cursor

    dg.materialize([listings], instance=instance, partition_key="2026-11-21")
    third = tick(sensor, instance, sentry, cursor=first.cursor)
    assert len(receiver.events) == 4
    assert {e["tags"]["partition_date"] for e in receiver.events[2:]} == {"2026-11-21"}
    assert low_water(third.cursor) > low_water(first.cursor)


def test_more_than_a_tick_of_failures_continue_on_the_next_tick(
    instance: dg.DagsterInstance, receiver: SentryReceiver
) -> None:
    sensor = build_asset_check_sentry_sensor(OEM)
    sentry = SentryResource(dsn=receiver.dsn)
    dg.materialize([many_checks], instance=instance)

    first = tick(sensor, instance, sentry)
    assert len(receiver.events) == EVENTS_PER_TICK
    assert "more wait" in first.skip_message
    second = tick(sensor, instance, sentry, cursor=first.cursor)
    assert len(receiver.events) == MANY
    third = tick(sensor, instance, sentry, cursor=second.cursor)
    assert len(receiver.events) == MANY
    assert third.skip_message == "no check evaluations since the last tick"
    names = sorted(e["tags"]["check_name"] for e in receiver.events)
    assert names == [f"c{i:03d}" for i in range(MANY)]


def test_a_failed_run_is_sent_with_job_partition_and_error(
    instance: dg.DagsterInstance, receiver: SentryReceiver
) -> None:
    sensor = build_run_failure_sentry_sensor(OEM)
    sentry = SentryResource(dsn=receiver.dsn)
    defs = dg.Definitions(assets=[boom], sensors=[sensor])
    start = tick(sensor, instance, sentry, definitions=defs)
    assert (
        start.skip_message == "no failed or canceled runs of the code location since the last tick"
    )
    assert start.cursor is None
    result = dg.materialize([boom], instance=instance, partition_key=DAY, raise_on_error=False)
    assert not result.success

    # With no cursor yet, the tick looks back a day.
    after = tick(sensor, instance, sentry, definitions=defs)
    assert after.skip_message == "sent 1 failed or canceled run"
    assert after.cursor == str(failure_storage_id(instance, result.run_id))
    assert len(receiver.events) == 1
    event = receiver.events[0]
    assert event["level"] == "error"
    assert event["tags"] == {
        "oem": OEM,
        "job_name": result.dagster_run.job_name,
        "partition_date": DAY,
    }
    assert event["extra"]["run_id"] == result.run_id
    assert "RuntimeError: upstream answered 503" in event["message"]
    assert "https://[redacted]@api.example.test/v1" in event["extra"]["error"]
    # The run's error is its step's: said once.
    assert event["extra"]["error"].count("upstream answered 503") == 1
    assert "hunter2" not in str(event)

    again = tick(sensor, instance, sentry, cursor=after.cursor, definitions=defs)
    assert len(receiver.events) == 1
    assert again.cursor == after.cursor


def test_without_a_dsn_nothing_is_sent(
    instance: dg.DagsterInstance, receiver: SentryReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SENTRY_DSN_ENV, raising=False)
    sentry = build_core_defs(OEM).resources["sentry"]
    assert isinstance(sentry, SentryResource)
    dg.materialize([listings], instance=instance, partition_key=DAY)
    checks = tick(build_asset_check_sentry_sensor(OEM), instance, sentry)
    assert checks.skip_message == "SENTRY_DSN is not set: failed checks are not sent to Sentry"
    assert checks.cursor is None

    sensor = build_run_failure_sentry_sensor(OEM)
    defs = dg.Definitions(assets=[boom], sensors=[sensor])
    dg.materialize([boom], instance=instance, partition_key=DAY, raise_on_error=False)
    runs = tick(sensor, instance, sentry, definitions=defs)
    assert (
        runs.skip_message
        == "SENTRY_DSN is not set: failed and canceled runs are not sent to Sentry"
    )
    assert runs.cursor is None
    assert receiver.requests == 0


def test_the_dsn_comes_from_the_environment(
    instance: dg.DagsterInstance, receiver: SentryReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SENTRY_DSN_ENV, receiver.dsn)
    sentry = build_core_defs(OEM).resources["sentry"]
    assert isinstance(sentry, SentryResource)
    # The DSN is wired by name and read by Dagster when the sensor's resources are built.
    assert sentry.dsn == dg.EnvVar(SENTRY_DSN_ENV)
    dg.materialize([listings], instance=instance, partition_key=DAY)
    tick(build_asset_check_sentry_sensor(OEM), instance, sentry)
    assert sorted(e["tags"]["check_name"] for e in receiver.events) == ["completeness", "drift"]


def test_a_run_still_going_does_not_hold_back_later_runs_checks(
    instance: dg.DagsterInstance, receiver: SentryReceiver
) -> None:
    sensor = build_asset_check_sentry_sensor(OEM)
    sentry = SentryResource(dsn=receiver.dsn)
    with slow_run_going(instance):
        dg.materialize([listings], instance=instance, partition_key=DAY)
        first = tick(sensor, instance, sentry)
        assert sorted(e["tags"]["check_name"] for e in receiver.events) == ["completeness", "drift"]
        assert first.skip_message == (
            "sent 2 alerts for 3 evaluations; waiting on runs not finished yet: 1 planned check"
        )
        # The slow check was planned first: the cursor stays below it, and what came after it
        # is remembered as done.
        (slow_id,) = execution_ids(instance, slow)
        cursor = CheckCursor.parse(first.cursor)
        assert cursor == CheckCursor(after=slow_id - 1, done=execution_ids(instance, listings))
        second = tick(sensor, instance, sentry, cursor=first.cursor)
        assert len(receiver.events) == 2
        assert second.skip_message == (
            "no check evaluations since the last tick; waiting on runs not finished yet: 1 "
            "planned check"
        )
    third = tick(sensor, instance, sentry, cursor=second.cursor)
    assert sorted(e["tags"]["check_name"] for e in receiver.events) == [
        "completeness",
        "drift",
        "slow_check",
    ]
    assert third.skip_message == "sent 1 alert for 1 evaluation"
    assert CheckCursor.parse(third.cursor) == CheckCursor(
        after=max(execution_ids(instance, listings))
    )


def test_a_run_that_never_finishes_is_alerted_as_unfinished_after_the_hold(
    instance: dg.DagsterInstance, receiver: SentryReceiver
) -> None:
    sensor = build_asset_check_sentry_sensor(OEM)
    sentry = SentryResource(dsn=receiver.dsn)
    with slow_run_going(instance):
        held = tick(sensor, instance, sentry)
        (slow_id,) = execution_ids(instance, slow)
        assert CheckCursor.parse(held.cursor) == CheckCursor(after=slow_id - 1)
        # A day on, the run is still STARTED, as a run whose process was killed stays.
        with time_machine.travel(time.time() + HOLD_S + 60, tick=True):
            late = tick(sensor, instance, sentry, cursor=held.cursor)
            again = tick(sensor, instance, sentry, cursor=late.cursor)
        (run,) = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
    assert late.skip_message == (
        "sent 1 alert for 0 evaluations; 1 planned check of runs left unfinished, alerted as "
        "unfinished"
    )
    assert CheckCursor.parse(late.cursor) == CheckCursor(after=slow_id)
    assert again.skip_message == "no check evaluations since the last tick"
    # The run ended after all, its check failed: the run was alerted as unfinished instead.
    ended = tick(sensor, instance, sentry, cursor=again.cursor)
    assert ended.skip_message == "no check evaluations since the last tick"
    (event,) = receiver.events
    assert event["level"] == "warning"
    assert event["message"] == (
        f"Dagster run unfinished: {run.job_name} (unpartitioned): still STARTED, 1 checks never "
        "evaluated"
    )
    assert event["extra"]["checks"] == [str(SLOW_KEY.to_user_string()) + ":slow_check"]


def test_a_run_waiting_to_start_holds_its_checks_until_a_week_on(
    instance: dg.DagsterInstance, receiver: SentryReceiver
) -> None:
    # A backfill's runs may wait days behind a pool; their checks are still to come.
    run = instance.create_run_for_job(
        dg.define_asset_job("queued", [slow]).resolve(asset_graph=CHECKED.resolve_asset_graph())
    )
    sensor = build_asset_check_sentry_sensor(OEM)
    sentry = SentryResource(dsn=receiver.dsn)
    first = tick(sensor, instance, sentry)
    with time_machine.travel(time.time() + 3 * HOLD_S, tick=True):
        later = tick(sensor, instance, sentry, cursor=first.cursor)
    assert run.status == dg.DagsterRunStatus.NOT_STARTED
    assert later.skip_message == (
        "no check evaluations since the last tick; waiting on runs not finished yet: 1 planned "
        "check"
    )
    assert receiver.events == []
    # A week on, a run never launched (or stuck starting) no longer keeps the cursor back.
    with time_machine.travel(time.time() + STALE_S + 60, tick=True):
        stale = tick(sensor, instance, sentry, cursor=later.cursor)
    (event,) = receiver.events
    assert event["message"].endswith(": still NOT_STARTED, 1 checks never evaluated")
    assert CheckCursor.parse(stale.cursor) == CheckCursor(after=max(execution_ids(instance, slow)))


BROKEN_KEY = dg.AssetKey([OEM, "raw", "broken"])


@dg.asset(key=BROKEN_KEY, check_specs=[dg.AssetCheckSpec("never", asset=BROKEN_KEY)])
def broken() -> Iterator[Any]:
    raise RuntimeError("the step fails before its check")
    yield


def test_a_check_of_a_run_that_ended_after_the_tick_began_waits_a_tick(
    instance: dg.DagsterInstance,
) -> None:
    # The records are read after the tick's clock starts: a run ending meanwhile may have
    # evaluated a check read as planned, so only a run ended before then is passed over.
    result = dg.materialize([broken], instance=instance, raise_on_error=False)
    record = instance.get_run_record_by_id(result.run_id)
    assert record is not None and record.end_time is not None
    keys = [dg.AssetCheckKey(BROKEN_KEY, "never")]
    (planned,) = execution_ids(instance, broken)
    before = find_evaluations(
        instance, keys, CheckCursor(), after_time=0.0, now=record.end_time - 1, limit=10
    )
    after = find_evaluations(
        instance, keys, CheckCursor(), after_time=0.0, now=record.end_time + 1, limit=10
    )
    assert (before.waiting, before.passed_over) == ([planned], [])
    assert (after.waiting, after.passed_over) == ([], [planned])


def test_a_plain_id_cursor_of_earlier_versions_still_works(
    instance: dg.DagsterInstance, receiver: SentryReceiver
) -> None:
    sensor = build_asset_check_sentry_sensor(OEM)
    dg.materialize([listings], instance=instance, partition_key=DAY)
    # Earlier versions stored the id of the last execution they handled.
    legacy = str(max(execution_ids(instance, listings)))
    dg.materialize([listings], instance=instance, partition_key="2026-11-21")
    result = tick(sensor, instance, SentryResource(dsn=receiver.dsn), cursor=legacy)
    assert sorted(
        (e["tags"]["partition_date"], e["tags"]["check_name"]) for e in receiver.events
    ) == [
        ("2026-11-21", "completeness"),
        ("2026-11-21", "drift"),
    ]
    assert low_water(result.cursor) == max(execution_ids(instance, listings))


def day_sent_while_refused(
    instance: dg.DagsterInstance, receiver: SentryReceiver, status: int, **refusal: Any
) -> tuple[dg.SensorDefinition, SentryResource, Any]:
    """A day's failed checks sent while the receiver refuses `status` (see `refuse`): the check
    sensor, its resource and the tick."""
    sensor = build_asset_check_sentry_sensor(OEM)
    sentry = SentryResource(dsn=receiver.dsn)
    dg.materialize([listings], instance=instance, partition_key=DAY)
    receiver.refuse(status, **refusal)
    return sensor, sentry, tick(sensor, instance, sentry)


def test_checks_sentry_refuses_are_sent_again_on_the_next_tick(
    instance: dg.DagsterInstance, receiver: SentryReceiver
) -> None:
    sensor, sentry, first = day_sent_while_refused(instance, receiver, 503, after=1)
    assert len(receiver.events) == 1
    assert first.skip_message == (
        "sent 1 of 2 alerts for 3 evaluations; 1 alert not delivered (Sentry answered "
        "503 Service Unavailable), sent again on the next tick"
    )
    assert PUBLIC_KEY not in first.skip_message

    receiver.accept()
    second = tick(sensor, instance, sentry, cursor=first.cursor)
    assert sorted(e["tags"]["check_name"] for e in receiver.events) == ["completeness", "drift"]
    assert second.skip_message == "sent 1 alert for 1 evaluation"
    # Sent again under the id it was refused with, so Sentry would keep one even had it
    # stored the first.
    (refused,) = receiver.refused
    assert refused["event_id"] == receiver.events[1]["event_id"]
    assert refused["message"] == receiver.events[1]["message"]
    third = tick(sensor, instance, sentry, cursor=second.cursor)
    assert third.skip_message == "no check evaluations since the last tick"
    assert len({e["event_id"] for e in receiver.events}) == len(receiver.events) == 2


def test_alerts_sentry_refuses_for_good_do_not_hold_back_the_others(
    instance: dg.DagsterInstance, receiver: SentryReceiver
) -> None:
    # Too large, say: sending it again every tick would hold every later alert behind it.
    sensor, sentry, first = day_sent_while_refused(instance, receiver, 413)
    assert len(receiver.refused) == 2 and receiver.events == []
    assert first.skip_message == (
        "sent 2 alerts for 3 evaluations; Sentry refused 2 of them for good"
    )
    receiver.accept()
    dg.materialize([listings], instance=instance, partition_key="2026-11-21")
    second = tick(sensor, instance, sentry, cursor=first.cursor)
    assert second.skip_message == "sent 2 alerts for 3 evaluations"
    assert {e["tags"]["partition_date"] for e in receiver.events} == {"2026-11-21"}


def test_a_400_not_from_sentry_keeps_the_alerts_for_the_next_tick(
    instance: dg.DagsterInstance, receiver: SentryReceiver
) -> None:
    # A proxy in the way answers 400 to every request.
    sensor, sentry, first = day_sent_while_refused(instance, receiver, 400)
    assert first.skip_message == (
        "sent 0 of 2 alerts for 3 evaluations; 2 alerts not delivered (Sentry answered 400 Bad "
        "Request), sent again on the next tick"
    )
    receiver.accept()
    tick(sensor, instance, sentry, cursor=first.cursor)
    assert sorted(e["tags"]["check_name"] for e in receiver.events) == ["completeness", "drift"]


def test_a_400_for_one_event_is_passed_once_the_next_is_accepted(
    instance: dg.DagsterInstance, receiver: SentryReceiver
) -> None:
    # Sentry refusing one envelope as bad: the next one's answer tells it from a proxy.
    sensor, sentry, first = day_sent_while_refused(
        instance, receiver, 400, reason="invalid event", times=1
    )
    assert first.skip_message == (
        "sent 2 alerts for 3 evaluations; Sentry refused 1 of them for good"
    )
    assert len(receiver.refused) == 1 and len(receiver.events) == 1
    second = tick(sensor, instance, sentry, cursor=first.cursor)
    assert second.skip_message == "no check evaluations since the last tick"
    assert len(receiver.refused) == 1 and len(receiver.events) == 1


def test_sending_stops_when_the_ticks_time_runs_out(receiver: SentryReceiver) -> None:
    event = AlertEvent(event_id=event_id("probe"), message="probe", level="error", tags={})
    delivery = SentryResource(dsn=receiver.dsn).send([event, event], budget_s=0)
    assert delivery == Delivery(0, "the tick's time for sending ran out")
    assert receiver.events == []


def test_an_unreachable_sentry_is_named_without_the_dsn_key() -> None:
    with SentryReceiver() as gone:
        dsn = gone.dsn.replace(PUBLIC_KEY, "s3cretkey")
    event = AlertEvent(event_id=event_id("probe"), message="probe", level="error", tags={})
    delivery = SentryResource(dsn=dsn, timeout_s=5).send([event, event])
    assert delivery.delivered == 0
    assert delivery.failure is not None
    assert delivery.failure.startswith("Sentry could not be reached: ConnectError")
    assert "s3cretkey" not in delivery.failure


def test_a_dsn_sentry_does_not_know_delivers_nothing(receiver: SentryReceiver) -> None:
    event = AlertEvent(event_id=event_id("probe"), message="probe", level="error", tags={})
    dsn = receiver.dsn.replace(PUBLIC_KEY, "wrongkey")
    assert SentryResource(dsn=dsn).send([event]) == Delivery(0, "Sentry answered 401 Unauthorized")
    assert receiver.events == []


def test_a_failed_run_sentry_refuses_is_sent_again_on_the_next_tick(
    instance: dg.DagsterInstance, receiver: SentryReceiver
) -> None:
    sensor = build_run_failure_sentry_sensor(OEM)
    sentry = SentryResource(dsn=receiver.dsn)
    defs = dg.Definitions(assets=[boom], sensors=[sensor])
    first = dg.materialize([boom], instance=instance, partition_key=DAY, raise_on_error=False)
    second = dg.materialize(
        [boom], instance=instance, partition_key="2026-11-21", raise_on_error=False
    )
    receiver.refuse(503, after=1)
    refused = tick(sensor, instance, sentry, definitions=defs)
    assert refused.skip_message == (
        "sent 1 of 2 failed or canceled runs; 1 alert not delivered (Sentry answered 503 "
        "Service Unavailable), sent again on the next tick"
    )
    # The cursor stops after the run that was delivered.
    assert refused.cursor == str(failure_storage_id(instance, first.run_id))

    receiver.accept()
    resent = tick(sensor, instance, sentry, cursor=refused.cursor, definitions=defs)
    assert resent.skip_message == "sent 1 failed or canceled run"
    assert [e["extra"]["run_id"] for e in receiver.events] == [first.run_id, second.run_id]
    assert [e["event_id"] for e in receiver.refused] == [receiver.events[1]["event_id"]]
    tick(sensor, instance, sentry, cursor=resent.cursor, definitions=defs)
    assert len({e["event_id"] for e in receiver.events}) == len(receiver.events) == 2


def test_the_cursor_of_dagsters_run_failure_sensor_is_read_on(
    instance: dg.DagsterInstance, receiver: SentryReceiver
) -> None:
    # Earlier versions were a `dg.run_failure_sensor` of the same name, whose cursor the
    # instance keeps.
    @dg.run_failure_sensor(name=RUN_FAILURE_SENSOR)
    def earlier(context: dg.RunFailureSensorContext) -> None:
        pass

    sentry = SentryResource(dsn=receiver.dsn)
    dg.materialize([boom], instance=instance, partition_key=DAY, raise_on_error=False)
    left = tick(earlier, instance, sentry, definitions=dg.Definitions(sensors=[earlier]))
    assert left.cursor is not None
    new = dg.materialize(
        [boom], instance=instance, partition_key="2026-11-21", raise_on_error=False
    )
    sensor = build_run_failure_sentry_sensor(OEM)
    defs = dg.Definitions(assets=[boom], sensors=[sensor])
    tick(sensor, instance, sentry, cursor=left.cursor, definitions=defs)
    assert [e["extra"]["run_id"] for e in receiver.events] == [new.run_id]


def test_a_run_that_fails_before_its_steps_is_sent_with_its_cause(
    instance: dg.DagsterInstance, receiver: SentryReceiver
) -> None:
    sensor = build_run_failure_sentry_sensor(OEM)
    defs = dg.Definitions(sensors=[sensor])
    result = dg.materialize(
        [needs_catalog], instance=instance, resources={"catalog": Catalog()}, raise_on_error=False
    )
    assert not result.success
    tick(sensor, instance, SentryResource(dsn=receiver.dsn), definitions=defs)
    (event,) = receiver.events
    cause = "RuntimeError: catalog unreachable at https://[redacted]@catalog.example.test"
    assert event["message"] == (
        f"Dagster run failure: {result.dagster_run.job_name} (unpartitioned): {cause}"
    )
    assert event["extra"]["error"].splitlines()[-1] == cause
    assert "hunter2" not in str(event)


def test_a_canceled_run_is_sent_as_a_warning_with_why_it_was_canceled(
    instance: dg.DagsterInstance, receiver: SentryReceiver
) -> None:
    sensor = build_run_failure_sentry_sensor(OEM)
    defs = dg.Definitions(assets=[boom], sensors=[sensor])
    run = instance.create_run_for_job(
        job_def=defs.resolve_implicit_global_asset_job_def(), tags={PARTITION_TAG: DAY}
    )
    # What Dagster's run queue does to a queued run an operator cancels.
    instance.report_run_canceling(run, message="Canceling run from the queue.")
    instance.report_run_canceled(run)
    result = tick(sensor, instance, SentryResource(dsn=receiver.dsn), definitions=defs)
    assert result.skip_message == "sent 1 failed or canceled run"
    (event,) = receiver.events
    canceled = "This run has been marked as canceled from outside the execution context."
    assert event["level"] == "warning"
    assert event["message"] == f"Dagster run canceled: {run.job_name} ({DAY}): {canceled}"
    assert event["extra"]["error"] == f"Canceling run from the queue.\n{canceled}"
    assert event["extra"]["run_status"] == "CANCELED"
    assert event["fingerprint"] == ["dagster-run-canceled", run.job_name]


def test_a_failure_dagster_retries_is_sent_as_a_warning(receiver: SentryReceiver) -> None:
    sensor = build_run_failure_sentry_sensor(OEM)
    defs = dg.Definitions(assets=[boom], sensors=[sensor])
    with dg.instance_for_test(overrides={"run_retries": {"enabled": True}}) as instance:
        result = dg.materialize(
            [boom],
            instance=instance,
            partition_key=DAY,
            raise_on_error=False,
            tags={"dagster/max_retries": "1"},
        )
        assert instance.get_run_by_id(result.run_id).tags[WILL_RETRY_TAG] == "true"
        tick(sensor, instance, SentryResource(dsn=receiver.dsn), definitions=defs)
    (event,) = receiver.events
    assert event["level"] == "warning"
    assert event["message"] == (
        f"Dagster run failure (Dagster retries it): {result.dagster_run.job_name} ({DAY}): "
        "acme__raw__boom: RuntimeError: upstream answered 503 for "
        "https://[redacted]@api.example.test/v1"
    )
    assert event["fingerprint"] == ["dagster-run-retried", result.dagster_run.job_name]


def test_a_failure_not_yet_tagged_with_its_retry_waits_then_goes_as_final(
    receiver: SentryReceiver, tmp_path: Path
) -> None:
    # Dagster tags a failed run with whether it retries it just after storing the failure; a
    # tick in between waits rather than send a failure to be retried as final. Here the run
    # failed on an instance that does not retry, and the sensor reads it on one that does.
    sensor = build_run_failure_sentry_sensor(OEM)
    defs = dg.Definitions(assets=[boom], sensors=[sensor])
    sentry = SentryResource(dsn=receiver.dsn)
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        start = tick(sensor, instance, sentry, definitions=defs)
        result = dg.materialize([boom], instance=instance, partition_key=DAY, raise_on_error=False)
    retries = {"run_retries": {"enabled": True}}
    with dg.instance_for_test(temp_dir=str(tmp_path), overrides=retries) as instance:
        assert WILL_RETRY_TAG not in instance.get_run_by_id(result.run_id).tags
        waited = tick(sensor, instance, sentry, cursor=start.cursor, definitions=defs)
        assert waited.skip_message == (
            "no failed or canceled runs of the code location since the last tick; 1 failed run "
            "waiting for Dagster to decide its retry (more wait for the next tick)"
        )
        assert receiver.events == [] and waited.cursor in (None, start.cursor)
        with time_machine.travel(time.time() + RETRY_DECISION_S + 60, tick=True):
            sent = tick(sensor, instance, sentry, cursor=waited.cursor, definitions=defs)
    assert sent.skip_message == "sent 1 failed or canceled run"
    (event,) = receiver.events
    assert event["level"] == "error" and event["extra"]["run_id"] == result.run_id
