"""Several entities of one raw table as one step: each raw page decoded once, every table the
same as when it is extracted on its own, committed once a day, with its own checks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, ClassVar

import dagster as dg
import polars as pl
import pytest

from ai_core.iceberg.io_manager import IcebergIOManager
from ai_core.iceberg.resource import IcebergCatalogResource
from ai_core.partitions import daily_partitions
from ai_core.transform import Derived, Entity, Records, Text, compile_extractor, source_names
from ai_core.transform.component import TransformedComponent
from ai_core.transform.day import TransformedDay
from ai_core.transform.oracle import oracle_extraction
from ai_core.transform.shared_pages import projected, shared_page_dtype
from tests.ai_core.transform.agree import assert_same
from tests.ai_core.transform.payloads import raw_rows
from tests.ai_core.transform.toy import ShopWidget, ShopWidgetTag, page, widget

DAY = dt.date(2026, 11, 20)
A, B = "shop.example/a", "shop.example/b"
WIDGETS, TAGS, BROKEN = "shop/transformed/widgets", "shop/transformed/tags", "shop/transformed/bad"
TWO = f"""
raw: shop/raw/widgets
start_date: "2026-11-01"
tables:
  - asset_key: {WIDGETS}
    entity: tests.ai_core.transform.toy.ShopWidget
    description: Widgets of the shop's catalogue, one row per SKU.
  - asset_key: {TAGS}
    entity: tests.ai_core.transform.toy.ShopWidgetTag
    description: Tags of the widgets, one row per SKU and tag.
"""


def _one(key: str, entity: str) -> str:
    return f"""
raw: shop/raw/widgets
start_date: "2026-11-01"
tables:
  - asset_key: {key}
    entity: {entity}
    description: One table.
