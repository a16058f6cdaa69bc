"""A bad upstream day in one unattended run of the daily job, and its repair by a rerun.

Day 1 is served whole. On day 2 one Jeep model-year code answers 503 on every page all day: the
run still succeeds, stores every other page, records the missing code in the raw day, fails the
ERROR completeness check naming it, and consolidates the day with the code's vehicles carried
forward from day 1, flagged and still active. Rerunning the raw inventory and its downstream
assets once the code answers again gives the tables of a catalog that never saw the outage.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ai_core.iceberg.resource import IcebergCatalogResource
from ai_stellantis.definitions import defs
from tests.ai_stellantis.conftest import UpstreamEnv, materialize_day, public_only

BRANDS = ["jeep.com", "ramtrucks.com"]
DAY1, DAY2 = dt.date(2026, 11, 18), dt.date(2026, 11, 19)
ENTITIES = ("dealers", "models", "features", "inventory")
ID_COLUMNS = {"dealers": "dealer_id", "models": "model_id", "features": "feature_id"}
ID_COLUMNS["inventory"] = "vehicle_id"


def job_keys() -> list[str]:
    keys = [k.to_user_string() for k in defs().resolve_all_asset_keys()]
    wanted = [k for k in keys if k.split("/")[1] in ("raw", "transformed", "consolidated")]
    return sorted(public_only(wanted))


def run(
    env: UpstreamEnv,
    monkeypatch: pytest.MonkeyPatch,
    day: dt.date,
    faults: str = "",
    keys: list[str] | None = None,
) -> dict[str, object]:
    monkeypatch.setenv("AI_TODAY", day.isoformat())
    env.upstream.set_state(date=day, faults=faults)
    result = materialize_day(keys or job_keys(), day.isoformat())
    assert result.success
    return {
        f"{c.asset_key.to_user_string()}:{c.check_name}": c
        for c in result.get_asset_check_evaluations()
    }


def consolidated(catalog: IcebergCatalogResource, entity: str, day: dt.date) -> pl.DataFrame:
    frame = catalog.scan_partition(f"stellantis/consolidated/{entity}", day).collect()
    return frame.sort(ID_COLUMNS[entity])


def stored_vins(catalog: IcebergCatalogResource, day: dt.date) -> set[str]:
    raw = catalog.scan_partition("stellantis/raw/public_inventory", day).collect()
    bodies = raw.filter(pl.col("_fetch_error").is_null())["_response_body"]
    return set(bodies.str.extract_all(r'"vin"\s*:\s*"([^"]+)"').explode().str.slice(7, 17))


def test_a_code_down_all_day_keeps_the_rest_carries_the_code_and_a_rerun_repairs_it(
    stellantis_env: UpstreamEnv, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STELLANTIS_BRANDS", ",".join(BRANDS))
    monkeypatch.setenv("STELLANTIS_INVENTORY_MAX_RETRIES", "1")
    env = stellantis_env
    truth1, truth2 = (env.upstream.truth(brands=BRANDS, date=d) for d in (DAY1, DAY2))
    # The Jeep code with the most vehicles listed on both days (a Jeep code's third letter is J).
    jeep = truth2.vehicles.filter(
        pl.col("vin").is_in(truth1.vehicles["vin"].implode())
        & (pl.col("modelYearCode").str.slice(2, 1) == "J")
    )
    code = jeep.group_by("modelYearCode").len().sort("len", "modelYearCode").row(-1)[0]
    jeep_code = f"jeep.com/{code}"
    of_code = set(truth1.vehicles.filter(pl.col("modelYearCode") == code)["vin"])
    served2 = set(truth2.vehicles["vin"])
    others2 = set(truth2.vehicles.filter(pl.col("modelYearCode") != code)["vin"])
    assert of_code and others2

    run(env, monkeypatch, DAY1)
    checks = run(env, monkeypatch, DAY2, faults=f"5xx@jeep.com/inventory/{code}/*x999")
    catalog = IcebergCatalogResource(data_dir=str(env.data_dir))

    # The raw day keeps every other page and records the missing code, with why.
    completeness = checks["stellantis/raw/public_inventory:completeness"]
    assert not completeness.passed
    assert completeness.severity.value == "ERROR"
    assert completeness.metadata["unobserved_sub_resources"].value == [jeep_code]
    assert jeep_code in (completeness.description or "")
    assert stored_vins(catalog, DAY2) == others2
    raw = catalog.scan_partition("stellantis/raw/public_inventory", DAY2).collect()
    failed = raw.filter(pl.col("_fetch_error").is_not_null())
    assert failed["_sub_resource"].unique().to_list() == [jeep_code]
    assert failed["_page_number"].to_list() == [1]
    assert "failed after 2 attempts (last: HTTP 50" in failed["_fetch_error"][0]
    assert failed["_response_body"].to_list() == [""]
    assert catalog.unobserved("stellantis/transformed/inventory_vehicles", [DAY2]) == {
        DAY2: frozenset([jeep_code])
    }
    consolidated_checks = [v for k, v in checks.items() if "/consolidated/" in k]
    assert len(consolidated_checks) == 2 * len(ENTITIES)

    # No false history: the code's vehicles stay active, carried from day 1 and flagged.
    inventory = consolidated(catalog, "inventory", DAY2)
    carried = inventory.filter(pl.col("vin").is_in(list(of_code)))
    assert set(carried["vin"]) == of_code
    assert carried["active"].all()
    assert carried["sold_date"].null_count() == carried.height
    assert carried["_gap_filled"].all()
    assert carried["_source_age_days"].unique().to_list() == [1]
    assert carried["last_seen"].unique().to_list() == [DAY1]
    observed = inventory.filter(~pl.col("vin").is_in(list(of_code)))
    assert set(observed.filter("active")["vin"]) == others2
    assert not observed.filter("active")["_gap_filled"].any()

    # The rerun of the failed raw asset and its downstream day repairs the day.
    run(env, monkeypatch, DAY2, keys=[k for k in job_keys() if "/raw/public_model" not in k])
    assert stored_vins(catalog, DAY2) == served2
    assert catalog.unobserved("stellantis/transformed/inventory_vehicles", [DAY2]) == {}
    repaired = {e: consolidated(catalog, e, DAY2) for e in ENTITIES}
    assert not repaired["inventory"]["_gap_filled"].any()

    # ... to what a catalog that never saw the outage holds.
    monkeypatch.setenv("AI_DATA_DIR", str(tmp_path / "reference"))
    run(env, monkeypatch, DAY1)
    run(env, monkeypatch, DAY2)
    reference = IcebergCatalogResource(data_dir=str(tmp_path / "reference"))
    for entity in ENTITIES:
        assert_frame_equal(repaired[entity], consolidated(reference, entity, DAY2))
    # Dealers seen on many pages name the same page in both catalogs, whatever the fetch order.
    key = "stellantis/transformed/inventory_dealers"
    mine, theirs = (
        c.scan_partition(key, DAY2).collect().drop("_fetched_at").sort("dealer_code")
        for c in (catalog, reference)
    )
    assert_frame_equal(mine, theirs)


def test_a_past_day_of_a_source_that_serves_only_today_is_refused(
    stellantis_env: UpstreamEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AI_TODAY", DAY2.isoformat())
    result = materialize_day(
        ["stellantis/raw/public_model_year_codes"], DAY1.isoformat(), raise_on_error=False
    )
    assert not result.success
    [failure] = result.get_step_failure_events()
    message = failure.event_specific_data.error.message  # type: ignore[union-attr]
    assert f"today is {DAY2}" in message
    assert f"partition {DAY1} cannot be fetched now" in message
    assert "AI_TODAY" in message


def test_rebuilding_a_past_day_marks_the_later_days_and_the_sensor_rebuilds_them_in_order(
    stellantis_env: UpstreamEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STELLANTIS_BRANDS", ",".join(BRANDS))
    days = [DAY1, DAY2, DAY2 + dt.timedelta(days=1)]
    for day in days:
        run(stellantis_env, monkeypatch, day)
    catalog = IcebergCatalogResource(data_dir=str(stellantis_env.data_dir))
    sensor = defs().get_sensor_def("stellantis_history_repair_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING

    def tick() -> list[dg.RunRequest]:
        with dg.build_sensor_context(
            instance=dg.DagsterInstance.ephemeral(), resources={"iceberg": catalog}
        ) as context:
            result = sensor(context)
        return list(result.run_requests or []) if isinstance(result, dg.SensorResult) else []

    assert tick() == []
    inventory = "stellantis/consolidated/inventory"
    rebuilt = materialize_day([inventory], DAY1.isoformat())
    [materialization] = rebuilt.asset_materializations_for_node(
        "stellantis__consolidated__inventory"
    )
    assert materialization.metadata["later_days_to_rebuild"].value == [
        d.isoformat() for d in days[1:]
    ]
    # Only the next day is stale now; once it is rebuilt, the day after it is.
    for day in days[1:]:
        [request] = tick()
        assert request.partition_key == day.isoformat()
        assert request.asset_selection == [dg.AssetKey.from_user_string(inventory)]
        assert materialize_day([inventory], day.isoformat()).success
    assert tick() == []


@pytest.fixture
def jeep_in_pages_of_five(stellantis_env: UpstreamEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """Jeep alone, in pages of five so that a code has several, each page tried twice (set
    after the stand-in's environment, which names every brand)."""
    monkeypatch.setenv("STELLANTIS_BRANDS", "jeep.com")
    monkeypatch.setenv("STELLANTIS_PAGE_SIZE", "5")
    monkeypatch.setenv("STELLANTIS_INVENTORY_MAX_RETRIES", "1")


@pytest.mark.usefixtures("jeep_in_pages_of_five")
def test_a_page_down_carries_only_its_vehicles_and_flags_only_them(
    stellantis_env: UpstreamEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = stellantis_env
    truth1, truth2 = (env.upstream.truth(brands=["jeep.com"], date=d) for d in (DAY1, DAY2))
    both = truth2.vehicles.filter(pl.col("vin").is_in(truth1.vehicles["vin"].implode()))
    code = both.group_by("modelYearCode").len().sort("len", "modelYearCode").row(-1)[0]
    assert both.filter(pl.col("modelYearCode") == code).height > 10  # three pages or more

    run(env, monkeypatch, DAY1)
    run(env, monkeypatch, DAY2, faults=f"5xx@jeep.com/inventory/{code}/2x999")
    catalog = IcebergCatalogResource(data_dir=str(env.data_dir))
    fetched = stored_vins(catalog, DAY2)
    inventory = consolidated(catalog, "inventory", DAY2).filter("active")
    of_code = inventory.filter(pl.col("model_year_code") == code)
    today, carried = (
        of_code.filter(pl.col("vin").is_in(list(fetched)) == x) for x in (True, False)
    )
    # The code's other pages were fetched today: their vehicles come from today alone.
    assert today.height > 0
    assert not today["_gap_filled"].any()
    assert today["_source_age_days"].unique().to_list() == [0]
    # Only the vehicles of day 1's page 2 that today's pages do not hold are carried.
    assert carried.height > 0
    assert carried["_gap_filled"].all()
    assert carried["last_seen"].unique().to_list() == [DAY1]
    assert set(carried["vin"]) <= set(truth1.vehicles["vin"]) - fetched


@pytest.mark.usefixtures("jeep_in_pages_of_five")
def test_a_page_down_past_the_history_days_lets_its_vehicles_leave_unseen(
    stellantis_env: UpstreamEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = stellantis_env
    days = [DAY1 + dt.timedelta(days=i) for i in range(5)]
    first = env.upstream.truth(brands=["jeep.com"], date=days[0]).vehicles
    code = first.group_by("modelYearCode").len().sort("len", "modelYearCode").row(-1)[0]
    run(env, monkeypatch, days[0])
    for day in days[1:]:
        run(env, monkeypatch, day, faults=f"5xx@jeep.com/inventory/{code}/2x999")
    catalog = IcebergCatalogResource(data_dir=str(env.data_dir))
    # Carried for the three days of history while page 2 stayed down...
    carried = consolidated(catalog, "inventory", days[3]).filter(
        pl.col("active") & pl.col("_gap_filled")
    )
    unseen = carried.filter(pl.col("last_seen") == days[0])
    assert unseen.height > 0
    # ... then gone from the active inventory with no sold date: nothing saw them leave.
    last = consolidated(catalog, "inventory", days[4])
    left = last.filter(pl.col("vehicle_id").is_in(unseen["vehicle_id"].implode()))
    assert left.height == unseen.height
    assert not left["active"].any()
    assert left["sold_date"].null_count() == left.height
    # A vehicle that left a page fetched that day is still read as sold.
    sold = last.filter(~pl.col("active") & (pl.col("last_seen") == days[3]))
    assert sold.height > 0 and sold["sold_date"].null_count() == 0
