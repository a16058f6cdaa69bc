"""The vectorised extractor against the per-record Pydantic path: same rows, same rejections.

Generated payloads start from contract-shaped vehicles and then lose keys, get nulls, junk text,
values of the wrong type and unknown keys, at every level. One difference is known and kept out
of the generator: Polars parses some 17-significant-digit floats one unit in the last place away
from Python, so generated floats have at most 9 significant digits (prices and coordinates
have far fewer; money is read from its text as a decimal, never through a float).
"""

from __future__ import annotations

import random
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ai_core.transform import compile_extractor, oracle_extraction
from ai_stellantis.brands import BY_DOMAIN
from ai_stellantis.entities import SOURCES, InventoryDealer, InventoryVehicle
from tests.ai_core.transform.agree import assert_same
from tests.ai_core.transform.payloads import inventory_body, raw_rows, vehicle

TRICKY_TEXT = [
    "",
    " ",
    "$52,345",
    " 12 ",
    "1,234.50",
    "-$500",
    "Y",
    "N",
    "yes",
    "true",
    "0",
    "-0",
    "+5",
    "5.",
    ".5",
    "1e5",
    "1E+05",
    "2026-11-30",
    "11/30/2026",
    "2026-02-30",
    "2026-11-20T10:15:00Z",
    "2026-11-20 10:15:30+05:30",
    "{x}",
    "[1]",
    "[]",
    "{}",
    "null",
    "22W",
    "2\n2W",
    "\t4WD\n",
    "Drive",
    "ZAC",
    "brand=J",
    "a\\b",
    'quote"d',
    "é",
    "\x00",
]


def _floats() -> st.SearchStrategy[float]:
    return st.floats(-1e9, 1e9, allow_nan=False).map(lambda x: float(f"{x:.9g}"))


JUNK: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.sampled_from(TRICKY_TEXT),
    st.text(max_size=6),
    st.integers(-(2**63), 2**63 - 1),
    _floats(),
    st.booleans(),
    st.lists(st.sampled_from(["a", 1, None]), max_size=2),
    st.dictionaries(st.sampled_from(["code", "x", "value"]), st.sampled_from(["A", 2]), max_size=2),
)


