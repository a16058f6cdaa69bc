"""Integrity and discrepancy facts from an extraction: the values an asset check reports."""

from __future__ import annotations

import polars as pl

from ai_core.transform import (
    Extraction,
    compile_extractor,
    discrepancy_facts,
    discrepancy_findings,
    integrity_facts,
    resolve_key_groups,
    sub_resource_counts,
)
from tests.ai_core.transform.payloads import raw_rows
from tests.ai_core.transform.toy import ShopWidget, page, widget

A, B = "shop.example/a", "shop.example/b"


def extraction() -> Extraction:
    raw = raw_rows(
        [
            (A, 1, page([widget("AAA001"), widget("AAA002")], total=3)),
            (A, 2, page([widget("AAA002"), widget(None)], total=3)),
            (B, 1, page([widget("BBB001", pricing=None)], total=1)),
            (B, 2, b"<html>"),
        ]
    )
    return compile_extractor(ShopWidget).extract(raw)


def test_counts_per_sub_resource() -> None:
    e = extraction()
    counts = sub_resource_counts(e.pages, e.rows, e.rejected, ShopWidget.entity_key)
    assert counts.rows(named=True) == [
        {
            "_sub_resource": A,
            "pages": 2,
            "bad_pages": 0,
            "reported_total": 3,
            "records": 4,
            "rejected": 1,
            "distinct_keys": 2,
            "missing": 1,
        },
        {
            "_sub_resource": B,
            "pages": 2,
            "bad_pages": 1,
            "reported_total": 1,
            "records": 1,
            "rejected": 0,
            "distinct_keys": 1,
            "missing": 0,
        },
    ]


def test_integrity_says_data_was_lost_and_shows_where() -> None:
    e = extraction()
    counts = sub_resource_counts(e.pages, e.rows, e.rejected, ShopWidget.entity_key)
    facts = integrity_facts(counts, e.pages, e.rejected)
    assert facts.data_lost
    assert (facts.pages, facts.bad_pages, facts.records, facts.rejected) == (4, 1, 5, 1)
    assert (facts.distinct_keys, facts.short_sub_resources) == (3, 1)
    assert facts.samples.rows() == [
        ("bad page", f"{B} page 2: malformed"),
        ("rejected record", f"{A} page 2 record 1: no sku"),
        ("short sub-resource", f"{A}: 2 distinct of 3 reported"),
    ]


def test_a_listing_that_moved_while_paged_is_short_only_below_its_lowest_total() -> None:
    # AAA001 sold once page 1 was answered: AAA003 moved up to page 1 and page 2 came empty,
    # reporting 2; both pages' second copies report 2 too. All three were seen.
    moved = raw_rows(
        [
            (A, 1, page([widget("AAA001"), widget("AAA002")], total=3)),
            (A, 2, page([], total=2)),
            (A, 1, page([widget("AAA002"), widget("AAA003")], total=2)),
            (A, 2, page([], total=2)),
            (B, 1, page([widget("BBB001")], total=3)),
            (B, 2, page([widget("BBB002")], total=2)),
        ]
    )
    e = compile_extractor(ShopWidget).extract(moved)
    counts = sub_resource_counts(e.pages, e.rows, e.rejected, ShopWidget.entity_key)
    assert counts.select("_sub_resource", "reported_total", "distinct_keys", "missing").rows() == [
        (A, 2, 3, -1),
        (B, 3, 2, 0),
    ]
    assert not integrity_facts(counts, e.pages, e.rejected).data_lost


def test_a_clean_partition_lost_nothing() -> None:
    raw = raw_rows([(A, 1, page([widget()], total=1))])
    e = compile_extractor(ShopWidget).extract(raw)
    counts = sub_resource_counts(e.pages, e.rows, e.rejected, ShopWidget.entity_key)
    assert not integrity_facts(counts, e.pages, e.rejected).data_lost


def test_discrepancies_count_rules_unknown_keys_and_conflicts() -> None:
    raw = raw_rows([(A, 1, page([widget(pricing=None, extra=1), widget(title="Other")], total=2))])
    e = compile_extractor(ShopWidget).extract(raw)
    plan_hashed = [c for c in e.rows.columns if c not in ("sku",) and not c.startswith("_")]
    groups = resolve_key_groups(e.rows, ["sku"], plan_hashed)
    rule_counts, rule_samples = discrepancy_findings(groups.rows, ShopWidget.discrepancies, ["sku"])
    facts = discrepancy_facts(
        rule_counts, rule_samples, e.unknown_keys, groups.conflict_samples, groups.conflicts
    )
    assert facts.counts == {"no price": 1, "unknown key data.items[].extra": 1, "key conflicts": 1}
    assert facts.total == 3
    details = dict(facts.samples.iter_rows())
    assert details["no price"] == f"sku=ABC123 ({A} page 1)"
    assert details["unknown key"] == "data.items[].extra (1 occurrences)"
    assert details["key conflict"].startswith(
        "sku=ABC123: 2 versions differ in name: 'Sprocket' | 'Other'; price: None | 1299.50"
    )
    assert facts.samples.height <= 50
    assert isinstance(facts.samples, pl.DataFrame)
