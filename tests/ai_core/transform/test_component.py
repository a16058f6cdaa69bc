"""`TransformedComponent` from YAML, materialised from a real raw table in an Iceberg catalog."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from ai_core.iceberg.io_manager import IcebergIOManager
from ai_core.iceberg.resource import IcebergCatalogResource
from ai_core.partitions import daily_partitions
from ai_core.transform import HASH_COLUMN, transformed_schema
from ai_core.transform.component import TransformedComponent, load_entity
from tests.ai_core.transform.payloads import raw_rows
from tests.ai_core.transform.toy import ShopWidget, page, widget

YAML = """
raw: shop/raw/widgets
start_date: "2026-11-01"
tables:
  - asset_key: shop/transformed/widgets
    entity: tests.ai_core.transform.toy.ShopWidget
    description: Widgets of the shop's catalogue, one row per SKU.
"""
DAY = dt.date(2026, 11, 20)
A, B = "shop.example/a", "shop.example/b"


@pytest.fixture
def catalog(tmp_path: Path) -> IcebergCatalogResource:
    return IcebergCatalogResource(catalog_name="transform-test", data_dir=str(tmp_path))


def _assets(component: TransformedComponent) -> list[dg.AssetsDefinition]:
    defs = component.build_defs(dg.ComponentTree.for_test().load_context)
    return [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]


def _materialize(
    catalog: IcebergCatalogResource,
    pages: list[tuple[str, int, bytes]],
    day: dt.date = DAY,
    yaml: str = YAML,
) -> dg.ExecuteInProcessResult:
    catalog.write_partition("shop/raw/widgets", day, [raw_rows(pages, day)])
    component = TransformedComponent.resolve_from_yaml(yaml)
    raw = dg.SourceAsset(
        dg.AssetKey(["shop", "raw", "widgets"]),
        partitions_def=daily_partitions("2026-11-01"),
        io_manager_key="iceberg_io_manager",
    )
    return dg.materialize(
        [*_assets(component), raw],
        partition_key=day.isoformat(),
        selection=component.keys,
        resources={
            "iceberg_io_manager": IcebergIOManager(
                catalog_name=catalog.catalog_name, data_dir=catalog.data_dir
            ),
            "iceberg": catalog,
        },
    )


def test_the_instance_builds_one_asset_with_both_checks() -> None:
    component = TransformedComponent.resolve_from_yaml(YAML)
    (asset,) = _assets(component)
    assert asset.keys == {dg.AssetKey(["shop", "transformed", "widgets"])}
    assert {d.asset_key for d in asset.specs_by_key[asset.key].deps} == {
        dg.AssetKey(["shop", "raw", "widgets"])
    }
    assert {c.name for c in asset.check_specs} == {"integrity", "discrepancies", "column_drift"}
    assert asset.group_names_by_key[asset.key] == "transformed"
    assert component.tables[0].entity_class() is ShopWidget


def test_a_day_is_written_deduplicated_with_its_checks(catalog: IcebergCatalogResource) -> None:
    result = _materialize(
        catalog,
        [
            (A, 1, page([widget("AAA001"), widget("AAA002")], total=2)),
            (A, 2, page([widget("AAA002"), widget("AAA001", title="Renamed")], total=2)),
            (B, 1, page([widget("BBB001", pricing=None, colourway="red")], total=1)),
        ],
    )
    assert result.success
    table = catalog.scan_partition("shop/transformed/widgets", DAY).collect().sort("sku")
    assert table.select("sku", "name", "_page_number").rows() == [
        ("AAA001", "Renamed", 2),
        ("AAA002", "Sprocket", 1),
        ("BBB001", "Sprocket", 1),
    ]
    assert set(transformed_schema(ShopWidget)) <= set(table.columns)
    assert table[HASH_COLUMN].null_count() == 0
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["integrity"].passed
    discrepancies = checks["discrepancies"]
    assert not discrepancies.passed
    assert discrepancies.severity == dg.AssetCheckSeverity.WARN
    counts = {k: v.value for k, v in discrepancies.metadata.items() if k.startswith("count.")}
    assert counts == {
        "count.no price": 1,
        "count.unknown key data.items[].colourway": 1,
        "count.key conflicts": 1,
    }
    metadata = result.asset_materializations_for_node(_node(result))[0].metadata
    assert metadata["rows_written"].value == 3
    assert metadata["duplicates_collapsed"].value == 1
    assert metadata["key_conflicts"].value == 1


def test_lost_records_fail_the_integrity_check(catalog: IcebergCatalogResource) -> None:
    result = _materialize(
        catalog, [(A, 1, page([widget(), widget(None)], total=3)), (A, 2, b"<html>")]
    )
    assert result.success
    integrity = {e.check_name: e for e in result.get_asset_check_evaluations()}["integrity"]
    assert not integrity.passed
    assert integrity.severity == dg.AssetCheckSeverity.ERROR
    assert integrity.metadata["bad_pages"].value == 1
    assert integrity.metadata["rejected_records"].value == 1
    assert integrity.metadata["short_sub_resources"].value == 1


def test_a_rerun_replaces_the_day(catalog: IcebergCatalogResource) -> None:
    pages = [(A, 1, page([widget("AAA001"), widget("AAA002")], total=2))]
    assert _materialize(catalog, pages).success
    assert _materialize(catalog, pages).success
    table = catalog.scan_partition("shop/transformed/widgets", DAY).collect()
    assert sorted(table["sku"]) == ["AAA001", "AAA002"]


def test_an_entity_path_that_is_not_an_entity_is_refused() -> None:
    with pytest.raises(ValueError, match="is not an Entity class"):
        load_entity("polars.DataFrame")
    with pytest.raises(ValueError, match="cannot be imported"):
        load_entity("tests.ai_core.transform.toy.Nothing")


def _node(result: dg.ExecuteInProcessResult) -> str:
    return next(
        e.node_name for e in result.all_node_events if e.event_type_value == "ASSET_MATERIALIZATION"
    )


def test_written_rows_keep_polars_types(catalog: IcebergCatalogResource) -> None:
    assert _materialize(catalog, [(A, 1, page([widget()], total=1))]).success
    table = catalog.scan_partition("shop/transformed/widgets", DAY).collect()
    money = pl.Decimal(12, 2)
    assert table.schema["parts"] == pl.List(pl.Struct({"name": pl.String, "price": money}))
    assert table.schema["price"] == money
    assert table.schema["launched"] == pl.Date


PREVIOUS = DAY - dt.timedelta(days=1)


def _without(field: str, sku: str) -> dict[str, object]:
    record = widget(sku)
    del record[field]
    return record


def _drift(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}["column_drift"]


def _full_day() -> list[tuple[str, int, bytes]]:
    return [(A, 1, page([widget("AAA001"), widget("AAA002", stock=None)], total=2))]


def test_a_field_removed_upstream_fails_column_drift_naming_it(
    catalog: IcebergCatalogResource,
) -> None:
    first = _drift(_materialize(catalog, _full_day(), PREVIOUS))
    assert first.passed and first.metadata["previous_day"].value == "none"

    removed = [(A, 1, page([_without("stock", "AAA001"), _without("stock", "AAA002")], total=2))]
    drift = _drift(_materialize(catalog, removed))
    assert not drift.passed
    assert drift.severity == dg.AssetCheckSeverity.WARN
    assert drift.description == (
        "stock: 50.0% non-null on 2026-11-19, 0.0% on 2026-11-20; "
        "declared key data.items[].stock is absent from every sampled record"
    )
    assert drift.metadata["previous_day"].value == PREVIOUS.isoformat()
    assert drift.metadata["emptied_columns"].value == 1
    assert drift.metadata["missing_keys"].value == 1
    assert "| stock | 50.0% | 0.0% |" in str(drift.metadata["samples"].value)


def test_a_field_whose_type_changed_fails_column_drift(catalog: IcebergCatalogResource) -> None:
    assert _drift(_materialize(catalog, _full_day(), PREVIOUS)).passed
    # `pricing` turns from an object into text: the price is no longer where it is declared.
    changed = [
        (A, 1, page([widget("AAA001", pricing="1299"), widget("AAA002", pricing="5")], total=2))
    ]
    drift = _drift(_materialize(catalog, changed))
    assert not drift.passed
    assert drift.description == "price: 100.0% non-null on 2026-11-19, 0.0% on 2026-11-20"
    assert drift.metadata["missing_keys"].value == 0


def test_a_column_that_only_thins_passes_and_thresholds_come_from_yaml(
    catalog: IcebergCatalogResource,
) -> None:
    assert _drift(_materialize(catalog, _full_day(), PREVIOUS)).passed
    skus = ["AAA001", "AAA002", "AAA003", "AAA004"]
    thinner = [(A, 1, page([widget(s, stock=None if s != "AAA001" else "3") for s in skus]))]
    assert _drift(_materialize(catalog, thinner)).passed

    strict = YAML + "column_drift: {was_at_least: 0.5, now_below: 0.3}\n"
    drift = _drift(_materialize(catalog, thinner, yaml=strict))
    assert not drift.passed
    assert drift.description == "stock: 50.0% non-null on 2026-11-19, 25.0% on 2026-11-20"
    assert drift.metadata["thresholds"].value == "from >= 50.0% to < 30.0%"

    ignoring = YAML + "column_drift: {was_at_least: 0.5, now_below: 0.3, ignore: [stock]}\n"
    assert _drift(_materialize(catalog, thinner, yaml=ignoring)).passed