@st.composite
def mutated(draw: st.DrawFn, value: Any, depth: int = 0) -> Any:
    """`value` with some keys dropped, nulled or replaced by junk, and some keys added."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, child in value.items():
            action = draw(st.integers(0, 99))
            if action < 4:
                continue
            if action < 8:
                out[key] = None
            elif action < 14:
                out[key] = draw(JUNK)
            else:
                out[key] = draw(mutated(child, depth + 1))
        if draw(st.integers(0, 99)) < 5:
            out[draw(st.sampled_from(["newKey", "vin2", "code"]))] = draw(JUNK)
        return out
    if isinstance(value, list):
        items = [draw(mutated(v, depth + 1)) for v in value]
        if draw(st.integers(0, 99)) < 10:
            items.insert(draw(st.integers(0, len(items))), draw(JUNK))
        if items and draw(st.integers(0, 99)) < 10:  # an element listed twice, maybe padded
            copy = items[draw(st.integers(0, len(items) - 1))]
            items.append(f" {copy} " if isinstance(copy, str) else copy)
        return items
    return value if draw(st.integers(0, 99)) < 85 else draw(JUNK)


@st.composite
def inventory_batch(draw: st.DrawFn) -> list[tuple[str, int, bytes]]:
    rng = random.Random(draw(st.integers(0, 2**32)))
    domain = draw(st.sampled_from(["jeep.com", "ramtrucks.com", "fiatusa.com"]))
    brand = BY_DOMAIN[domain]
    code = f"IU{brand.code_letter}202610"
    pages = []
    for number in range(1, draw(st.integers(1, 3)) + 1):
        vehicles = [
            draw(mutated(vehicle(rng, brand, code))) for _ in range(draw(st.integers(0, 4)))
        ]
        if draw(st.integers(0, 99)) < 5:
            vehicles.insert(0, draw(JUNK))
        total = draw(st.one_of(st.integers(0, 500), st.sampled_from(["12", "$1,200", ""])))
        body = inventory_body(vehicles, 0, draw(st.sampled_from(["totalcount", "totalCount"])))
        page = orjson.loads(body)
        page["result"]["data"]["metadata"]["totalcount"] = total
        pages.append((f"{domain}/{code}", number, orjson.dumps(page)))
    return pages


INVENTORY_SOURCES = [e for e in SOURCES if e.records and e.records.levels[0][0] == "result"]
EXTRACTORS = {e: compile_extractor(e, detect_drift=False) for e in SOURCES}
PROPERTY = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    report_multiple_bugs=False,
)


@PROPERTY
@given(pages=inventory_batch())
def test_the_vehicle_agrees_with_the_pydantic_path(pages: list[tuple[str, int, bytes]]) -> None:
    raw = raw_rows(pages)
    got = EXTRACTORS[InventoryVehicle].extract(raw)
    assert_same(got, oracle_extraction(InventoryVehicle, raw), InventoryVehicle)


@settings(PROPERTY, max_examples=30)
@given(pages=inventory_batch())
def test_entities_inside_inventory_agree_with_the_pydantic_path(
    pages: list[tuple[str, int, bytes]],
) -> None:
    raw = raw_rows(pages)
    for entity in INVENTORY_SOURCES:
        assert_same(EXTRACTORS[entity].extract(raw), oracle_extraction(entity, raw), entity)


def test_a_vehicle_of_the_wrong_shape_is_rejected_by_both_paths() -> None:
    body = inventory_body(
        [{"vin": "1C4HJXEN5RW123456"}, "not a vehicle", None, {"brand": "Jeep"}], 4
    )
    raw = raw_rows([("jeep.com/IUJ202610", 1, body)])
    got = compile_extractor(InventoryVehicle).extract(raw)
    want = oracle_extraction(InventoryVehicle, raw)
    assert_same(got, want, InventoryVehicle)
    assert got.rows["vin"].to_list() == ["1C4HJXEN5RW123456"]
    assert got.rejected["_record_index"].to_list() == [1, 2, 3]
    assert got.rejected["reason"].to_list() == ["no vin"] * 3


def test_a_page_that_is_not_json_is_malformed_for_both_paths() -> None:
    good = inventory_body([{"vin": "1C4HJXEN5RW123456"}], 1)
    raw = raw_rows([("jeep.com/IUJ202610", 1, good), ("jeep.com/IUJ202610", 2, good[:40])])
    got = compile_extractor(InventoryVehicle).extract(raw)
    assert_same(got, oracle_extraction(InventoryVehicle, raw), InventoryVehicle)
    assert got.pages["status"].to_list() == ["ok", "malformed"]
    assert got.pages["reported_total"].to_list() == [1, None]


def test_a_vehicle_without_its_model_year_code_takes_the_code_its_page_was_asked_for() -> None:
    rng = random.Random(3)
    listed, bare = (vehicle(rng, BY_DOMAIN["jeep.com"], "IUJ202610") for _ in range(2))
    del bare["modelYearCode"]
    listed["modelYearCode"] = "IUJ202710"  # a vehicle's own code wins over the page's
    raw = raw_rows([("jeep.com/IUJ202610", 1, inventory_body([listed, bare], 2))])
    for entity in INVENTORY_SOURCES:
        got = EXTRACTORS[entity].extract(raw)
        assert_same(got, oracle_extraction(entity, raw), entity)
        assert got.rejected.height == 0, entity
        if "model_year_code" in got.rows.columns:
            codes = set(got.rows["model_year_code"])
            assert codes == {"IUJ202710", "IUJ202610"}, entity


DEALER_KEYS = ("distance", "lat", "lon")


def test_an_unreadable_value_of_a_repeated_record_counts_every_copy_and_shows_the_first() -> None:
    # Two vehicles carry one dealer record whose latitude is unreadable; a third reads.
    rng = random.Random(5)
    first, second, third = (vehicle(rng, BY_DOMAIN["jeep.com"], "IUJ202610") for _ in range(3))
    for record in (first, second, third):
        record.update(dealerCode="60421", dealerName="Sixty", dealerZipCode="10001")
    first["lat"] = "n/a"
    second.update({k: v for k, v in first.items() if k.startswith("dealer") or k in DEALER_KEYS})
    third["lat"] = "40.75"
    raw = raw_rows([("jeep.com/IUJ202610", 1, inventory_body([third, first, second], 3))])
    extraction = EXTRACTORS[InventoryDealer].extract(raw)
    assert_same(extraction, oracle_extraction(InventoryDealer, raw), InventoryDealer)
    assert extraction.collapsed == 1  # the two copies were typed once
    assert extraction.unreadable == {"latitude": 2}
    assert extraction.unreadable_samples.select("_record_index", "value").rows() == [(1, "n/a")]


def test_a_lower_case_vin_brand_and_attribute_names_in_another_case_read_alike() -> None:
    """Servers differ in case: a VIN is case-insensitive, so is a brand or an attribute name."""
    rng = random.Random(5)
    shouting, plain = (vehicle(rng, BY_DOMAIN["jeep.com"], "IUJ202610") for _ in range(2))
    shouting["vin"] = f" {shouting['vin'].lower()} "
    shouting["brand"] = "JEEP"
    shouting["attributes"] = {
        "attributes": [
            {"typeDesc": "DRIVE", "value": "4WD"},
            {"typeDesc": " doors ", "value": "4"},
            {"typeDesc": "Real trim", "value": "Willys"},
        ]
    }
    raw = raw_rows([("jeep.com/IUJ202610", 1, inventory_body([shouting, plain], 2))])
    got = EXTRACTORS[InventoryVehicle].extract(raw)
    assert_same(got, oracle_extraction(InventoryVehicle, raw), InventoryVehicle)
    assert got.rejected.height == 0
    first = got.rows.row(0, named=True)
    assert first["vin"] == shouting["vin"].strip().upper()
    assert first["maker_code"] == first["vin"][:3] and first["vin_matches_brand"] is True
    # Only ASCII letters change case: a long s is no S, and its VIN is refused on both paths.
    odd = {**plain, "vin": "ſ" + plain["vin"][1:]}
    raw = raw_rows([("jeep.com/IUJ202610", 1, inventory_body([odd], 1))])
    got = EXTRACTORS[InventoryVehicle].extract(raw)
    assert_same(got, oracle_extraction(InventoryVehicle, raw), InventoryVehicle)
    assert got.rows.height == 0 and got.rejected.height == 1
    assert first["brand_corrected"] is False
    assert (first["drive"], first["doors"], first["real_trim"]) == ("4WD", 4, "Willys")


def test_a_negative_total_reports_nothing_on_both_paths() -> None:
    rng = random.Random(9)
    records = [vehicle(rng, BY_DOMAIN["jeep.com"], "IUJ202610") for _ in range(2)]
    pages = []
    for number, metadata in enumerate(
        ({"totalcount": -1}, {"totalcount": "-1", "exactMatchCount": 2}, {"totalCount": 2}),
        start=1,
    ):
        page = orjson.loads(inventory_body(records, 2))
        page["result"]["data"]["metadata"] = metadata
        pages.append(("jeep.com/IUJ202610", number, orjson.dumps(page)))
    raw = raw_rows(pages)
    got = EXTRACTORS[InventoryVehicle].extract(raw)
    assert_same(got, oracle_extraction(InventoryVehicle, raw), InventoryVehicle)
    assert got.pages["reported_total"].to_list() == [None, 2, 2]
