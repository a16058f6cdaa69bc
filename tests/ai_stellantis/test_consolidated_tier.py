"""The consolidated tier over five days of the local upstream, raw to consolidated each day.

Each day is one run of the daily job. On the third day the dealer locator answers FAILURE all
day: its raw asset stores the failed pages and fails its completeness check, the rest of the day
runs, and the dealers are filled from the day before. Vehicles the server stops serving get
their inferred sold date; rerunning a day gives the same tables.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ai_core.iceberg.resource import IcebergCatalogResource
from ai_stellantis.definitions import defs
from tests.ai_stellantis.conftest import (
    UpstreamEnv,
    materialize_day,
    only_dealerconnect_missing,
    public_only,
)

BRANDS = ["jeep.com", "ramtrucks.com"]
DAYS = [dt.date(2026, 11, 18) + dt.timedelta(days=i) for i in range(5)]
FAILED_DAY = DAYS[2]
LOCATOR_DOWN = "failure@*/dealers/1x99"
ENTITIES = ("dealers", "models", "features", "inventory")
ID_COLUMNS = {
    "dealers": "dealer_id",
    "models": "model_id",
    "features": "feature_id",
    "inventory": "vehicle_id",
}
PROVENANCE = ["_partition_date", "_winner", "_sources", "_source_partition_date"]
PROVENANCE += ["_source_age_days", "_gap_filled"]


def consolidated_key(entity: str) -> str:
    return f"stellantis/consolidated/{entity}"


def job_keys() -> list[str]:
    keys = [k.to_user_string() for k in defs().resolve_all_asset_keys()]
    wanted = [k for k in keys if k.split("/")[1] in ("raw", "transformed", "consolidated")]
    return sorted(public_only(wanted))


def table(catalog: IcebergCatalogResource, entity: str, day: dt.date) -> pl.DataFrame:
    frame = catalog.scan_partition(consolidated_key(entity), day).collect()
    return frame.sort(ID_COLUMNS[entity])


def expected_history(served: dict[dt.date, set[str]], day: dt.date) -> dict[str, tuple]:
    """vin -> (first_seen, last_seen, active, sold_date) from the served vins of each day."""
    seen: dict[str, list[dt.date]] = {}
    for d in sorted(d for d in served if d <= day):
        for vin in served[d]:
            seen.setdefault(vin, []).append(d)
    return {
        vin: (days[0], days[-1], vin in served[day], None if vin in served[day] else days[-1])
        for vin, days in seen.items()
    }


def dealer_id(code: str) -> str:
    canonical = f"ai-id/v1|stellantis/us/dealers|dealer_code={len(code.encode())}:{code}"
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_days(
    env: UpstreamEnv, keys: list[str], monkeypatch: pytest.MonkeyPatch
) -> dict[tuple[dt.date, str, str], bool]:
    """Every day raw to consolidated in one run of the job; the locator is down on the failed day.

    Returns whether each consolidated check passed, by (day, entity, check).
    """
    checks = {}
    for day in DAYS:
        failing = day == FAILED_DAY
        monkeypatch.setenv("AI_TODAY", day.isoformat())
        env.upstream.set_state(date=day, faults=LOCATOR_DOWN if failing else "")
        result = materialize_day(keys, day.isoformat())
        assert result.success
        raw_checks = {
            c.asset_key.to_user_string(): c
            for c in result.get_asset_check_evaluations()
            if c.asset_key.path[1] == "raw" and c.check_name == "completeness"
        }
        locator = raw_checks["stellantis/raw/public_dealers"]
        assert locator.passed is not failing
        if failing:
            assert locator.severity.value == "ERROR"
            assert locator.metadata["unobserved_sub_resources"].value == sorted(BRANDS)
            assert "not fetched" in (locator.description or "")
        for check in result.get_asset_check_evaluations():
            if check.asset_key.path[1] == "consolidated":
                checks[(day, check.asset_key.path[-1], check.check_name)] = check.passed or (
                    only_dealerconnect_missing(check)
                )
    return checks


def test_five_days_fill_the_failed_locator_track_history_and_rerun_identically(
    stellantis_env: UpstreamEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STELLANTIS_BRANDS", ",".join(BRANDS))
    monkeypatch.setenv("STELLANTIS_INVENTORY_MAX_RETRIES", "0")
    keys = job_keys()
    assert {consolidated_key(e) for e in ENTITIES} <= set(keys)
    checks = run_days(stellantis_env, keys, monkeypatch)
    assert len(checks) == len(DAYS) * len(ENTITIES) * 2
    assert all(checks.values()), [k for k, passed in checks.items() if not passed]
    catalog = IcebergCatalogResource(data_dir=str(stellantis_env.data_dir))
    truths = {d: stellantis_env.upstream.truth(brands=BRANDS, date=d) for d in DAYS}

    # The locator has no partition on the failed day; its day-before rows fill the gap, flagged.
    assert FAILED_DAY not in catalog.partition_dates("stellantis/transformed/locator_dealers")
    before, failed = (table(catalog, "dealers", d) for d in (DAYS[1], FAILED_DAY))
    located = set(truths[DAYS[1]].dealers["dealerCode"])
    filled = failed.filter(pl.col("_winner") == "locator")
    assert set(filled["dealer_code"]) == located
    assert filled["_source_partition_date"].unique().to_list() == [DAYS[1]]
    assert filled["_source_age_days"].unique().to_list() == [1]
    assert filled["_gap_filled"].all()
    assert_frame_equal(
        filled.drop(PROVENANCE),
        before.filter(pl.col("dealer_code").is_in(located)).drop(PROVENANCE),
    )
    for day in (DAYS[1], DAYS[3]):
        dealers = table(catalog, "dealers", day)
        assert not dealers["_gap_filled"].any()
        assert dealers["_source_partition_date"].unique().to_list() == [day]
    assert failed["dealer_id"].to_list() == [dealer_id(c) for c in failed["dealer_code"]]

    # History: first and last seen, active, and the sold date of vehicles no longer served.
    served = {d: set(t.vehicles["vin"]) for d, t in truths.items()}
    departures = sum(len(served[a] - served[b]) for a, b in itertools.pairwise(DAYS))
    assert departures > 0
    for day in DAYS:
        inventory = table(catalog, "inventory", day)
        got = {
            r[0]: r[1:]
            for r in inventory.select(
                "vin", "first_seen", "last_seen", "active", "sold_date"
            ).iter_rows()
        }
        assert got == expected_history(served, day), day
        active = inventory.filter("active")
        assert active.height == len(served[day])
        # Every listed vehicle links to its dealer and model, also on the failed day.
        assert active["dealer_id"].null_count() == active["model_id"].null_count() == 0
        assert active["dealer_id"].to_list() == [dealer_id(c) for c in active["dealer_code"]]
        assert set(active["dealer_id"]) <= set(table(catalog, "dealers", day)["dealer_id"])
        listed = set(truths[day].vehicles.select("vin", "dealerCode").iter_rows())
        assert set(active.select("vin", "dealer_code").iter_rows()) == listed

    # Rerunning a day, the gap-filled one included, gives the same tables.
    for day in (FAILED_DAY, DAYS[-1]):
        first = {e: table(catalog, e, day) for e in ENTITIES}
        assert materialize_day([consolidated_key(e) for e in ENTITIES], day.isoformat()).success
        for entity in ENTITIES:
            assert_frame_equal(table(catalog, entity, day), first[entity])
