"""`RawSourceComponent` from YAML over a toy shop, materialised into a real Iceberg catalog."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from pydantic import ValidationError

from ai_core.clock import TODAY_ENV
from ai_core.iceberg.io_manager import IcebergIOManager
from ai_core.iceberg.resource import IcebergCatalogResource
from tests.ai_core.raw.shop import CATALOGUE, ShopRawSource, ShopServer, iter_skus, skus

DAY = dt.date(2026, 11, 20)
KEY = "shop/raw/items"
YAML = """
asset_key: shop/raw/items
description: Every item page of the shop's catalogue, verbatim.
source_key: shop/sources/items
base_url: {base_url}
categories: {categories}
listed: {listed}
start_date: "2026-11-01"
present_only: true
completeness:
{completeness}
"""
PATTERNS = """\
  total_pattern: '"total"\\s*:\\s*([0-9]+)'
  record_key_pattern: '"sku"\\s*:\\s*"([^"]+)"'
"""
PATHS = """\
  records_path: [items]
  record_key: sku
  total_paths: [[total]]
"""


@pytest.fixture
def shop() -> Iterator[ShopServer]:
    with ShopServer(CATALOGUE) as server:
        yield server


@pytest.fixture
def catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> IcebergCatalogResource:
    monkeypatch.setenv(TODAY_ENV, DAY.isoformat())
    return IcebergCatalogResource(catalog_name="raw-test", data_dir=str(tmp_path))


def build(
    shop: ShopServer,
    categories: str = "[bolts, nuts]",
    listed: str = "{}",
    completeness: str = PATTERNS,
) -> dg.Definitions:
    yaml = YAML.format(
        base_url=shop.base_url, categories=categories, listed=listed, completeness=completeness
    )
    component = ShopRawSource.resolve_from_yaml(yaml)
    return component.build_defs(dg.ComponentTree.for_test().load_context)


def materialize(
    shop: ShopServer,
    catalog: IcebergCatalogResource,
    day: dt.date = DAY,
    categories: str = "[bolts, nuts]",
    listed: str = "{}",
    completeness: str = PATTERNS,
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        list(build(shop, categories, listed, completeness).assets or []),
        partition_key=day.isoformat(),
        selection=[KEY],
        resources={
            "iceberg_io_manager": IcebergIOManager(
                catalog_name=catalog.catalog_name, data_dir=catalog.data_dir
            )
        },
        raise_on_error=False,
    )


def completeness(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == "completeness"
    return check


def test_the_instance_builds_the_raw_asset_its_source_and_its_check(shop: ShopServer) -> None:
    defs = build(shop)
    (asset,) = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]
    (source,) = [a for a in defs.assets or [] if isinstance(a, dg.AssetSpec)]
    key = dg.AssetKey.from_user_string(KEY)
    assert asset.key == key
    assert source.key == dg.AssetKey(["shop", "sources", "items"])
    assert {d.asset_key for d in asset.specs_by_key[key].deps} == {source.key}
    assert [c.name for c in asset.check_specs] == ["completeness"]
    assert asset.group_names_by_key[key] == "raw"
    assert asset.partitions_def is not None
    assert asset.partitions_def.get_first_partition_key() == "2026-11-01"


def test_a_day_stores_every_page_verbatim_and_passes_completeness(
    shop: ShopServer, catalog: IcebergCatalogResource
) -> None:
    result = materialize(shop, catalog)
    assert result.success

    rows = catalog.scan_partition(KEY, DAY).collect().sort("_sub_resource", "_page_number")
    assert rows.select("_sub_resource", "_page_number", "_http_status").rows() == [
        ("shop/bolts", 1, 200),
        ("shop/bolts", 2, 200),
        ("shop/bolts", 3, 200),
        ("shop/nuts", 1, 200),
        ("shop/nuts", 2, 200),
    ]
    assert rows["_fetch_error"].null_count() == rows.height
    assert sorted(iter_skus(rows["_response_body"].to_list())) == skus("bolts", 7) + skus("nuts", 3)
    check = completeness(result)
    assert check.passed
    assert (
        check.metadata["distinct_records"].value == check.metadata["expected_records"].value == 10
    )
    assert check.metadata["sub_resources"].value == 2
    (event,) = result.get_asset_materialization_events()
    assert event.materialization is not None
    fetched = {k: v.value for k, v in event.materialization.metadata.items()}
    # The client's own CPU is its loop thread's, part of what the process spent while fetching.
    assert 0 < fetched["client_cpu_s"] <= fetched["fetch_cpu_s"]
    assert fetched["client_cpu_ms_per_page"] == round(1000 * fetched["client_cpu_s"] / 5, 3)


def test_a_rule_of_paths_reads_the_pages_as_the_patterns_find_them(
    shop: ShopServer, catalog: IcebergCatalogResource
) -> None:
    """The shop's pages hold `sku` only on their items, so both forms of the rule count alike;
    a rule giving both forms is refused when the YAML is read."""
    shop.unkeyed = {skus("bolts", 7)[2]}
    by_patterns = completeness(materialize(shop, catalog))
    by_paths = completeness(materialize(shop, catalog, completeness=PATHS))
    assert not by_paths.passed and "short" in str(by_paths.metadata["samples"].value)
    assert {k: v.value for k, v in by_paths.metadata.items()} == {
        k: v.value for k, v in by_patterns.metadata.items()
    }
    assert by_paths.metadata["distinct_records"].value == 9
    with pytest.raises(ValidationError, match="not both"):
        build(shop, completeness=PATHS + PATTERNS)


def test_a_part_that_holds_no_record_fails_completeness(
    shop: ShopServer, catalog: IcebergCatalogResource
) -> None:
    check = completeness(materialize(shop, catalog, categories="[nuts, washers]"))
    assert not check.passed
    assert check.metadata["incomplete_sub_resources"].value == 1
    assert "| shop/washers | empty |" in str(check.metadata["samples"].value)


def test_a_part_its_list_gave_no_record_may_answer_empty(
    shop: ShopServer, catalog: IcebergCatalogResource
) -> None:
    """A category listed with a count of 0 that answers a total of 0 is complete; one listed
    with an item or two may have sold them (a warning); one listed with more that answers empty
    fails, as a search backend answering 0 would."""
    check = completeness(
        materialize(shop, catalog, categories="[nuts, washers]", listed="{washers: 0, nuts: 3}")
    )
    assert check.passed
    assert check.metadata["empty_as_listed"].value == ["shop/washers"]
    check = completeness(
        materialize(shop, catalog, categories="[nuts, washers]", listed="{washers: 2}")
    )
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["sold_out_since_listed"].value == ["shop/washers"]
    check = completeness(
        materialize(shop, catalog, categories="[nuts, washers]", listed="{washers: 3}")
    )
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert "| shop/washers | empty |" in str(check.metadata["samples"].value)


def test_a_rerun_replaces_the_day(shop: ShopServer, catalog: IcebergCatalogResource) -> None:
    assert materialize(shop, catalog).success
    first = catalog.scan_partition(KEY, DAY).collect()
    assert materialize(shop, catalog).success
    again = catalog.scan_partition(KEY, DAY).collect()
    assert again.height == first.height == 5
    assert sorted(again["_response_body"]) == sorted(first["_response_body"])


def test_a_page_lost_for_good_is_stored_as_missing_and_fails_completeness_naming_it(
    shop: ShopServer, catalog: IcebergCatalogResource
) -> None:
    shop.failing.add(("bolts", 2))
    result = materialize(shop, catalog)
    assert result.success  # the rest of the day is kept

    rows = catalog.scan_partition(KEY, DAY).collect()
    (lost,) = rows.filter(rows["_fetch_error"].is_not_null()).iter_rows(named=True)
    assert (lost["_sub_resource"], lost["_page_number"], lost["_response_body"]) == (
        "shop/bolts",
        2,
        "",
    )
    check = completeness(result)
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.ERROR
    assert check.description is not None
    assert check.description.startswith("1 pages of 1 sub-resources were not fetched (shop/bolts)")
    assert "Rerun this asset for the day" in check.description
    assert check.metadata["unobserved_sub_resources"].value == ["shop/bolts"]


def test_a_total_far_past_the_items_is_paged_to_their_end_and_fails_completeness_as_short(
    shop: ShopServer, catalog: IcebergCatalogResource
) -> None:
    shop.drift = 10**15
    result = materialize(shop, catalog, completeness=PATHS)
    assert result.success

    rows = catalog.scan_partition(KEY, DAY).collect()
    assert sorted(iter_skus(rows["_response_body"].to_list())) == skus("bolts", 7) + skus("nuts", 3)
    assert rows["_fetch_error"].null_count() == rows.height
    check = completeness(result)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    samples = str(check.metadata["samples"].value)
    assert "| shop/bolts | short |" in samples and "| shop/nuts | short |" in samples
    assert check.metadata["distinct_records"].value == 10


def test_a_total_far_past_the_items_whose_pages_past_them_are_refused_fails_naming_them(
    shop: ShopServer, catalog: IcebergCatalogResource
) -> None:
    shop.drift, shop.past_end_status = 10**15, 400
    result = materialize(shop, catalog, completeness=PATHS)
    assert result.success

    rows = catalog.scan_partition(KEY, DAY).collect()
    assert sorted(iter_skus(rows["_response_body"].to_list())) == skus("bolts", 7) + skus("nuts", 3)
    refused = rows.filter(rows["_fetch_error"].is_not_null())
    assert set(refused["_http_status"]) == {400} and refused.height < 30
    check = completeness(result)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.description is not None
    assert f"{refused.height} pages of 2 sub-resources were not fetched" in check.description


def test_a_present_only_source_refuses_a_past_day_and_says_what_to_do(
    shop: ShopServer, catalog: IcebergCatalogResource
) -> None:
    result = materialize(shop, catalog, DAY - dt.timedelta(days=1))
    assert not result.success
    assert shop.requests == []
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = str(failure.step_failure_data.error)
    assert "shop/raw/items serves only the present: today is 2026-11-20" in message
    assert "materialise only the downstream assets for 2026-11-19" in message
