"""Upstream keys the declaration does not know are named and counted, known ones are not."""

from __future__ import annotations

import polars as pl

from ai_core.transform import compile_extractor, oracle_extraction
from ai_core.transform.day import TransformedDay
from ai_core.transform.drift import COUNTED_KEYS, missing_paths
from tests.ai_core.transform.payloads import raw_rows
from tests.ai_core.transform.toy import ShopWidget, page, widget

SUB = "shop.example/widgets"


def test_new_keys_at_every_level_are_named_and_counted() -> None:
    items = [
        widget(colourway="red", pricing={"list": 1, "currency": "USD"}),
        widget("XYZ999", colourway="blue", parts=[{"label": "Nut", "weight": 3}]),
    ]
    raw = raw_rows(
        [(SUB, 1, page(items, requestId="r1", served="edge")), (SUB, 2, page([widget()]))]
    )
    unknown = compile_extractor(ShopWidget).extract(raw).unknown_keys
    assert unknown.rows() == [
        ("data.items[].colourway", 2),
        ("data.items[].parts[].weight", 1),
        ("data.items[].pricing.currency", 1),
        ("meta.served", 1),
    ]
    exact = oracle_extraction(ShopWidget, raw).unknown_keys
    assert exact.rows() == unknown.rows()


def test_a_key_is_counted_where_it_is_a_key_whatever_the_spacing_and_not_as_a_value() -> None:
    spaced = page([widget(colourway="red")]).replace(b'"colourway":', b'"colourway"  :')
    raw = raw_rows(
        [
            (SUB, 1, spaced),
            # The key's name as a value, and quoted inside a value, is no occurrence.
            (SUB, 2, page([widget("XYZ999", colourway="blue", title='"colourway" ok')])),
            (SUB, 3, page([widget("XYZ998", title="colourway")])),
        ]
    )
    unknown = compile_extractor(ShopWidget).extract(raw).unknown_keys
    assert unknown.rows() == [("data.items[].colourway", 2)]


def test_keys_past_the_counted_ones_are_named_without_a_count() -> None:
    extra = {f"extra{i:02d}": i for i in range(COUNTED_KEYS + 2)}
    raw = raw_rows([(SUB, 1, page([widget(**extra), widget("XYZ999", **extra)]))])
    unknown = compile_extractor(ShopWidget).extract(raw).unknown_keys
    assert unknown["key"].to_list() == [
        f"data.items[].extra{i:02d}" for i in range(COUNTED_KEYS + 2)
    ]
    assert unknown["occurrences"].to_list() == [2] * COUNTED_KEYS + [None, None]


def test_keys_under_an_object_another_record_sends_as_a_placeholder_are_named() -> None:
    # `pricing` as `[]` and as an object disagree; nulled, the placeholder holds no key and the
    # object's keys are inferred as on any other page.
    items = [widget(pricing=[]), widget("XYZ999", pricing={"list": 1, "currency": "USD"})]
    raw = raw_rows([(SUB, 1, page(items))])
    unknown = compile_extractor(ShopWidget).extract(raw).unknown_keys
    assert unknown.rows() == [("data.items[].pricing.currency", 1)]


def test_ignored_keys_are_not_drift() -> None:
    raw = raw_rows([(SUB, 1, page([widget()], requestId="r1"))])
    assert compile_extractor(ShopWidget).extract(raw).unknown_keys.height == 0


def test_detection_can_be_turned_off() -> None:
    raw = raw_rows([(SUB, 1, page([widget(colourway="red")]))])
    assert compile_extractor(ShopWidget, detect_drift=False).extract(raw).unknown_keys.height == 0


def test_a_page_that_is_not_an_object_does_not_stop_detection() -> None:
    other = "shop.example/gadgets"
    # A valid JSON answer that is not an object carries no keys, and must not fail the batch.
    raw = raw_rows([(SUB, 1, b"[1, 2]"), (other, 1, page([widget(colourway="red")]))])
    unknown = compile_extractor(ShopWidget).extract(raw).unknown_keys
    assert unknown.rows() == [("data.items[].colourway", 1)]


def test_pages_that_disagree_on_a_shape_are_inferred_one_by_one() -> None:
    other = "shop.example/gadgets"
    raw = raw_rows(
        [
            (SUB, 1, page([widget(colourway="red")])),
            # `pricing` is an object above and a list here: no one schema covers both pages.
            (other, 1, page([widget(pricing=[1], finish="matte")])),
        ]
    )
    unknown = compile_extractor(ShopWidget).extract(raw).unknown_keys
    assert unknown.rows() == [("data.items[].colourway", 1), ("data.items[].finish", 1)]


def _without(field: str, sku: str, *more: str) -> dict[str, object]:
    record = widget(sku)
    for name in (field, *more):
        del record[name]
    return record


def test_a_declared_key_absent_from_every_sampled_record_is_named() -> None:
    raw = raw_rows(
        [
            (
                SUB,
                1,
                page(
                    [_without("stock", "AAA001"), _without("pricing", "AAA002", "stock")], total=2
                ),
            ),
            ("shop.example/gadgets", 1, page([_without("stock", "BBB001")], total=1)),
        ]
    )
    # `pricing` is on two records of three and `meta.count` is the other name of the total.
    assert compile_extractor(ShopWidget).extract(raw).missing_keys == {"data.items[].stock"}


def test_a_missing_object_is_named_once_not_by_every_key_below_it() -> None:
    raw = raw_rows([(SUB, 1, page([_without("pricing", "AAA001")], total=1))])
    assert compile_extractor(ShopWidget).extract(raw).missing_keys == {"data.items[].pricing"}


def test_a_key_present_on_any_record_of_the_day_is_not_missing() -> None:
    day = [
        raw_rows([(SUB, 1, page([_without("stock", "AAA001")], total=1))]),
        raw_rows([(SUB, 2, page([widget("AAA002")], total=1))]),
    ]
    partition = TransformedDay(day, group_bytes=1).partition(
        "shop/transformed/widgets", compile_extractor(ShopWidget)
    )
    list(partition.chunks())
    assert partition.missing_keys() == []


def test_markers_the_pipeline_adds_are_not_named_missing() -> None:
    known = pl.Struct({"poc": pl.Struct({"model": pl.String, "_error": pl.String})})
    found = pl.Struct({"poc": pl.Struct({"cpp": pl.String})})
    assert missing_paths(found, known) == ["poc.model"]
