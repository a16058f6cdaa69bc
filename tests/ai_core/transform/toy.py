"""A small OEM-agnostic entity exercising every kind of declaration, and pages of it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, ClassVar

import orjson
import polars as pl
from pydantic import BaseModel

from ai_core.transform import (
    ABSENT,
    Date,
    Derived,
    Entity,
    Flag,
    Int,
    Matches,
    Money,
    NestedList,
    Pick,
    Records,
    Text,
    TextSet,
    constant,
    source_names,
)


class Part(BaseModel):
    name: Text = None
    price: Money = None


class SourcePart(Part):
    model_config = source_names(name="label")


def _label(record: Any, provenance: Mapping[str, Any]) -> str | None:
    return None if record.sku is None else f"{provenance['_sub_resource']}:{record.sku}"


class Widget(Entity):
    entity_key: ClassVar[tuple[str, ...]] = ("sku",)

    sku: Annotated[Text, Matches(r"^[A-Z]{3}[0-9]{3}$")] = None
    name: Text = None
    price: Money = None
    stock: Int = None
    active: Flag = None
    launched: Date = None
    colour: Text = None
    tags: TextSet = None
    parts: Sequence[Part] | None = None
    maker: str | None = None
    label: str | None = None
    legacy: Text = None


class ShopWidget(Widget):
    """A widget of `{"data": {"items": [...]}, "meta": {"total": n}}` pages."""

    model_config = source_names(
        name="title",
        price=("pricing", "list"),
        colour=("specs",),
        launched="launchDate",
    )
    records: ClassVar[Records | None] = Records("data", "items")
    totals: ClassVar[tuple[tuple[str, ...], ...]] = (("meta", "total"), ("meta", "count"))
    ignored_keys: ClassVar[tuple[str, ...]] = ("meta.requestId", "data.items[].specs[].unit")
    discrepancies: ClassVar[Mapping[str, pl.Expr]] = {"no price": pl.col("price").is_null()}

    colour: Annotated[Text, Pick("key", "Colour", "value")] = None
    parts: Annotated[list[SourcePart] | None, NestedList(SourcePart)] = None
    maker: Annotated[str | None, constant("Acme")] = None
    label: Annotated[str | None, Derived(_label, pl.format("{}:{}", "_sub_resource", "sku"))] = None
    legacy: Annotated[Text, ABSENT] = None


class WidgetTag(Entity):
    entity_key: ClassVar[tuple[str, ...]] = ("sku", "tag")

    sku: Text = None
    tag: Text = None


class ShopWidgetTag(WidgetTag):
    model_config = source_names(sku=("parent", "sku"), tag=("item",))
    records: ClassVar[Records | None] = Records("data", "items").then("tags")


class RepeatedWidgetTag(ShopWidgetTag):
    """The same tags, each distinct one typed once per slice of pages."""

    repeated_records: ClassVar[bool] = True


class PagedWidgetTag(RepeatedWidgetTag):
    """Tags with the page they were seen on: copies on two pages are two records."""

    seen_on: Annotated[
        int | None,
        Derived(lambda record, provenance: provenance["_page_number"], pl.col("_page_number")),
    ] = None


_EVERY_RAW_ROW_COLUMN = pl.all_horizontal(
    pl.col(c).is_not_null()
    for c in ("_partition_date", "_sub_resource", "_fetched_at", "_request_url")
)


class WholeRowWidgetTag(RepeatedWidgetTag):
    """Tags with their page, read through every raw-row column: no provenance is left over to
    take from a copy."""

    seen_on: Annotated[
        int | None,
        Derived(
            lambda record, provenance: provenance["_page_number"],
            pl.when(_EVERY_RAW_ROW_COLUMN).then(pl.col("_page_number")),
        ),
    ] = None


def widget(sku: str | None = "ABC123", **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "sku": sku,
        "title": "Sprocket",
        "pricing": {"list": "$1,299.50"},
        "stock": "12",
        "active": "Y",
        "launchDate": "2026-03-01",
        "specs": [{"key": "Size", "value": "L"}, {"key": "Colour", "value": "Red", "unit": "-"}],
        "tags": ["b", "a", "b"],
        "parts": [{"label": "Gear", "price": 3}],
    }
    return {**base, **fields}


def page(items: Sequence[Any], total: Any = None, **meta: Any) -> bytes:
    return orjson.dumps({"meta": {"total": total, **meta}, "data": {"items": list(items)}})


class WidgetName(Entity):
    """A widget name with the price a widget of that name was listed at."""

    entity_key: ClassVar[tuple[str, ...]] = ("name",)

    name: Text = None
    price: Money = None
    stock: Int = None


class ShopWidgetName(WidgetName):
    """Names read off the widgets: one record per widget, so a name repeats across them."""

    model_config = source_names(name="title", price=("pricing", "list"))
    records: ClassVar[Records | None] = Records("data", "items")
    reports_unknown_keys: ClassVar[bool] = False


class RepeatedWidgetName(ShopWidgetName):
    repeated_records: ClassVar[bool] = True


class NamedWidgetName(RepeatedWidgetName):
    """Names of the widgets that have one: a widget without a title names nothing."""

    keyless_records_lost: ClassVar[bool] = False
