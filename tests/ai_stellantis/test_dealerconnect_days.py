"""Four days of both stand-ins, raw to consolidated: ids across a VIN's arrival, observed sold
dates, a dealer table gone for a day, the code guides in models and features, and reruns.

Each day is one run of every asset. On the third day one dealer's inventory table is missing from
the dataset: its units are carried from the day before, flagged, and none reads as sold. On the
fourth another dealer's table is listed but holds no rows for the day (its portal was not read):
the same.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator

import orjson
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ai_core.iceberg.resource import IcebergCatalogResource
from ai_stellantis.definitions import defs
from standin.stellantis.dealerconnect.process import DealerConnectHandle, serve_dealerconnect
from tests.ai_stellantis.conftest import UpstreamEnv, materialize_day

DAYS = [dt.date(2026, 11, 18) + dt.timedelta(days=i) for i in range(4)]
GONE_DAY, UNREAD_DAY = DAYS[2], DAYS[3]
INVENTORY = "stellantis/consolidated/inventory"


@pytest.fixture(scope="module")
def dealerconnect() -> Iterator[DealerConnectHandle]:
    with serve_dealerconnect("tiny", seed=7, date=DAYS[0]) as handle:
        yield handle


@pytest.fixture
def bigquery(
    stellantis_env: UpstreamEnv, dealerconnect: DealerConnectHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The location reads the stand-in as its BigQuery, with no credentials (set after the
    public stand-in's environment, which names a BigQuery of its own)."""
    monkeypatch.setenv("STELLANTIS_BIGQUERY_ENDPOINT", dealerconnect.endpoint)
    monkeypatch.delenv("GCP_CREDENTIALS", raising=False)


def all_keys() -> list[str]:
    keys = [k.to_user_string() for k in defs().resolve_all_asset_keys()]
    return sorted(k for k in keys if k.split("/")[1] in ("raw", "transformed", "consolidated"))


def vehicle_id(*pairs: tuple[str, str]) -> str:
    encoded = "|".join(f"{field}={len(value)}:{value}" for field, value in pairs)
    canonical = f"ai-id/v1|stellantis/us/inventory|{encoded}"
    return hashlib.sha256(canonical.encode()).hexdigest()


UNIT = ["dealer_code", "order_number"]


def units(frame: pl.DataFrame) -> set[tuple[str, str]]:
    """The (dealer, order number) pairs of the frame's rows that have both."""
    return set(frame.select(UNIT).drop_nulls().rows())


def inventory(catalog: IcebergCatalogResource, day: dt.date) -> pl.DataFrame:
    return catalog.scan_partition(INVENTORY, day).collect().sort("vehicle_id")


CONSOLIDATED = ["dealers", "models", "features", "inventory", "trims", "guide_features"]


def consolidated(catalog: IcebergCatalogResource, name: str, day: dt.date) -> pl.DataFrame:
    """A consolidated table's day in id order (the id follows the partition date)."""
    frame = catalog.scan_partition(f"stellantis/consolidated/{name}", day).collect()
    return frame.sort(frame.columns[1])


