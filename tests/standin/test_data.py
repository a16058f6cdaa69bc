"""The simulated market itself, in process: determinism, daily change, identifiers and quirks."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any

import orjson
import polars as pl
import pytest

from standin.stellantis.sites.catalog import BY_DOMAIN, OTHER_MAKERS
from standin.stellantis.sites.hashing import mix, mix_series
from standin.stellantis.sites.truth import GroundTruth, ground_truth
from standin.stellantis.sites.vin import check_digit
from standin.stellantis.sites.world import World
from tests.standin.conftest import DAY, MISLABEL_DAY, NEXT_DAY, SEED

CONTRACT_KEYS = {
    "vin", "brand", "modelYear", "modelYearCode", "assumedModelYearCode", "ccode", "llp",
    "statusCode", "dealerCode", "dealerName", "dealerZipCode", "dealerCity", "dealerState",
    "distance", "lat", "lon", "vehicleDesc", "trimDesc", "bodyStyle", "drivetrain", "engineDesc",
    "engineCode", "transmissionDesc", "transmissionCode", "fuelType", "mpgCity", "mpgHwy",
    "exteriorColorCode", "exteriorColorDesc", "interiorColorCode", "interiorColorDesc",
    "interiorFabric", "options", "packages", "price", "incentives", "attributes", "extImage",
    "intImage", "mackevisionData", "inventoryStatus", "stockNumber", "mileage",
    "daysInInventory", "lastUpdated",
}  # fmt: skip
PRICE_KEYS = {
    "msrp", "netPrice", "employeePrice", "destination", "discountedPrice", "totalIncentives",
}  # fmt: skip
WMI = {
    "jeep.com": {"1C4", "ZAC"},
    "dodge.com": {"1C4", "2C3", "ZAC"},
    "ramtrucks.com": {"1C6", "3C6"},
    "chrysler.com": {"2C3", "1C3"},
    "fiatusa.com": {"ZFB"},
    "alfaromeousa.com": {"ZAR"},
}
CPP = re.compile(r"^2[0-9][A-Z]$")


@pytest.fixture(scope="module")
def small() -> GroundTruth:
    return ground_truth(SEED, DAY, "small")


def _records(truth: GroundTruth) -> list[dict[str, Any]]:
    return [orjson.loads(j) for j in truth.vehicles["json"]]


def test_hash_is_the_same_in_python_and_polars() -> None:
    ids = [*range(-5, 2000, 7), 2**31 + 12, 123_456_789]
    assert mix_series(pl.Series(ids, dtype=pl.Int64)).to_list() == [mix(i) for i in ids]


def test_same_inputs_give_identical_bytes(tiny_world: World) -> None:
    first = ground_truth(SEED, DAY, "tiny", world=tiny_world)
    second = ground_truth(SEED, DAY, "tiny", world=World(SEED, "tiny"))
    assert first.vehicles.equals(second.vehicles)
    assert first.dealers.equals(second.dealers)
    assert first.codes.equals(second.codes)
    other_seed = ground_truth(SEED + 1, DAY, "tiny")
    assert other_seed.vehicles["json"].to_list() != first.vehicles["json"].to_list()


def test_the_next_day_moves_a_few_per_cent(small: GroundTruth) -> None:
    nxt = ground_truth(SEED, NEXT_DAY, "small")
    today, tomorrow = set(small.vehicles["vin"]), set(nxt.vehicles["vin"])
    sold, arrived = today - tomorrow, tomorrow - today
    assert 0.005 < len(sold) / len(today) < 0.05
    assert 0.005 < len(arrived) / len(today) < 0.05
    kept = small.vehicles.join(nxt.vehicles, on="vin", suffix="_next")
    repriced = (kept["price"] != kept["price_next"]).sum()
    assert 0.01 < repriced / kept.height < 0.15
    # Prices only ever drop as a vehicle ages.
    assert (kept["price_next"] <= kept["price"]).all()
    ages = {v["vin"]: v["daysInInventory"] for v in map(orjson.loads, nxt.vehicles["json"])}
    assert all(ages[vin] == 0 for vin in arrived)


def test_scopes_have_their_sizes(truth: GroundTruth, small: GroundTruth) -> None:
    assert 200 <= truth.vehicles.height <= 500
    assert 4000 <= small.vehicles.height <= 8000
    assert set(truth.vehicles["domain"]) == set(BY_DOMAIN)
    per_brand = dict(small.vehicles.group_by("domain").len().iter_rows())
    assert per_brand["jeep.com"] > per_brand["ramtrucks.com"] > per_brand["dodge.com"]
    assert per_brand["dodge.com"] > per_brand["chrysler.com"] > per_brand["alfaromeousa.com"]


def test_every_vehicle_carries_the_contract_fields(small: GroundTruth) -> None:
    for record in _records(small):
        missing = CONTRACT_KEYS - record.keys()
        assert not missing, (record["vin"], missing)
        if record["price"] is not None:
            assert set(record["price"]) == PRICE_KEYS


def test_identifiers_are_consistent(small: GroundTruth) -> None:
    assert small.vehicles["vin"].n_unique() == small.vehicles.height
    for domain, record in zip(small.vehicles["domain"], _records(small), strict=True):
        brand = BY_DOMAIN[domain]
        vin, code = str(record["vin"]), str(record["modelYearCode"])
        assert len(vin) == 17 and not set(vin) & set("IOQ")
        assert vin[:3] in WMI[domain]
        assert vin[8] == check_digit(vin)
        assert len(code) == 9 and code[2] == brand.code_letter
        assert record["modelYear"] == code[3:7]
        cpps = [o for o in record["options"] if CPP.match(o)]
        assert len(cpps) == 1
        ccode = str(record["ccode"])
        assert ccode.startswith(code) and len(ccode) > 15
        model_code = ccode[9:15]
        assert re.match(r"^[A-Z0-9]{6}$", model_code)
        image = dict(kv.split("=", 1) for kv in str(record["extImage"]).split("&"))
        assert image["brand"] == brand.letter
        assert image["sa"].split(",") == [model_code, image["sa"].split(",")[1], cpps[0]]
        assert image["vehicle"].startswith(code[3:7] + "_")


def test_vehicle_dealers_match_the_locator(small: GroundTruth) -> None:
    dealers = {
        (d, code): orjson.loads(j)
        for d, code, j in small.dealers.select("domain", "dealerCode", "json").iter_rows()
    }
    for domain, record in zip(small.vehicles["domain"], _records(small), strict=True):
        dealer = dealers[(domain, record["dealerCode"])]
        for key in ("dealerName", "dealerCity", "dealerState", "dealerZipCode"):
            assert record[key] == dealer[key]
        assert float(dealer["dealerShowroomLatitude"]) == record["lat"]
        assert float(dealer["dealerShowroomLongitude"]) == record["lon"]


def test_the_dealer_network(small: GroundTruth) -> None:
    world = World(SEED, "national")
    assert len(world.dealers) == 2500
    assert len({d.code for d in world.dealers}) == 2500
    multi = sum(1 for d in world.dealers if {"C", "D", "J", "R"} <= set(d.brands))
    assert multi / len(world.dealers) > 0.75
    states = Counter(d.state for d in world.dealers)
    assert states["NY"] > states["KS"] > 0
    listed = orjson.loads(small.dealers["json"][0])
    assert set(listed["departments"]["sales"]["hours"]) >= {"monday", "sunday"}
    assert isinstance(listed["dealerShowroomLatitude"], str)


def test_quirks_are_present_and_stable(small: GroundTruth) -> None:
    records = _records(small)
    msrp_types = Counter(
        type(r["price"]["msrp"]).__name__ for r in records if r["price"] is not None
    )
    assert msrp_types["int"] > msrp_types["str"] > 0
    assert all(
        re.match(r"^\$\d{1,3}(,\d{3})*$", r["price"]["msrp"])
        for r in records
        if r["price"] is not None and isinstance(r["price"]["msrp"], str)
    )
    flags = Counter(repr(r.get("isDemo", "missing")) for r in records)
    assert {"'Y'", "'N'", "False", "'missing'"} <= set(flags)
    assert any(r["price"] is None for r in records)
    assert any(r["mackevisionData"] is None for r in records)
    assert any(r["interiorFabric"] == "" for r in records)
    assert any(r["mpgCity"] == "" for r in records)
    assert any(isinstance(r["mileage"], str) for r in records)


def test_some_days_a_few_vehicles_name_another_maker() -> None:
    normal = ground_truth(SEED, DAY, "small")
    odd = ground_truth(SEED, MISLABEL_DAY, "small")
    brands = {b.name for b in BY_DOMAIN.values()}
    assert not [r for r in _records(normal) if r["brand"] not in brands]
    wrong = [
        (d, r)
        for d, r in zip(odd.vehicles["domain"], _records(odd), strict=True)
        if r["brand"] not in brands
    ]
    assert len(wrong) == 7
    for domain, record in wrong:
        assert record["brand"] in OTHER_MAKERS
        assert f"brand={BY_DOMAIN[domain].letter}&" in str(record["extImage"])
        assert str(record["vin"])[:3] in WMI[domain]


def test_radius_search_is_a_small_subset(small: GroundTruth) -> None:
    ny = ground_truth(SEED, DAY, "small", "10001", 50)
    assert 0 < ny.vehicles.height < small.vehicles.height * 0.2
    assert set(ny.vehicles["vin"]) <= set(small.vehicles["vin"])
    assert (ny.dealers["distance"] <= 50).all()
    distances = [orjson.loads(j)["distance"] for j in ny.vehicles["json"]]
    assert max(distances) <= 50
    counts = dict(ny.codes.select(pl.concat_str("domain", "code"), "count").iter_rows())
    served = ny.vehicles.group_by(pl.concat_str("domain", "modelYearCode")).len()
    assert counts == dict(served.iter_rows())


def test_some_pages_spell_totalcount_differently(tiny_world: World) -> None:
    day = dt.date.fromisoformat(DAY)
    spellings = Counter(
        tiny_world.total_count_key(day, domain, f"IU{letter}2026{n:02d}", page)
        for domain, letter in (("jeep.com", "J"), ("dodge.com", "D"))
        for n in range(100)
        for page in range(1, 6)
    )
    assert spellings["totalcount"] > spellings["totalCount"] > 0
    again = tiny_world.total_count_key(day, "jeep.com", "IUJ202610", 1)
    assert again == World(SEED, "tiny").total_count_key(day, "jeep.com", "IUJ202610", 1)


def test_model_year_codes_span_two_or_three_years(small: GroundTruth) -> None:
    jeep = small.codes.filter(pl.col("domain") == "jeep.com")
    assert 2 <= jeep["year"].n_unique() <= 3
    assert {"Wrangler", "Grand Cherokee", "Compass", "Gladiator"} <= set(jeep["vehicleLine"])
    assert jeep["count"].sum() == small.vehicles.filter(pl.col("domain") == "jeep.com").height


@pytest.mark.parametrize("day", ["2027-03-01", "2028-07-15"])
def test_other_dates_render(day: str) -> None:
    world = World(SEED, "tiny")
    result = ground_truth(SEED, dt.date.fromisoformat(day), "tiny", world=world)
    years = {int(c[3:7]) for c in result.vehicles["modelYearCode"]}
    assert max(years) in (int(day[:4]), int(day[:4]) + 1)
    assert all(orjson.loads(j) for j in result.vehicles["json"])
