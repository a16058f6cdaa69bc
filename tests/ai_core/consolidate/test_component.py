"""`ConsolidatedComponent` from YAML, materialised over several days on a real Iceberg catalog."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ai_core.consolidate import ConsolidatedComponent
from ai_core.iceberg.resource import IcebergCatalogResource
from tests.ai_core.consolidate.runs import component_assets, materialize

YAML = """
oem: acme
market: US
start_date: "2026-11-01"
entities:
  - name: dealers
    id_column: dealer_id
    key_fields: [dealer_code]
    source_groups:
      - {name: public, source: acme/transformed/public_dealers, priority: 1, history_days: 3}
    merge:
      match_on: [[dealer_code]]
  - name: vehicles
    description: Vehicles in dealer stock, merged across feeds.
    id_column: vehicle_id
    key_fields: [vin, order_number]
    id_policy: first_non_empty
    source_groups:
      - {name: public, source: acme/transformed/public_vehicles, priority: 1, history_days: 2}
      - name: dealer
        source: acme/transformed/dealer_vehicles
        priority: 2
        rename: {msrp: price}
    merge:
      match_on: [[vin], [order_number]]
      fields:
        price: max
        options: union
    foreign_keys:
      - {column: dealer_id, entity: dealers, by: {dealer_code: dealer_code}}
    discrepancy_fields: [price]
    history: {retain_sold_days: 5}