@pytest.mark.usefixtures("bigquery")
def test_four_days_of_both_sources(
    stellantis_env: UpstreamEnv,
    dealerconnect: DealerConnectHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    truths = {d: dealerconnect.truth(d) for d in DAYS}
    gone_dealer, unread_dealer = truths[DAYS[0]].dealer_codes()[:2]
    faults = {
        GONE_DAY: f"vanish:inventory_{gone_dealer}",
        UNREAD_DAY: f"unread:inventory_{unread_dealer}",
    }
    keys = all_keys()
    price_checks = {}
    for day in DAYS:
        monkeypatch.setenv("AI_TODAY", day.isoformat())
        stellantis_env.upstream.set_state(date=day, faults="")
        dealerconnect.set_state(date=day, faults=faults.get(day, ""))
        result = materialize_day(keys, day.isoformat())
        assert result.success, day
        checks = {
            (c.asset_key.to_user_string(), c.check_name): c
            for c in result.get_asset_check_evaluations()
        }
        price_checks[day] = checks[(INVENTORY, "discrepancies")]
        if day == UNREAD_DAY:
            raw = checks[("stellantis/raw/dealerconnect_inventory", "completeness")]
            assert not raw.passed
            unread = f"inventory_{unread_dealer}"
            assert raw.metadata["unobserved_sub_resources"].value == [unread]
    catalog = IcebergCatalogResource(data_dir=str(stellantis_env.data_dir))
    days = {d: inventory(catalog, d) for d in DAYS}

    # Prices: a POC price more than the tolerance away from the public one is a discrepancy.
    public = catalog.scan_partition("stellantis/transformed/inventory_vehicles", DAYS[0])
    dealers = catalog.scan_partition("stellantis/transformed/dealerconnect_vehicles", DAYS[0])
    both = public.select("vin", "msrp").join(dealers.select("vin", "msrp"), on="vin").collect()
    apart = both.filter((pl.col("msrp") - pl.col("msrp_right")).abs() > 100).height
    assert apart > 0
    assert both.filter(pl.col("msrp") != pl.col("msrp_right")).height == apart
    assert price_checks[DAYS[0]].metadata["disagreeing.msrp"].value == apart

    # A unit ordered without a VIN keeps its id, the hash of its dealer and order number, once
    # it has one (the dealer unread on the last day is carried from the day before).
    first, last = truths[DAYS[0]].inventory(), truths[DAYS[-1]].inventory()
    gaining = (
        first.filter(pl.col("vin").is_null() & (pl.col("dealer_code") != unread_dealer))
        .select(UNIT)
        .join(last.filter(pl.col("vin").is_not_null()), on=UNIT)
    )
    assert gaining.height >= 3
    for dealer_code, order_number, vin in gaining.select(*UNIT, "vin").iter_rows():
        unit = (pl.col("dealer_code") == dealer_code) & (pl.col("order_number") == order_number)
        before, after = days[DAYS[0]].filter(unit), days[DAYS[-1]].filter(unit)
        assert before["vin"].to_list() == [None]
        assert after["vin"].to_list() == [vin]
        assert before["vehicle_id"].to_list() == after["vehicle_id"].to_list()
        assert after["vehicle_id"][0] == vehicle_id(
            ("dealer_code", dealer_code), ("order_number", order_number)
        )
        assert after["first_seen"][0] <= DAYS[0]

    # Dealers share order numbers: each dealer's unit is its own vehicle, with its own id.
    for day in DAYS:
        held = days[day].filter(pl.col("order_number").is_not_null())
        assert held.select(UNIT).is_unique().all()
        shared = held.filter(pl.col("dealer_code").n_unique().over("order_number") > 1)
        assert shared["order_number"].n_unique() >= 3, day
        assert shared["vehicle_id"].is_unique().all()

    # A public vehicle the dealers do not report keeps the VIN-based id it always had.
    public_only = days[DAYS[0]].filter(pl.col("order_number").is_null() & pl.col("active"))
    assert public_only.height > 0
    assert public_only["vehicle_id"].to_list() == [
        vehicle_id(("vin", v)) for v in public_only["vin"]
    ]

    # Sold dates: observed where DealerConnect reported the sale (its date exactly), else
    # inferred; a sale marks its own dealer's unit, not another dealer's of the same number.
    other_dealers_unit = 0
    for day in DAYS[1:]:
        sold = days[day].filter(pl.col("sold_date").is_not_null())
        observed = sold.filter(pl.col("sold_date_source") == "observed")
        reported = pl.concat([truths[d].sales() for d in DAYS if d <= day])
        want = {(d, o): s for d, o, s in reported.select(*UNIT, "sale_date").iter_rows()}
        got = {(d, o): s for d, o, s in observed.select(*UNIT, "sold_date").iter_rows()}
        assert got, day
        assert all(want[u] == d for u, d in got.items())
        todays = truths[day].sales()
        previously = units(days[day - dt.timedelta(days=1)])
        expected = {u for u in units(todays) if u in previously}
        assert expected <= set(got), day
        still_held = days[day].filter(pl.col("active") & pl.col("sold_date").is_null())
        other_dealers_unit += still_held.filter(
            pl.col("order_number").is_in(todays["order_number"].to_list())
        ).height
        inferred = sold.filter(pl.col("sold_date_source") == "inferred")
        assert inferred["order_number"].null_count() == inferred.height  # public-only vehicles
        assert (inferred["sold_date"] == inferred["last_seen"]).all()
        assert sold["sold_date_source"].null_count() == 0
        assert days[day].filter(pl.col("sold_date").is_null())["sold_date_source"].null_count() == (
            days[day].filter(pl.col("sold_date").is_null()).height
        )
    assert other_dealers_unit > 0

    # The dealer table gone for a day: its units stay, carried from the day before and flagged.
    held = set(truths[DAYS[1]].tables[f"inventory_{gone_dealer}"]["order_number"])
    of_gone = (pl.col("dealer_code") == gone_dealer) & pl.col("order_number").is_in(list(held))
    gone_day = days[GONE_DAY].filter(of_gone)
    dealer_only = gone_day.filter(pl.col("_winner") == "dealerconnect")
    assert dealer_only.height >= 5
    assert dealer_only["active"].all()
    assert dealer_only["_gap_filled"].all()
    assert dealer_only["_source_partition_date"].unique().to_list() == [DAYS[1]]
    sold_on_gone_day = set(truths[GONE_DAY].tables[f"sales_{gone_dealer}"]["order_number"])
    assert gone_day.filter(
        pl.col("sold_date").is_not_null() & ~pl.col("order_number").is_in(list(sold_on_gone_day))
    ).is_empty()
    back = days[DAYS[3]].filter(of_gone & pl.col("active"))
    assert back.height > 0
    assert not back["_gap_filled"].any()

    # The table with no rows for the day: its units are carried from the day before, not sold.
    held = set(truths[DAYS[2]].tables[f"inventory_{unread_dealer}"]["order_number"])
    sold = set(truths[UNREAD_DAY].tables[f"sales_{unread_dealer}"]["order_number"])
    of_unread = (pl.col("dealer_code") == unread_dealer) & pl.col("order_number").is_in(
        list(held - sold)
    )
    unread_day = days[UNREAD_DAY].filter(of_unread & (pl.col("_winner") == "dealerconnect"))
    assert unread_day.height >= 5
    assert unread_day["active"].all()
    assert unread_day["sold_date"].null_count() == unread_day.height
    assert unread_day["_gap_filled"].all()
    assert unread_day["_source_partition_date"].unique().to_list() == [DAYS[2]]

    # Models and features gain the code guides: model group, trims by CPP, descriptions.
    day = DAYS[-1]
    guides = {
        (r["model_year"], r["model_code"]): orjson.loads(r["guide"])
        for r in truths[day].latest_code_guides().iter_rows(named=True)
    }
    filed = (
        catalog.scan_partition("stellantis/transformed/inventory_models", day)
        .select("model_year_code", "model_year", "model_code")
        .unique()
        .collect()
    )
    models = consolidated(catalog, "models", day)
    features = consolidated(catalog, "features", day)
    described_models = 0
    for (code,), codes in filed.group_by("model_year_code"):
        described = [guides[k] for k in codes.select("model_year", "model_code").rows()]
        model = models.filter(pl.col("model_year_code") == code)
        assert model["model_group"].to_list() == [described[0]["modelGroup"]]
        trims = {(t["cpp"], t["name"]) for g in described for t in g["trims"]}
        assert sorted((t["cpp"], t["name"]) for t in model["trims"][0]) == sorted(trims)
        for kind, items in (("option", "options"), ("package", "packages")):
            offered = {i["code"]: i["description"] for g in described for i in g[items]}
            listed = features.filter(
                (pl.col("model_year_code") == code) & (pl.col("kind") == kind)
            ).filter(pl.col("code").is_in(list(offered)))
            assert dict(zip(listed["code"], listed["description"], strict=True)) == offered
        described_models += 1
    assert described_models > 0

    # Rerunning a day, the gap-filled one included, gives the same tables.
    for day in (GONE_DAY, DAYS[-1]):
        before = {name: consolidated(catalog, name, day) for name in CONSOLIDATED}
        monkeypatch.setenv("AI_TODAY", day.isoformat())
        dealerconnect.set_state(date=day, faults=faults.get(day, ""))
        stellantis_env.upstream.set_state(date=day)
        assert materialize_day(keys, day.isoformat()).success
        assert_frame_equal(inventory(catalog, day), days[day])
        for name, frame in before.items():
            assert_frame_equal(consolidated(catalog, name, day), frame)


@pytest.mark.usefixtures("bigquery")
def test_a_dealer_gone_for_good_leaves_unseen_not_sold(
    stellantis_env: UpstreamEnv,
    dealerconnect: DealerConnectHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    days = [DAYS[0] + dt.timedelta(days=i) for i in range(5)]
    gone = dealerconnect.truth(days[0]).dealer_codes()[0]
    keys = all_keys()
    for day in days:
        monkeypatch.setenv("AI_TODAY", day.isoformat())
        stellantis_env.upstream.set_state(date=day, faults="")
        dealerconnect.set_state(
            date=day, faults="" if day == days[0] else f"vanish:inventory_{gone}"
        )
        assert materialize_day(keys, day.isoformat()).success, day
    catalog = IcebergCatalogResource(data_dir=str(stellantis_env.data_dir))
    mine = (pl.col("dealer_code") == gone) & (pl.col("_sources") == ["dealerconnect"])
    # Carried while a recent day of the table is within the source's three days of history...
    carried = inventory(catalog, days[3]).filter(mine)
    assert carried.height >= 5
    assert carried["active"].all() and carried["_gap_filled"].all()
    # ... then gone from the active inventory without a sale: nothing saw them sold.
    after = inventory(catalog, days[4]).filter(
        mine & pl.col("order_number").is_in(carried["order_number"].implode())
    )
    assert after.height == carried.height
    assert not after["active"].any()
    # The dealer's sales table still reports the ones it sold; the others have no sold date.
    sold = after.filter(pl.col("sold_date").is_not_null())
    assert (sold["sold_date_source"] == "observed").all()
    unseen = after.filter(pl.col("sold_date").is_null())
    assert unseen.height >= 3
    assert unseen["sold_date_source"].null_count() == unseen.height
    # Other dealers' units that left the public listing are still read as sold.
    public_sold = inventory(catalog, days[4]).filter(
        ~pl.col("active") & pl.col("order_number").is_null() & (pl.col("last_seen") == days[3])
    )
    assert public_sold.height > 0
    assert public_sold["sold_date"].null_count() == 0


@pytest.mark.usefixtures("bigquery")
def test_a_dealer_outside_the_locators_area_is_a_dealer_by_its_code(
    stellantis_env: UpstreamEnv,
    dealerconnect: DealerConnectHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DealerConnect covers every onboarded dealer; a locator searching one city lists few. Each
    dealer DealerConnect names is a consolidated dealer, so each of its units links to one."""
    day = DAYS[0]
    monkeypatch.setenv("AI_TODAY", day.isoformat())
    monkeypatch.setenv("STELLANTIS_INVENTORY_ZIP", "10001")
    monkeypatch.setenv("STELLANTIS_INVENTORY_RADIUS", "50")
    stellantis_env.upstream.set_state(date=day, faults="")
    dealerconnect.set_state(date=day, faults="")
    result = materialize_day(all_keys(), day.isoformat())
    assert result.success
    catalog = IcebergCatalogResource(data_dir=str(stellantis_env.data_dir))
    located = catalog.scan_partition("stellantis/transformed/locator_dealers", day).collect()
    named = set(dealerconnect.truth(day).dealer_codes())
    outside = named - set(located["dealer_code"])
    assert outside and located.height > 0

    dealers = consolidated(catalog, "dealers", day)
    assert named <= set(dealers["dealer_code"])
    theirs = dealers.filter(pl.col("dealer_code").is_in(sorted(outside)))
    assert theirs.height == len(outside)
    assert theirs["_sources"].to_list() == [["dealerconnect"]] * len(outside)
    assert theirs["name"].null_count() == len(outside)
    # A dealer the locator lists keeps the locator's name; DealerConnect adds no conflict.
    listed = dealers.filter(
        pl.col("dealer_code").is_in(sorted(named & set(located["dealer_code"])))
    )
    assert listed["name"].null_count() == 0

    units = inventory(catalog, day).filter(pl.col("dealer_code").is_in(sorted(outside)))
    assert units.height > 0
    assert units["dealer_id"].null_count() == 0
    ids = dict(dealers.select("dealer_code", "dealer_id").iter_rows())
    assert all(ids[c] == i for c, i in units.select("dealer_code", "dealer_id").iter_rows())
    (integrity,) = [
        c
        for c in result.get_asset_check_evaluations()
        if c.asset_key.to_user_string() == INVENTORY and c.check_name == "integrity"
    ]
    assert integrity.passed
    assert integrity.metadata["orphans.dealer_id"].value == 0