"""


class BrokenTag(ShopWidgetTag):
    """A tag whose derived column cannot be computed from any SKU of the pages."""

    number: Annotated[
        Text, Derived(lambda record, provenance: None, pl.col("sku").cast(pl.Int64).cast(pl.String))
    ] = None


class SpecsText(Entity):
    """Reads `specs` as text where `ShopWidget` reads it as a list of objects."""

    entity_key: ClassVar[tuple[str, ...]] = ("sku",)
    sku: Text = None
    specs: Text = None
    records: ClassVar[Records | None] = Records("data", "items")


class TitleOnly(Entity):
    entity_key: ClassVar[tuple[str, ...]] = ("sku",)
    sku: Text = None
    name: Text = None
    model_config = source_names(name="title")
    records: ClassVar[Records | None] = Records("data", "items")


class WidgetShop(Entity):
    """The shops whose pages hold widgets: the shop is the sub-resource, nothing is read."""

    entity_key: ClassVar[tuple[str, ...]] = ("shop",)
    records: ClassVar[Records | None] = Records("data", "items")
    reports_unknown_keys: ClassVar[bool] = False
    repeated_records: ClassVar[bool] = True
    shop: Annotated[
        Text,
        Derived(lambda record, provenance: provenance["_sub_resource"], pl.col("_sub_resource")),
    ] = None


@pytest.fixture
def catalog(tmp_path: Path) -> IcebergCatalogResource:
    return IcebergCatalogResource(catalog_name="shared-test", data_dir=str(tmp_path))


def _pages() -> list[tuple[str, int, bytes]]:
    return [
        (A, 1, page([widget("AAA001"), widget("AAA002", tags=["c"])], total=2)),
        (A, 2, page([widget("AAA002", tags=["c"]), widget("AAA003", title="Cog")], total=2)),
        (B, 1, page([widget("BBB001", pricing=None, tags=[])], total=1)),
    ]


def _materialize(
    catalog: IcebergCatalogResource,
    yaml: str,
    pages: list[tuple[str, int, bytes]] | None = None,
    selection: list[str] | None = None,
) -> dg.ExecuteInProcessResult:
    if pages is not None:
        catalog.write_partition("shop/raw/widgets", DAY, [raw_rows(pages, DAY)])
    component = TransformedComponent.resolve_from_yaml(yaml)
    defs = component.build_defs(dg.ComponentTree.for_test().load_context)
    raw = dg.SourceAsset(
        dg.AssetKey(["shop", "raw", "widgets"]),
        partitions_def=daily_partitions("2026-11-01"),
        io_manager_key="iceberg_io_manager",
    )
    return dg.materialize(
        [*(defs.assets or []), raw],
        partition_key=DAY.isoformat(),
        selection=[dg.AssetKey.from_user_string(k) for k in selection or []] or component.keys,
        resources={
            "iceberg_io_manager": IcebergIOManager(
                catalog_name=catalog.catalog_name, data_dir=catalog.data_dir
            ),
            "iceberg": catalog,
        },
        raise_on_error=False,
    )


def _day(catalog: IcebergCatalogResource, key: str) -> pl.DataFrame:
    keys = ["sku", "tag"] if key == TAGS else ["sku"]
    return catalog.scan_partition(key, DAY).collect().sort(keys)


def _commits(catalog: IcebergCatalogResource, key: str) -> int:
    """Metadata files the table has had: one per catalog commit."""
    table = catalog.table(dg.AssetKey.from_user_string(key))
    assert table is not None
    return len(table.metadata.metadata_log) + 1


def test_one_step_writes_each_table_as_its_own_step_would(
    catalog: IcebergCatalogResource, tmp_path: Path
) -> None:
    shared = _materialize(catalog, TWO, _pages())
    assert shared.success
    alone = IcebergCatalogResource(catalog_name="alone", data_dir=str(tmp_path / "alone"))
    for key, entity in ((WIDGETS, "ShopWidget"), (TAGS, "ShopWidgetTag")):
        one = _one(key, f"tests.ai_core.transform.toy.{entity}")
        assert _materialize(alone, one, _pages()).success
    for key in (WIDGETS, TAGS):
        together, apart = _day(catalog, key), _day(alone, key)
        assert together.height > 0
        # Same rows, provenance and row hashes, whichever way the pages were decoded.
        assert together.equals(apart)
    assert _day(catalog, TAGS).select("sku", "tag").rows() == [
        ("AAA001", "a"),
        ("AAA001", "b"),
        ("AAA002", "c"),
        ("AAA003", "a"),
        ("AAA003", "b"),
    ]
    # One step, one materialization per table, each with its own checks.
    (node,) = {e.node_name for e in shared.all_node_events if e.is_step_success}
    assert node == "transform__shop__raw__widgets"
    materialized = {e.asset_key for e in shared.get_asset_materialization_events()}
    assert materialized == {dg.AssetKey.from_user_string(k) for k in (WIDGETS, TAGS)}
    checks = {
        (e.asset_key.to_user_string(), e.check_name) for e in shared.get_asset_check_evaluations()
    }
    assert checks == {
        (k, c) for k in (WIDGETS, TAGS) for c in ("integrity", "discrepancies", "column_drift")
    }
    tags = shared.asset_materializations_for_node(node)
    metadata = {m.asset_key.to_user_string(): m.metadata for m in tags}
    # Tag "b" twice on AAA001 and on AAA003, and AAA002's "c" on two pages.
    assert metadata[TAGS]["duplicates_collapsed"].value == 3
    assert metadata[WIDGETS]["rows_written"].value == 4


def test_each_table_commits_once_a_day_and_a_rerun_replaces_it(
    catalog: IcebergCatalogResource,
) -> None:
    assert _materialize(catalog, TWO, _pages()).success
    before = {k: _commits(catalog, k) for k in (WIDGETS, TAGS)}
    fewer = [(A, 1, page([widget("AAA009", tags=["z"])], total=1))]
    assert _materialize(catalog, TWO, fewer).success
    assert {k: _commits(catalog, k) for k in (WIDGETS, TAGS)} == {
        k: n + 1 for k, n in before.items()
    }
    assert _day(catalog, WIDGETS)["sku"].to_list() == ["AAA009"]
    assert _day(catalog, TAGS).select("sku", "tag").rows() == [("AAA009", "z")]


def test_lost_records_fail_each_tables_integrity_check(catalog: IcebergCatalogResource) -> None:
    bad = [(A, 1, page([widget("AAA001"), widget(None)], total=3)), (A, 2, b"<html>")]
    result = _materialize(catalog, TWO, bad)
    assert result.success
    integrity = {
        e.asset_key.to_user_string(): e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "integrity"
    }
    assert set(integrity) == {WIDGETS, TAGS}
    for evaluation in integrity.values():
        assert not evaluation.passed
        assert evaluation.metadata["bad_pages"].value == 1
    assert integrity[WIDGETS].metadata["rejected_records"].value == 1


def test_one_table_can_be_materialised_on_its_own(catalog: IcebergCatalogResource) -> None:
    result = _materialize(catalog, TWO, _pages(), selection=[TAGS])
    assert result.success
    assert {e.asset_key for e in result.get_asset_materialization_events()} == {
        dg.AssetKey.from_user_string(TAGS)
    }
    assert {e.asset_key.to_user_string() for e in result.get_asset_check_evaluations()} == {TAGS}
    assert catalog.table(dg.AssetKey.from_user_string(WIDGETS)) is None


def test_a_failing_entity_is_named(catalog: IcebergCatalogResource) -> None:
    yaml = TWO + (
        f"  - asset_key: {BROKEN}\n"
        "    entity: tests.ai_core.transform.test_shared_day.BrokenTag\n"
        "    description: Tags that cannot be extracted.\n"
    )
    result = _materialize(catalog, yaml, _pages())
    assert not result.success
    (failure,) = result.get_step_failure_events()
    error = failure.step_failure_data.error
    assert error is not None
    messages = []
    while error is not None:
        messages.append(error.message)
        error = error.cause
    assert any(
        f"{BROKEN}: extracting BrokenTag failed" in m and "rerun the partition" in m
        for m in messages
    ), messages


def test_entities_reading_one_key_as_two_shapes_are_refused_at_load() -> None:
    with pytest.raises(ValueError, match="SpecsText cannot share a decode with ShopWidget"):
        shared_page_dtype([compile_extractor(ShopWidget), compile_extractor(SpecsText)])
    same = shared_page_dtype([compile_extractor(ShopWidget), compile_extractor(TitleOnly)])
    assert same == compile_extractor(ShopWidget).plan.page_dtype


def test_the_other_tables_wait_for_the_first_and_leave_no_files() -> None:
    raw = raw_rows(_pages(), DAY).to_batches(max_chunksize=1)
    day = TransformedDay(raw, group_bytes=1)
    widgets = day.partition(WIDGETS, compile_extractor(ShopWidget))
    tags = day.partition(TAGS, compile_extractor(ShopWidgetTag))
    first = widgets.chunks()
    next(first)
    with pytest.raises(RuntimeError, match=f"{WIDGETS} is still reading the raw day"):
        list(tags.chunks())
    rest = list(first)
    assert len(rest) == 2  # one chunk per raw page, as each is a group here
    spilled = list(day._spill.folder.iterdir()) if day._spill else []
    assert len(spilled) == 3
    later = TransformedDay(raw_rows(_pages(), DAY).to_batches(max_chunksize=1), group_bytes=1)
    w, t = (
        later.partition(WIDGETS, compile_extractor(ShopWidget)),
        later.partition(TAGS, compile_extractor(ShopWidgetTag)),
    )
    assert sum(c.height for c in w.chunks()) == 5
    assert [c.height for c in t.chunks()] == [3, 3, 0]
    assert later._spill is not None and not later._spill.folder.exists()


def test_narrowed_pages_keep_null_objects_null_off_the_records_path() -> None:
    inner = pl.Struct({"x": pl.Int64, "y": pl.Int64})
    source = pl.Struct({"a": inner, "items": pl.List(inner)})
    target = pl.Struct(
        {"a": pl.Struct({"x": pl.Int64}), "items": pl.List(pl.Struct({"x": pl.Int64}))}
    )
    pages = pl.Series(
        "page",
        [{"a": None, "items": [None, {"x": 1, "y": 2}]}, {"a": {"x": 3, "y": 4}, "items": None}],
        dtype=source,
    )
    kept = pages.to_frame().select(projected(pl.first(), source, target)).to_series()
    assert kept.to_list() == [
        {"a": None, "items": [None, {"x": 1}]},
        {"a": {"x": 3}, "items": None},
    ]
    # On the way to records an object of nulls reads as a null one: it holds no records.
    above = frozenset({(), ("items",)})
    loose = pages.to_frame().select(projected(pl.first(), source, target, above)).to_series()
    assert loose.to_list()[0]["items"] == [{"x": None}, {"x": 1}]
    assert loose.to_list()[0]["a"] is None


def test_an_entity_of_provenance_alone_has_a_row_per_key_with_records(
    catalog: IcebergCatalogResource, tmp_path: Path
) -> None:
    shops = "shop/transformed/shops"
    shop = f"tests.ai_core.transform.test_shared_day.{WidgetShop.__name__}"
    both = (
        TWO
        + f"""  - asset_key: {shops}
    entity: {shop}
    description: Shops with widgets, one row per shop.
