"""The compiled extractor on hand-built pages: values, nesting, rejections, page facts."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import polars as pl
import pyarrow as pa
import pytest

from ai_core.arrow import as_polars
from ai_core.raw.result import RawPage, make_raw_row_frame
from ai_core.transform import compile_extractor, entity_plan, oracle_extraction, transformed_schema
from ai_core.transform.coerce import Matches, Text
from ai_core.transform.decode import PageDecoder
from ai_core.transform.entity import Entity, Fallback, Records
from ai_core.transform.extract import SliceRows, page_bodies
from tests.ai_core.transform.agree import assert_same
from tests.ai_core.transform.payloads import DAY, FETCHED, raw_rows
from tests.ai_core.transform.toy import (
    PagedWidgetTag,
    RepeatedWidgetTag,
    ShopWidget,
    ShopWidgetTag,
    WholeRowWidgetTag,
    page,
    widget,
)

SUB = "shop.example/widgets"
ALWAYS_X = Fallback(lambda record, provenance: "x", pl.lit("x"), doc="always x")


def extract(*pages: bytes, status: int = 200) -> tuple[pl.DataFrame, ...]:
    raw = raw_rows([(SUB, i + 1, body) for i, body in enumerate(pages)], status=status)
    e = compile_extractor(ShopWidget).extract(raw)
    return e.rows, e.rejected, e.pages


def test_a_record_becomes_one_typed_row_with_its_provenance() -> None:
    rows, rejected, _ = extract(page([widget()], total=1))
    assert rejected.height == 0
    row = rows.row(0, named=True)
    assert row["_sub_resource"] == SUB
    assert row["_page_number"] == 1
    assert row["_partition_date"] == dt.date(2026, 11, 20)
    assert row["_fetched_at"] == dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
    assert {k: row[k] for k in ("sku", "name", "price", "stock", "active", "launched")} == {
        "sku": "ABC123",
        "name": "Sprocket",
        "price": 1299.5,
        "stock": 12,
        "active": True,
        "launched": dt.date(2026, 3, 1),
    }
    assert row["colour"] == "Red"
    assert row["tags"] == ["a", "b"]
    assert row["parts"] == [{"name": "Gear", "price": 3.0}]
    assert (row["maker"], row["label"], row["legacy"]) == ("Acme", f"{SUB}:ABC123", None)
    assert rows.schema == transformed_schema(ShopWidget)


@pytest.mark.parametrize(
    ("fields", "column", "value"),
    [
        ({"pricing": None}, "price", None),
        ({"pricing": "junk"}, "price", None),
        ({"pricing": {"list": 12}}, "price", 12.0),
        ({"pricing": {"list": ""}}, "price", None),
        ({"stock": 7.0}, "stock", 7),
        ({"stock": "7.5"}, "stock", None),
        ({"active": False}, "active", False),
        ({"active": "maybe"}, "active", None),
        ({"title": {"nested": 1}}, "name", None),
        ({"title": 42}, "name", "42"),
        ({"specs": "junk"}, "colour", None),
        ({"specs": [{"key": "Colour"}]}, "colour", None),
        ({"tags": "a"}, "tags", None),
        ({"tags": [None, 1, ""]}, "tags", ["1"]),
        ({"parts": [None, "x", {"label": " Nut "}]}, "parts", [{"name": "Nut", "price": None}]),
        ({"launchDate": "2026-02-30"}, "launched", None),
    ],
)
def test_tolerated_shapes_read_as_documented(fields: dict, column: str, value: object) -> None:
    rows, _, _ = extract(page([widget(**fields)]))
    assert rows[column].to_list() == [value]


def test_records_without_a_key_or_with_a_bad_one_are_rejected_and_named() -> None:
    rows, rejected, pages = extract(page([widget(), widget(None), "text", widget("abc")], total=4))
    assert rows["sku"].to_list() == ["ABC123"]
    assert rejected.select("_record_index", "reason").rows() == [
        (1, "no sku"),
        (2, "no sku"),
        (3, "sku does not match ^[A-Z]{3}[0-9]{3}$"),
    ]
    assert pages.select("status", "reported_total", "records").row(0) == ("ok", 4, 4)


def test_page_facts_say_which_pages_were_lost() -> None:
    good = page([widget()], count="3")
    raw = raw_rows([(SUB, 1, good), (SUB, 2, b"<html>oops</html>"), (SUB, 3, b"")])
    facts = compile_extractor(ShopWidget).extract(raw).pages
    assert facts.select("_page_number", "status", "reported_total", "records").rows() == [
        (1, "ok", 3, 1),
        (2, "malformed", None, 0),
        (3, "malformed", None, 0),
    ]
    failed = compile_extractor(ShopWidget).extract(raw_rows([(SUB, 1, good)], status=503))
    assert failed.pages["status"].to_list() == ["http 503"]
    assert failed.rows.height == 0


def test_raw_newlines_inside_a_body_do_not_split_pages() -> None:
    body = page([widget()]).replace(b",", b",\r\n")
    rows, _, pages = extract(body, page([widget("XYZ999")]))
    assert rows["sku"].to_list() == ["ABC123", "XYZ999"]
    assert pages["status"].to_list() == ["ok", "ok"]


def test_records_one_level_down_see_their_parent() -> None:
    raw = raw_rows([(SUB, 1, page([widget(tags=["x", "y"]), widget("XYZ999", tags=None)]))])
    tags = compile_extractor(ShopWidgetTag)(raw)
    assert tags.select("sku", "tag").rows() == [("ABC123", "x"), ("ABC123", "y")]


def _tag_pages() -> pa.Table:
    # Page 2 was fetched first; a record on both pages still names page 1, as a partition's
    # collapse of identical rows would.
    late, early = FETCHED + dt.timedelta(minutes=5), FETCHED
    pages = [
        (1, page([widget(tags=["x", None, "x"]), widget("XYZ999", tags=["x"])]), late),
        (2, page([widget(tags=[None, "x", "y"])]), early),
    ]
    return make_raw_row_frame(
        DAY, SUB, [RawPage(n, "https://shop.example/x", {}, 200, body, at) for n, body, at in pages]
    )


def _one_slice(entity: type[Entity], raw: pa.Table) -> SliceRows:
    """The pages extracted as one slice, as a step's slice of a few megabytes is."""
    extractor = compile_extractor(entity)
    frame = as_polars(raw)
    decoded, malformed = PageDecoder(extractor.plan.page_dtype).decode(page_bodies(frame))
    return extractor.extract_decoded(frame, decoded, malformed)


