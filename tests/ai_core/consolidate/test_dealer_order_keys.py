"""A key alternative of several fields: a dealer's order number, which other dealers may share.

Vehicles are matched by VIN or by (dealer, order number), and the id hashes the dealer with the
order number, taken together from one row; a previous entity that today's rows split in two
gives its id to one of them only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import polars as pl
import pytest
from pydantic import ValidationError

from ai_core.consolidate import EntitySpec, consolidate
from ai_core.consolidate.engine import ConsolidationStream, keep_previous_ids
from tests.ai_core.consolidate.frames import DAY, frame, inputs, vehicle_spec

NAMESPACE = "acme/US/vehicles"
KEY = [["dealer_code", "order_number"], "vin"]
MATCH = [["vin"], ["dealer_code", "order_number"]]


def spec(**overrides: Any) -> EntitySpec:
    settings: dict[str, Any] = {
        "key_fields": KEY,
        "merge": {"match_on": MATCH},
        "history": {"retain_sold_days": 3},
    }
    return vehicle_spec(**(settings | overrides))


def expected_id(*pairs: tuple[str, str]) -> str:
    encoded = "|".join(f"{name}={len(value.encode())}:{value}" for name, value in pairs)
    return hashlib.sha256(f"ai-id/v1|{NAMESPACE}|{encoded}".encode()).hexdigest()


def run(
    public: list[dict[str, object]],
    dealer: list[dict[str, object]],
    previous: pl.DataFrame | None = None,
    day: dt.date = DAY,
) -> pl.DataFrame:
    entity = spec()
    frames = {"public": frame(public), "dealer": frame(dealer)}
    result = consolidate(entity, day, inputs(entity, frames, day=day), NAMESPACE, None, previous)
    assert result.integrity.duplicate_ids == 0
    return result.frame


def test_two_dealers_sharing_an_order_number_are_two_vehicles() -> None:
    out = run(
        [],
        [
            {"dealer_code": "10001", "order_number": "002516"},
            {"dealer_code": "10002", "order_number": "002516"},
        ],
    )
    assert out.height == 2
    assert sorted(out["vehicle_id"]) == sorted(
        expected_id(("dealer_code", d), ("order_number", "002516")) for d in ("10001", "10002")
    )


def test_the_id_pairs_the_order_number_with_the_dealer_of_the_same_row() -> None:
    # The public site lists the unit at another dealer and wins the dealer_code field; the id
    # still hashes the dealer that owns the order number, and the row does not show that order
    # number beside the site's dealer, where it would name another unit.
    out = run(
        [{"vin": "V1", "dealer_code": "20000", "price": 1}],
        [{"vin": "V1", "dealer_code": "10001", "order_number": "002516"}],
    )
    assert out.select("dealer_code", "order_number").row(0) == ("20000", None)
    assert out["vehicle_id"].to_list() == [
        expected_id(("dealer_code", "10001"), ("order_number", "002516"))
    ]


def test_a_sale_of_the_site_dealers_own_order_number_is_not_this_vehicles() -> None:
    # Dealer 20000 lists V1, which dealer 10001's portal holds as its order 002516; dealer
    # 20000 sells its own unit 002516. The listing stays unsold; the other unit is sold.
    history = {
        "retain_sold_days": 3,
        "sales": {
            "source": "acme/transformed/sales",
            "date_field": "sale_date",
            "match_on": [["dealer_code", "order_number"], ["vin"]],
        },
    }
    entity = spec(history=history)
    frames = {
        "public": frame([{"vin": "V1", "dealer_code": "20000"}]),
        "dealer": frame(
            [
                {"vin": "V1", "dealer_code": "10001", "order_number": "002516"},
                {"vin": "V2", "dealer_code": "20000", "order_number": "002516"},
            ]
        ),
    }
    sales = pl.DataFrame(
        {"dealer_code": ["20000"], "order_number": ["002516"], "vin": ["V2"], "sale_date": [DAY]}
    )
    result = consolidate(
        entity, DAY, inputs(entity, frames, day=DAY), NAMESPACE, None, None, sales=sales
    )
    sold = dict(result.frame.select("vin", "sold_date").iter_rows())
    assert sold == {"V1": None, "V2": DAY}


def test_a_dealer_code_without_an_order_number_falls_to_the_vin() -> None:
    out = run([{"vin": "V1", "dealer_code": "20000"}], [])
    assert out["vehicle_id"].to_list() == [expected_id(("vin", "V1"))]


def test_a_unit_keeps_its_id_when_its_vin_appears() -> None:
    unit = {"dealer_code": "10001", "order_number": "002516"}
    first = run([], [unit])
    later = run(
        [{"vin": "V1", "dealer_code": "10001"}],
        [unit | {"vin": "V1"}],
        previous=first,
        day=DAY + dt.timedelta(days=1),
    )
    assert later.filter(pl.col("active"))["vehicle_id"].to_list() == first["vehicle_id"].to_list()


def test_a_listing_joined_by_its_units_vin_keeps_the_units_id_and_nothing_is_sold() -> None:
    # The site lists the VIN before the dealer's portal gives it to the unit: two vehicles,
    # then one. The unit's id is the one its keys compute; the listing's is merged, not sold.
    listing = {"vin": "V1", "dealer_code": "10001"}
    unit = {"dealer_code": "10001", "order_number": "002516"}
    first = run([listing], [unit])
    assert first.height == 2
    later_day = DAY + dt.timedelta(days=1)
    later = run([listing], [unit | {"vin": "V1"}], previous=first, day=later_day)
    unit_id = expected_id(("dealer_code", "10001"), ("order_number", "002516"))
    assert later.select("vehicle_id", "active", "sold_date").rows() == [(unit_id, True, None)]
    # The materialization counts the listing's id as merged.
    entity = spec()
    frames = {"public": frame([listing]), "dealer": frame([unit | {"vin": "V1"}])}
    stream = ConsolidationStream(
        entity, later_day, inputs(entity, frames, day=later_day), NAMESPACE, None, first
    )
    assert sum(chunk.height for chunk in stream.chunks()) == 1
    assert stream.output_metadata()["merged_ids"] == 1


def test_a_unit_whose_vin_is_lost_for_a_day_keeps_its_id_and_the_listing_gets_its_own() -> None:
    # One vehicle in both sources; then the portal gives no VIN (a placeholder), so the listing
    # and the unit no longer match: two vehicles with distinct ids, neither sold.
    listing = {"vin": "V1", "dealer_code": "10001"}
    unit = {"dealer_code": "10001", "order_number": "002516"}
    unit_id = expected_id(("dealer_code", "10001"), ("order_number", "002516"))
    first = run([listing], [unit | {"vin": "V1"}])
    assert first["vehicle_id"].to_list() == [unit_id]
    apart = run([listing], [unit], previous=first, day=DAY + dt.timedelta(days=1))
    assert sorted(apart.select("vehicle_id", "active", "sold_date").rows()) == sorted(
        [(unit_id, True, None), (expected_id(("vin", "V1")), True, None)]
    )
    again = run([listing], [unit | {"vin": "V1"}], previous=apart, day=DAY + dt.timedelta(days=2))
    assert again.select("vehicle_id", "active", "sold_date").rows() == [(unit_id, True, None)]


def old_id(order_number: str) -> str:
    """An id of the order number alone, as vehicles had before dealers' numbers were apart."""
    canonical = f"ai-id/v1|{NAMESPACE}|order_number={len(order_number)}:{order_number}"
    return hashlib.sha256(canonical.encode()).hexdigest()


