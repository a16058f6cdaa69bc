"""Gap fill (which partition a source contributes) and the flags its rows carry."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from ai_core.consolidate import EntitySpec, NoSourceDataError, choose_partition, consolidate
from ai_core.consolidate.sources import with_keys_from, without_held_keys
from ai_core.consolidate.spec import KeyLookup
from tests.ai_core.consolidate.frames import DAY, frame, inputs, vehicle_spec


def _d(offset: int) -> dt.date:
    return DAY + dt.timedelta(days=offset)


@pytest.mark.parametrize(
    ("available", "history_days", "expected"),
    [
        ([_d(-3), _d(-1), _d(0)], 2, _d(0)),  # today's rows win
        ([_d(-3), _d(-1)], 2, _d(-1)),  # latest day within the window
        ([_d(-3), _d(-2)], 2, _d(-2)),  # the window's edge is included
        ([_d(-3)], 2, None),  # too old
        ([_d(-1)], 0, None),  # no window: today or nothing
        ([_d(1), _d(-1)], 2, _d(-1)),  # a later day (backfill) is never used
        ([], 5, None),
    ],
)
def test_choose_partition(
    available: list[dt.date], history_days: int, expected: dt.date | None
) -> None:
    assert choose_partition(DAY, available, history_days) == expected


def test_gap_filled_rows_say_where_they_come_from() -> None:
    spec = vehicle_spec()
    result = consolidate(
        spec,
        DAY,
        inputs(
            spec,
            {
                "public": frame([{"vin": "A", "price": 1}]),
                "dealer": frame([{"vin": "A", "price": 2}, {"vin": "B"}]),
            },
            ages={"dealer": 2},
        ),
        "acme/US/vehicles",
    )
    rows = {r["vin"]: r for r in result.frame.iter_rows(named=True)}
    assert (
        rows["A"]["_winner"],
        rows["A"]["_source_partition_date"],
        rows["A"]["_source_age_days"],
    ) == (
        "public",
        DAY,
        0,
    )
    assert rows["A"]["_sources"] == ["public", "dealer"]
    assert rows["A"]["_gap_filled"] is True  # the dealer's part is two days old
    assert (
        rows["B"]["_winner"],
        rows["B"]["_source_partition_date"],
        rows["B"]["_source_age_days"],
    ) == (
        "dealer",
        _d(-2),
        2,
    )
    usage = result.integrity.sources
    assert usage.select("_source", "partition_date", "rows", "won").rows() == [
        ("public", DAY, 1, 1),
        ("dealer", _d(-2), 2, 1),
    ]


def test_a_missing_source_is_reported_and_the_rest_consolidated() -> None:
    spec = vehicle_spec()
    result = consolidate(spec, DAY, inputs(spec, {"public": frame([{"vin": "A"}])}), "acme/US/v")
    assert result.frame["vin"].to_list() == ["A"]
    assert result.integrity.missing_sources == ["dealer"]
    assert result.integrity.warnings == ["source dealer has no partition in its history window"]


def test_no_source_at_all_is_an_error_naming_the_sources() -> None:
    spec = vehicle_spec()
    with pytest.raises(
        NoSourceDataError, match=r"acme/transformed/public \(2 d\).*acme/transformed/dealer"
    ):
        consolidate(spec, DAY, inputs(spec, {}), "acme/US/v")


def test_sources_are_aligned_by_field_name_with_renames_and_widened_types() -> None:
    spec = vehicle_spec(
        source_groups=[
            {"name": "public", "source": "a/t/p", "priority": 1},
            {
                "name": "dealer",
                "source": "a/t/d",
                "priority": 2,
                "rename": {"VIN": "vin", "msrp": "price"},
            },
        ]
    )
    dealer = pl.DataFrame(
        {"VIN": ["A", "B"], "msrp": pl.Series([7, 9], dtype=pl.Int32), "extra": ["x", "y"]}
    )
    result = consolidate(
        spec,
        DAY,
        inputs(spec, {"public": frame([{"vin": "A", "price": 5}]), "dealer": dealer}),
        "a/US/v",
    )
    got = result.frame.select("vin", "price", "extra").rows()
    # price is merged by max across the renamed column and the public one.
    assert sorted(got) == [("A", 7, "x"), ("B", 9, "y")]
    assert result.frame.schema["price"] == pl.Int64


def test_an_unknown_rename_names_the_source_and_its_columns() -> None:
    spec = vehicle_spec(
        source_groups=[
            {"name": "public", "source": "a/t/p", "priority": 1, "rename": {"VIN": "vin"}}
        ]
    )
    with pytest.raises(KeyError, match=r"source public \(a/t/p\) has no columns \['VIN'\]"):
        consolidate(spec, DAY, inputs(spec, {"public": frame([{"vin": "A"}])}), "a/US/v")


def test_excluded_columns_stay_out_of_the_entity_and_unknown_ones_are_named() -> None:
    def spec_with(exclude: list[str]) -> EntitySpec:
        return vehicle_spec(
            source_groups=[
                {"name": "public", "source": "a/t/p", "priority": 1, "exclude": exclude}
            ],
            merge={"match_on": [["vin"]]},
        )

    rows = pl.DataFrame(
        {"vin": ["A"], "order_number": [None], "price": [5], "trim_code": ["T1"]},
        schema_overrides={"order_number": pl.String},
    )
    spec = spec_with(["trim_code"])
    result = consolidate(spec, DAY, inputs(spec, {"public": rows}), "a/US/v")
    assert "trim_code" not in result.frame.columns
    assert result.frame.select("vin", "price").rows() == [("A", 5)]
    spec = spec_with(["TRIM"])
    with pytest.raises(KeyError, match=r"source public \(a/t/p\) has no columns \['TRIM'\]"):
        consolidate(spec, DAY, inputs(spec, {"public": rows}), "a/US/v")


def test_key_from_gives_rows_the_key_a_table_files_them_under() -> None:
    lookup = KeyLookup(source="a/b/models", by=["year", "model"], take=["line_code"])
    guides = pl.LazyFrame(
        {"year": [2026, 2026, 2027, None], "model": ["JL", "KM", "JL", "JL"], "text": list("abcd")}
    )
    table = pl.LazyFrame(
        {
            "year": [2026, 2026, 2026, 2027],
            "model": ["JL", "JL", "KM", "XX"],
            "line_code": ["W26", "W26", "C26", "Z27"],
        }
    )
    got = with_keys_from(guides, table, lookup).collect()
    # Repeated table rows match once; a row the table does not know has no key.
    assert got.rows() == [
        (2026, "JL", "a", "W26"),
        (2026, "KM", "b", "C26"),
        (2027, "JL", "c", None),
        (None, "JL", "d", None),
    ]
    absent = with_keys_from(guides, None, lookup).collect()
    assert absent["line_code"].null_count() == 4
    with pytest.raises(KeyError, match=r"no \['year'\] to join on.*key_from.by"):
        with_keys_from(guides.drop("year"), table, lookup)


def test_a_record_fetched_today_is_not_carried_under_any_key_it_has() -> None:
    earlier = pl.LazyFrame(
        {
            "vin": ["V1", "V2", None, None],
            "dealer": ["D1", "D1", "D2", "D2"],
            "order": ["O1", "O2", "O3", "O4"],
        }
    )
    # Today holds V1 by its VIN, and O3 (which has since got a VIN) by dealer and order number.
    today = pl.LazyFrame({"vin": ["V1", "V9"], "dealer": ["D1", "D2"], "order": [None, "O3"]})
    alternatives = [("vin",), ("dealer_code", "order_number")]
    rename = {"dealer": "dealer_code", "order": "order_number"}
    kept = without_held_keys(earlier, today, alternatives, rename).collect()
    assert kept["order"].to_list() == ["O2", "O4"]
    # A source without the order number is matched by the VIN alone.
    vins = without_held_keys(earlier.drop("order"), today.drop("order"), alternatives, rename)
    assert vins.collect()["vin"].to_list() == ["V2", None, None]