def test_repeated_records_are_typed_once_and_each_rejected_copy_is_named() -> None:
    got = _one_slice(RepeatedWidgetTag, _tag_pages())
    assert got.rows.select("sku", "tag", "_page_number", "_fetched_at").rows() == [
        ("ABC123", "x", 1, FETCHED + dt.timedelta(minutes=5)),
        ("XYZ999", "x", 1, FETCHED + dt.timedelta(minutes=5)),
        ("ABC123", "y", 2, FETCHED),
    ]
    # Page 1's second x and page 2's x are copies; the null tags are rejected where they are.
    assert got.collapsed == 2
    assert got.rejected.select("_page_number", "_record_index", "reason").rows() == [
        (1, 1, "no tag"),
        (2, 0, "no tag"),
    ]
    assert got.pages["records"].to_list() == [4, 3]


@pytest.mark.parametrize("entity", [PagedWidgetTag, WholeRowWidgetTag], ids=lambda e: e.__name__)
def test_records_that_a_derived_column_tells_apart_by_page_are_not_copies(
    entity: type[Entity],
) -> None:
    # Whether the derived column reads the page number or every raw-row column, records
    # collapse only within their page.
    got = _one_slice(entity, _tag_pages())
    assert got.rows.select("sku", "tag", "seen_on").rows() == [
        ("ABC123", "x", 1),
        ("XYZ999", "x", 1),
        ("ABC123", "x", 2),
        ("ABC123", "y", 2),
    ]
    assert got.collapsed == 1


@pytest.mark.parametrize(
    "entity", [RepeatedWidgetTag, PagedWidgetTag, WholeRowWidgetTag], ids=lambda e: e.__name__
)
def test_repeated_records_agree_with_the_per_record_path(entity: type[Entity]) -> None:
    raw = _tag_pages()
    assert_same(compile_extractor(entity).extract(raw), oracle_extraction(entity, raw), entity)


def test_the_extractor_takes_arrow_or_polars_batches() -> None:
    raw = raw_rows([(SUB, 1, page([widget()]))])
    extractor = compile_extractor(ShopWidget)
    frame = pl.from_arrow(raw)
    assert isinstance(frame, pl.DataFrame)
    assert extractor(raw).equals(extractor(frame))
    assert extractor(raw).equals(extractor(raw.to_batches()[0]))


def test_the_page_schema_holds_only_what_the_declaration_reads() -> None:
    page_dtype = entity_plan(ShopWidget).page_dtype
    assert page_dtype == pl.Struct(
        {
            "data": pl.Struct(
                {
                    "items": pl.List(
                        pl.Struct(
                            {
                                "sku": pl.String,
                                "title": pl.String,
                                "pricing": pl.Struct({"list": pl.String}),
                                "stock": pl.String,
                                "active": pl.String,
                                "launchDate": pl.String,
                                "specs": pl.List(pl.Struct({"key": pl.String, "value": pl.String})),
                                "tags": pl.List(pl.String),
                                "parts": pl.List(
                                    pl.Struct({"label": pl.String, "price": pl.String})
                                ),
                            }
                        )
                    )
                }
            ),
            "meta": pl.Struct({"total": pl.String, "count": pl.String}),
        }
    )


def test_a_declaration_error_names_the_class_and_field() -> None:
    class Bare(Entity):
        entity_key = ("id",)
        records = Records("items")
        id: str | None = None

    with pytest.raises(TypeError, match=r"Bare\.id says nothing about how to read it"):
        compile_extractor(Bare)

    class Nowhere(Entity):
        entity_key = ("id",)

    with pytest.raises(TypeError, match="Nowhere does not say where its records are"):
        compile_extractor(Nowhere)

    class Checked(Entity):
        entity_key = ("id",)
        records = Records("items")
        id: Annotated[Text, Matches(r"^[0-9]+$"), ALWAYS_X] = None

    with pytest.raises(TypeError, match=r"Checked\.id: a Fallback is for a read column without"):
        compile_extractor(Checked)

    class ReadAt(Entity):
        entity_key = ("id",)
        records = Records("items")
        newest_by = "read_at"
        id: Text = None
        read_at: Text = None

    with pytest.raises(
        TypeError, match="ReadAt: newest_by 'read_at' is String; it must be a date, a"
    ):
        compile_extractor(ReadAt)

    class Elsewhere(ReadAt):
        newest_by = "seen_at"

    with pytest.raises(TypeError, match="Elsewhere: newest_by 'seen_at' names no column"):
        compile_extractor(Elsewhere)