def test_across_the_change_of_key_units_keep_their_ids_and_a_merged_pair_splits() -> None:
    # The day before: one dealer's unit alone under its order number, and two dealers' units
    # merged into one vehicle with the VIN of one and the dealer of the other.
    previous = run(
        [],
        [
            {"dealer_code": "10003", "order_number": "002517"},
            {"dealer_code": "10002", "order_number": "002516", "vin": "V1"},
        ],
    )
    previous = previous.with_columns(
        pl.col("order_number").map_elements(old_id, pl.String).alias("vehicle_id")
    )
    today = run(
        [],
        [
            {"dealer_code": "10003", "order_number": "002517"},
            {"dealer_code": "10001", "order_number": "002516", "vin": "V1"},
            {"dealer_code": "10002", "order_number": "002516", "vin": "V2"},
        ],
        previous=previous,
        day=DAY + dt.timedelta(days=1),
    )
    ids = {(r["dealer_code"], r["vin"]): r["vehicle_id"] for r in today.iter_rows(named=True)}
    assert ids == {
        ("10003", None): old_id("002517"),
        # Found by VIN, the first match key: V1's unit keeps the old id; the other gets its own.
        ("10001", "V1"): old_id("002516"),
        ("10002", "V2"): expected_id(("dealer_code", "10002"), ("order_number", "002516")),
    }
    assert today["active"].all()


def test_keep_previous_ids_gives_a_previous_id_once() -> None:
    keys = pl.DataFrame(
        {
            "vin": ["V1", None, "V3"],
            "dealer_code": ["D1", "D2", "D3"],
            "order_number": ["O1", "O2", "O3"],
            "vehicle_id": ["c", "a", "b"],
        }
    )
    previous = pl.DataFrame(
        {
            "vin": ["V1", "V3"],
            "dealer_code": ["D2", "D9"],
            "order_number": ["O2", "O9"],
            "vehicle_id": ["old", "older"],
        }
    )
    got, merged = keep_previous_ids(keys, previous, MATCH, "vehicle_id")
    assert got["vehicle_id"].to_list() == ["old", "a", "older"]
    assert merged.to_list() == []


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"id_policy": "hash_all"}, "only id_policy first_non_empty"),
        ({"key_fields": [["dealer_code", "order_number"], "order_number"]}, "names a field twice"),
        ({"key_fields": [[], "vin"]}, "key_fields is empty"),
    ],
)
def test_key_groups_are_checked(change: dict[str, object], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        spec(**change)