"""

DAY1, DAY2, DAY3 = dt.date(2026, 11, 20), dt.date(2026, 11, 21), dt.date(2026, 11, 22)


@pytest.fixture
def component() -> ConsolidatedComponent:
    return ConsolidatedComponent.resolve_from_yaml(YAML)


@pytest.fixture
def catalog(tmp_path: Path) -> IcebergCatalogResource:
    return IcebergCatalogResource(catalog_name="consolidate-test", data_dir=str(tmp_path))


def test_builds_one_asset_per_entity_with_both_checks(component: ConsolidatedComponent) -> None:
    assets = {a.key: a for a in component_assets(component)}
    vehicles = dg.AssetKey(["acme", "consolidated", "vehicles"])
    dealers = dg.AssetKey(["acme", "consolidated", "dealers"])
    assert set(assets) == {vehicles, dealers}
    spec = assets[vehicles].specs_by_key[vehicles]
    assert {d.asset_key for d in spec.deps} == {
        dg.AssetKey(["acme", "transformed", "public_vehicles"]),
        dg.AssetKey(["acme", "transformed", "dealer_vehicles"]),
        dealers,
        vehicles,  # yesterday's partition, for history
    }
    [own] = [d for d in spec.deps if d.asset_key == vehicles]
    assert own.partition_mapping == dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
    assert spec.description == "Vehicles in dealer stock, merged across feeds."
    assert (spec.group_name, spec.tags["market"]) == ("consolidated", "US")
    assert {k.name for k in assets[vehicles].check_keys} == {"integrity", "discrepancies"}
    partitions = assets[vehicles].partitions_def
    assert isinstance(partitions, dg.DailyPartitionsDefinition)
    assert partitions.start.date() == dt.date(2026, 11, 1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("entity: dealers", "entity: models"), "targets 'models'"),
        (("price: max", "price: {policy: max, by: updated}"), "sets `by` but its policy"),
        (("name: dealer\n", "name: public\n"), "source group names repeat"),
        (("priority: 2", "priority: 0"), "priority must be 1 or more"),
    ],
)
def test_yaml_mistakes_are_named(change: tuple[str, str], message: str) -> None:
    with pytest.raises(Exception, match=message):
        ConsolidatedComponent.resolve_from_yaml(YAML.replace(*change))


COLUMNS = {
    "public_dealers": ["dealer_code", "dealer_name"],
    "public_vehicles": ["vin", "order_number", "dealer_code", "price", "options"],
    "dealer_vehicles": ["vin", "order_number", "msrp", "options"],
}


def _write(catalog: IcebergCatalogResource, table: str, day: dt.date, rows: list[dict]) -> None:
    schema: dict[str, Any] = {
        "vin": pl.String,
        "order_number": pl.String,
        "dealer_code": pl.String,
        "dealer_name": pl.String,
        "price": pl.Int64,
        "msrp": pl.Int64,
        "options": pl.List(pl.String),
    }
    frame = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
    frame = frame.select(COLUMNS[table]).with_columns(
        pl.int_range(1, frame.height + 1, dtype=pl.UInt64).alias("_snapshot_hash")
    )
    catalog.write_partition(f"acme/transformed/{table}", day, [frame])


def _vehicles(catalog: IcebergCatalogResource, day: dt.date) -> dict[str, dict]:
    frame = catalog.scan_partition("acme/consolidated/vehicles", day).collect()
    return {r["vin"]: r for r in frame.iter_rows(named=True)}


def test_days_with_gap_fill_history_links_and_checks(
    component: ConsolidatedComponent, catalog: IcebergCatalogResource
) -> None:
    dealers = [
        {"dealer_code": "D1", "dealer_name": "One"},
        {"dealer_code": "D2", "dealer_name": "Two"},
    ]
    _write(catalog, "public_dealers", DAY1, dealers)
    _write(catalog, "public_dealers", DAY2, dealers)
    _write(
        catalog,
        "public_vehicles",
        DAY1,
        [
            {"vin": "A", "dealer_code": "D1", "price": 100, "options": ["x"]},
            {"vin": "B", "dealer_code": "D2", "price": 200},
            {"vin": "C", "dealer_code": "D9", "price": 300},
        ],
    )
    _write(catalog, "dealer_vehicles", DAY1, [{"vin": "A", "msrp": 150, "options": ["y"]}])
    _write(catalog, "dealer_vehicles", DAY2, [{"vin": "A", "msrp": 150}])
    _write(catalog, "dealer_vehicles", DAY3, [{"vin": "A", "msrp": 150}])
    _write(
        catalog,
        "public_vehicles",
        DAY3,
        [{"vin": "A", "dealer_code": "D1"}, {"vin": "B", "dealer_code": "D2"}],
    )

    first = materialize(component, catalog, DAY1)
    assert first.success
    checks = {(e.asset_key.path[-1], e.check_name): e for e in first.get_asset_check_evaluations()}
    assert checks[("vehicles", "integrity")].passed is False
    assert checks[("vehicles", "integrity")].metadata["orphans.dealer_id"].value == 1
    assert checks[("vehicles", "discrepancies")].metadata["disagreeing.price"].value == 1
    assert checks[("dealers", "integrity")].passed is True
    day1 = _vehicles(catalog, DAY1)
    dealer_ids = dict(
        catalog.scan_partition("acme/consolidated/dealers", DAY1)
        .select("dealer_code", "dealer_id")
        .collect()
        .iter_rows()
    )
    assert (day1["A"]["price"], day1["A"]["options"], day1["A"]["dealer_id"]) == (
        150,
        ["x", "y"],
        dealer_ids["D1"],
    )
    assert day1["C"]["dealer_id"] is None

    # Day 2: the public vehicle feed failed; its day-1 rows fill the gap and say so.
    assert materialize(component, catalog, DAY2).success
    day2 = _vehicles(catalog, DAY2)
    assert set(day2) == {"A", "B", "C"}
    assert (
        day2["B"]["_source_partition_date"],
        day2["B"]["_source_age_days"],
        day2["B"]["_gap_filled"],
    ) == (DAY1, 1, True)
    assert (day2["B"]["active"], day2["B"]["last_seen"]) == (True, DAY1)
    assert (day2["A"]["_winner"], day2["A"]["last_seen"]) == ("public", DAY2)

    # Day 3: C is gone; dealers come from day 2 (no dealer rows today).
    assert materialize(component, catalog, DAY3).success
    day3 = _vehicles(catalog, DAY3)
    assert (day3["C"]["active"], day3["C"]["sold_date"], day3["C"]["first_seen"]) == (
        False,
        DAY1,
        DAY1,
    )
    assert (day3["A"]["first_seen"], day3["A"]["last_seen"], day3["A"]["active"]) == (
        DAY1,
        DAY3,
        True,
    )
    assert day3["A"]["dealer_id"] == dealer_ids["D1"]

    # Running a day again gives the same table.
    before = catalog.scan_partition("acme/consolidated/vehicles", DAY3).collect()
    assert materialize(component, catalog, DAY3).success
    after = catalog.scan_partition("acme/consolidated/vehicles", DAY3).collect()
    assert_frame_equal(before.sort("vehicle_id"), after.sort("vehicle_id"))


def test_a_day_every_source_wrote_empty_says_so(
    component: ConsolidatedComponent, catalog: IcebergCatalogResource
) -> None:
    _write(catalog, "public_dealers", DAY1, [])
    result = materialize(
        component,
        catalog,
        DAY1,
        selection=[dg.AssetKey(["acme", "consolidated", "dealers"])],
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = result.get_step_failure_events()
    error = failure.step_failure_data.error
    while error is not None and error.cause is not None:
        error = error.cause
    assert error is not None
    assert "every source was written for the day without a row" in error.message
    assert "acme/transformed/public_dealers" in error.message