"""
    )
    empty = ("shop.example/c", 1, page([], total=0))
    assert _materialize(catalog, both, [*_pages(), empty]).success
    alone = IcebergCatalogResource(catalog_name="alone", data_dir=str(tmp_path / "alone"))
    assert _materialize(alone, _one(shops, shop), [*_pages(), empty]).success
    together = catalog.scan_partition(shops, DAY).collect().sort("shop")
    # A shop whose page holds no widget has no row; the others one each, however many pages.
    assert together["shop"].to_list() == [A, B]
    assert together.equals(alone.scan_partition(shops, DAY).collect().sort("shop"))


def test_an_entity_reading_nothing_counts_every_element_as_the_per_record_path() -> None:
    pages = [
        (A, 1, page([widget("AAA001"), 1, None, "x", {}], total=5)),
        (B, 1, page([], total=0)),
    ]
    raw = raw_rows(pages, DAY)
    got = compile_extractor(WidgetShop).extract(raw)
    assert_same(got, oracle_extraction(WidgetShop, raw), WidgetShop)
    assert got.rows["shop"].to_list() == [A]
    assert got.rejected.height == 0


def test_an_entity_reading_nothing_must_not_report_unknown_keys() -> None:
    class Loud(WidgetShop):
        reports_unknown_keys: ClassVar[bool] = True

    with pytest.raises(TypeError, match="Loud reads nothing of its records"):
        compile_extractor(Loud)
