"""`TransformedPartition` written group by group into a real catalog, with keys resolved over
the whole day: rows that a later group supersedes are struck from the staged files."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from pyiceberg.catalog import Catalog

from ai_core.iceberg.catalog import load_catalog
from ai_core.iceberg.reader import arrow_table
from ai_core.iceberg.writer import write_partition
from ai_core.raw.result import RawPage, make_raw_row_frame
from ai_core.transform import compile_extractor, oracle_extraction
from ai_core.transform.batching import GROUP_BYTES
from ai_core.transform.day import TransformedDay
from ai_core.transform.partition import TransformedPartition
from tests.ai_core.transform.agree import assert_same
from tests.ai_core.transform.payloads import FETCHED, raw_rows
from tests.ai_core.transform.toy import (
    NamedWidgetName,
    RepeatedWidgetName,
    RepeatedWidgetTag,
    ShopWidget,
    ShopWidgetName,
    ShopWidgetTag,
    page,
    widget,
)

DAY = dt.date(2026, 11, 20)
TABLE = "shop_transformed.widgets"
TAGS = "shop_transformed.repeated_tags"
A, B = "shop.example/a", "shop.example/b"


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return load_catalog(tmp_path)


def _write(catalog: Catalog, pages: list[tuple[str, int, bytes]]) -> TransformedPartition:
    # One raw page a group: each page is extracted, collapsed and staged on its own.
    raw = raw_rows(pages).to_batches(max_chunksize=1)
    partition = TransformedDay(raw, group_bytes=1).partition(TABLE, compile_extractor(ShopWidget))
    write_partition(catalog, TABLE, DAY, partition.chunks(), rows_to_drop=partition.rows_to_drop)
    return partition


def test_keys_seen_again_in_later_groups_keep_one_row(catalog: Catalog) -> None:
    partition = _write(
        catalog,
        [
            (A, 1, page([widget("AAA001"), widget("AAA002"), widget("AAA003")], total=4)),
            (A, 2, page([widget("AAA002"), widget("AAA001", title="Renamed")], total=4)),
            (A, 3, page([widget("AAA004", pricing=None)], total=4)),
            (B, 2, page([widget("AAA003", pricing=None), widget("BBB001")], total=2)),
        ],
    )
    table = pl.DataFrame(arrow_table(catalog.load_table(TABLE), [DAY]))
    # Rows stay in raw order; identical copies keep their first page (AAA002), and versions
    # that differ keep the latest fetch, then the highest page (all pages here share one fetch
    # time, so AAA003 keeps its price-less version of B's page 2).
    assert table.select("_sub_resource", "_page_number", "sku", "name").rows() == [
        (A, 1, "AAA002", "Sprocket"),
        (A, 2, "AAA001", "Renamed"),
        (A, 3, "AAA004", "Sprocket"),
        (B, 2, "AAA003", "Sprocket"),
        (B, 2, "BBB001", "Sprocket"),
    ]
    metadata = partition.output_metadata()
    assert metadata["rows_written"] == 5
    assert metadata["duplicates_collapsed"] == 1
    assert metadata["key_conflicts"] == 2
    facts = partition.discrepancies()
    # Rules count the rows written, not the rows struck.
    assert facts.counts == {"no price": 2, "key conflicts": 2}
    conflicts = facts.samples.filter(pl.col("rule") == "key conflict")
    assert conflicts["detail"].to_list() == [
        f"sku=AAA001: 2 versions differ in name: 'Sprocket' | 'Renamed'; kept {A} page 2",
        f"sku=AAA003: 2 versions differ in price: 1299.50 | None; "
        f"label: '{A}:AAA003' | '{B}:AAA003'; kept {B} page 2",
    ]
    # Keys are counted per sub-resource against what it reported: AAA003 counts in A and B.
    integrity = partition.integrity()
    assert (integrity.distinct_keys, integrity.short_sub_resources) == (6, 0)


def test_a_page_fetched_again_after_failing_leaves_its_sub_resource_observed(
    catalog: Catalog,
) -> None:
    url = "https://shop.example/widgets"
    lost = RawPage(2, url, {}, 503, b"", FETCHED, "HTTP 503 after 2 attempts")
    first = RawPage(1, url, {}, 200, page([widget("AAA001")], total=2), FETCHED)
    again = RawPage(2, url, {}, 200, page([widget("AAA002")], total=2), FETCHED)
    raw = pa.concat_tables(
        [
            make_raw_row_frame(DAY, A, [first, lost]),
            make_raw_row_frame(DAY, B, [first, lost]),
            make_raw_row_frame(DAY, A, [again]),
        ]
    ).to_batches(max_chunksize=1)
    partition = TransformedDay(raw, group_bytes=1).partition(TABLE, compile_extractor(ShopWidget))
    write_partition(catalog, TABLE, DAY, partition.chunks(), rows_to_drop=partition.rows_to_drop)
    assert partition.unobserved == [B]
    assert partition.integrity().distinct_keys == 2


def test_a_day_without_raw_batches_still_creates_the_table(catalog: Catalog) -> None:
    partition = TransformedDay([]).partition(TABLE, compile_extractor(ShopWidget))
    write_partition(catalog, TABLE, DAY, partition.chunks(), rows_to_drop=partition.rows_to_drop)
    table = catalog.load_table(TABLE)
    assert "sku" in table.schema().column_names
    assert arrow_table(table, [DAY]).num_rows == 0
    assert partition.output_metadata()["rows_written"] == 0


def test_facts_need_the_day_resolved_first() -> None:
    partition = TransformedDay([]).partition(TABLE, compile_extractor(ShopWidget))
    list(partition.chunks())
    with pytest.raises(RuntimeError, match="not resolved yet"):
        partition.integrity()
    with pytest.raises(RuntimeError, match="written only once"):
        list(partition.chunks())


@pytest.mark.parametrize("group_bytes", [1, GROUP_BYTES], ids=["page-groups", "one-group"])
def test_repeated_records_write_the_same_day_and_counts(catalog: Catalog, group_bytes: int) -> None:
    pages = [
        (A, 1, page([widget("AAA001", tags=["x", None, "x"]), widget("AAA002", tags=["x"])])),
        (A, 2, page([widget("AAA001", tags=["x", "y"]), widget("AAA003", tags=None)])),
        (B, 1, page([widget("AAA001", tags=["x", None])])),
    ]
    written = {}
    for table, entity in (("shop_transformed.tags", ShopWidgetTag), (TAGS, RepeatedWidgetTag)):
        raw = raw_rows(pages).to_batches(max_chunksize=1)
        day = TransformedDay(raw, group_bytes=group_bytes)
        partition = day.partition(table, compile_extractor(entity))
        write_partition(
            catalog, table, DAY, partition.chunks(), rows_to_drop=partition.rows_to_drop
        )
        rows = pl.DataFrame(arrow_table(catalog.load_table(table), [DAY]))
        metadata = partition.output_metadata()
        del metadata["extract_seconds"], metadata["resolve_seconds"]
        written[entity] = (rows.sort(pl.all()), metadata, partition.integrity())
    (plain, plain_metadata, plain_integrity), (rows, metadata, integrity) = written.values()
    assert rows.equals(plain)
    assert metadata == plain_metadata
    assert integrity.samples.equals(plain_integrity.samples)
    assert replace(integrity, samples=None) == replace(plain_integrity, samples=None)
    assert rows.select("_sub_resource", "_page_number", "sku", "tag").rows() == [
        (A, 1, "AAA001", "x"),
        (A, 1, "AAA002", "x"),
        (A, 2, "AAA001", "y"),
    ]
    assert (metadata["records"], metadata["rejected_records"]) == (8, 2)
    assert metadata["duplicates_collapsed"] == 3
    assert integrity.rejected == 2


@pytest.mark.parametrize("priced_first", [True, False])
def test_a_repeated_record_keeps_its_most_filled_copy(catalog: Catalog, priced_first: bool) -> None:
    priced = widget("AAA001", title="Gear", stock="3")
    unpriced = widget("AAA002", title="Gear", pricing={"list": ""}, stock="")
    first, second = (priced, unpriced) if priced_first else (unpriced, priced)
    pages = [(A, 1, page([first], total=2)), (A, 2, page([second], total=2))]
    kept = {}
    for entity in (ShopWidgetName, RepeatedWidgetName):
        raw = raw_rows(pages).to_batches(max_chunksize=1)
        partition = TransformedDay(raw, group_bytes=1).partition(TAGS, compile_extractor(entity))
        write_partition(catalog, TAGS, DAY, partition.chunks(), rows_to_drop=partition.rows_to_drop)
        rows = pl.DataFrame(arrow_table(catalog.load_table(TAGS), [DAY]))
        kept[entity] = rows.select("name", "price", "stock").rows()
        # Both copies are still one conflict, reported with what differs.
        assert partition.output_metadata()["key_conflicts"] == 1
    # A name one widget listed with no price keeps the price another listed that day; a record
    # fetched once per key keeps its latest copy, empty or not.
    assert kept[RepeatedWidgetName] == [("Gear", Decimal("1299.50"), 3)]
    assert kept[ShopWidgetName] == [
        ("Gear", *((None, None) if priced_first else (Decimal("1299.50"), 3)))
    ]


def test_a_record_named_by_a_field_its_parent_left_empty_is_counted_not_lost(
    catalog: Catalog,
) -> None:
    pages = [(A, 1, page([widget("AAA001"), widget("AAA002", title=None)], total=2))]
    facts = {}
    for entity in (RepeatedWidgetName, NamedWidgetName):
        raw = raw_rows(pages).to_batches(max_chunksize=1)
        partition = TransformedDay(raw).partition(TAGS, compile_extractor(entity))
        write_partition(catalog, TAGS, DAY, partition.chunks(), rows_to_drop=partition.rows_to_drop)
        assert pl.DataFrame(arrow_table(catalog.load_table(TAGS), [DAY]))["name"].to_list() == [
            "Sprocket"
        ]
        facts[entity] = (
            partition.integrity(),
            partition.discrepancies(),
            partition.output_metadata(),
        )
    (lost, _, lost_metadata), (kept, found, metadata) = facts.values()
    # Read as lost data by default: the integrity check fails on it.
    assert lost.data_lost and lost.rejected == 1
    assert lost_metadata["keyless_records"] == 0
    # Read off a field the widget left empty: nothing is lost, and the discrepancies say where.
    assert not kept.data_lost and kept.rejected == 0
    assert metadata["keyless_records"] == 1 and metadata["rejected_records"] == 0
    assert found.counts == {"record without a key": 1}
    assert found.samples["detail"].to_list() == [f"{A} page 1 record 1: no name"]

    # When most records lack it, the key's field is more likely gone upstream: data lost.
    untitled = [(A, 1, page([widget("AAA001", title=None), widget("AAA002", title=None)]))]
    raw = raw_rows(untitled).to_batches(max_chunksize=1)
    partition = TransformedDay(raw).partition(TAGS, compile_extractor(NamedWidgetName))
    write_partition(catalog, TAGS, DAY, partition.chunks(), rows_to_drop=partition.rows_to_drop)
    assert partition.integrity().data_lost and partition.integrity().rejected == 2
    assert "record without a key" not in partition.discrepancies().counts


def test_values_no_type_can_read_are_counted_and_shown_where_they_were_sent(
    catalog: Catalog,
) -> None:
    pages = [
        (A, 1, page([widget("AAA001", pricing={"list": "N/A"}, launchDate="March 1st")])),
        (A, 2, page([widget("AAA002", stock="12.5"), widget("AAA003", stock=" ", active="")])),
    ]
    extraction = compile_extractor(ShopWidget).extract(raw_rows(pages))
    assert_same(extraction, oracle_extraction(ShopWidget, raw_rows(pages)), ShopWidget)
    assert extraction.unreadable == {"price": 1, "launched": 1, "stock": 1}

    partition = _write(catalog, pages)
    facts = partition.discrepancies()
    assert {k: v for k, v in facts.counts.items() if k.startswith("unreadable")} == {
        "unreadable launched": 1,
        "unreadable price": 1,
        "unreadable stock": 1,
    }
    details = dict(facts.samples.filter(pl.col("rule").str.starts_with("unreadable")).iter_rows())
    assert details == {
        "unreadable launched": f"'March 1st' ({A} page 1, record 0)",
        "unreadable price": f"'N/A' ({A} page 1, record 0)",
        "unreadable stock": f"'12.5' ({A} page 2, record 0)",
    }
    table = pl.DataFrame(arrow_table(catalog.load_table(TABLE), [DAY])).sort("sku")
    assert table.select("price", "launched", "stock").row(0) == (None, None, 12)
