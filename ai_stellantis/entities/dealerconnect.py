"""DealerConnect entities: dealers' own units (from the POC), their sales, and the code guides.

Pages are DealerConnect raw pages, `{"table", "page", "total_rows", "rows": [...]}`, with the
`poc` and `guide` documents decoded in place (`embedded_json` in the YAML); a document that
cannot be read (`not JSON`, `not a JSON object` or `missing`) reads as `{"_error": <why>}`. A
unit's or sale's is reported by the `discrepancies` check; a guide's only counts in the raw
asset's `documents_unreadable`. The
dealer is the table's suffix (`inventory_68302`), read from the sub-resource.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, ClassVar

import polars as pl
from pydantic import BaseModel

from ai_core.transform import (
    Date,
    Derived,
    Entity,
    Int,
    Money,
    NestedList,
    Records,
    Text,
    Timestamp,
    constant,
    source_names,
)
from ai_stellantis.entities import fields
from ai_stellantis.sources.dealerconnect import PAGE

ROWS = Records(*PAGE.records)
TOTALS = PAGE.totals
UNREADABLE = {"document unreadable": pl.col("document_error").is_not_null()}


def _dealer(record: Any, provenance: Mapping[str, Any]) -> str | None:
    table = str(provenance.get("_sub_resource") or "")
    return table.split("_", 1)[1] if "_" in table else None


DEALER_FROM_TABLE = Derived(
    _dealer,
    pl.col("_sub_resource").str.splitn("_", 2).struct.field("field_1"),
    doc="the dealer code, the suffix of the table's name",
)


class PocOption(BaseModel):
    code: Text = None
    description: Text = None
    msrp: Money = None


POC_KEYS = (
    "modelYear", "modelCode", "cpp", "llp", "paint", "fabric", "options", "price", "shipDate",
    "dealerCode",
)  # fmt: skip
"""The POC document's keys, as the contract gives them."""
POC_PRICES = ("base", "options", "destination", "msrp")
"""The keys of the POC's `price`."""


class DealerVehicle(Entity):
    """A unit in a dealer's own stock: on order, in transit or on the lot, VIN or not yet."""

    # An order number is the dealer's own, and two dealers may use the same one.

    entity_key: ClassVar[tuple[str, ...]] = ("dealer_code", "order_number")

    order_number: Text = None
    """The dealer's own order number of the unit; with `dealer_code`, the key."""
    vin: fields.OptionalVin = None
    """Vehicle identification number, 17 characters; null until the unit is built or assigned,
    and where the portal sends something else (a placeholder, counted as unreadable)."""
    dealer_code: Text = None
    """Code of the dealer whose stock holds the unit (the suffix of its DealerConnect table)."""
    status: Text = None
    """Where the unit is, for example IN_STOCK, IN_TRANSIT, IN_PRODUCTION or ALLOCATED."""
    model_year: Int = None
    """Model year, from the unit's POC."""
    model_code: Text = None
    """Model code, 6 characters, for example JLJL74."""
    cpp: Text = None
    """Customer preferred package, 3 characters (`pkg`), for example 22W."""
    llp: Text = None
    """Lower-level package code, from the POC."""
    exterior_color_code: Text = None
    """Paint code, from the POC."""
    exterior_color_desc: Text = None
    """Paint name, from the POC."""
    interior_color_code: Text = None
    """Interior fabric code, from the POC."""
    interior_color_desc: Text = None
    """Interior fabric name, from the POC."""
    packages: Sequence[PocOption] | None = None
    """Options and packages on the unit's POC: code, description and MSRP in US dollars."""
    base_price: Money = None
    """Base price on the POC, US dollars."""
    options_price: Money = None
    """Price of the options on the POC, US dollars."""
    destination: Money = None
    """Destination charge on the POC, US dollars."""
    msrp: Money = None
    """Manufacturer's suggested retail price on the POC, US dollars."""
    ship_date: Date = None
    """Day the unit shipped (or is to ship), from the POC."""
    blob_id: Text = None
    """DealerConnect's id of the parsed POC document."""
    fetched_at: Timestamp = None
    """When DealerConnect read the dealer portal, UTC."""
    document_error: Text = None
    """Why the POC document could not be read (`not JSON`, `not a JSON object`, `missing`); null
    when it was."""


class DealerConnectVehicle(DealerVehicle):
    """A row of an `inventory_{dealer}` table with its POC."""

    model_config = source_names(
        order_number="order_number",
        vin="vin",
        status="status",
        model_year=("poc", "modelYear"),
        model_code="model_code",
        cpp="pkg",
        llp=("poc", "llp"),
        exterior_color_code=("poc", "paint", "code"),
        exterior_color_desc=("poc", "paint", "description"),
        interior_color_code=("poc", "fabric", "code"),
        interior_color_desc=("poc", "fabric", "description"),
        packages=("poc", "options"),
        base_price=("poc", "price", "base"),
        options_price=("poc", "price", "options"),
        destination=("poc", "price", "destination"),
        msrp=("poc", "price", "msrp"),
        ship_date=("poc", "shipDate"),
        blob_id="blob_id",
        fetched_at="fetched_at",
        document_error=("poc", "_error"),
    )
    records: ClassVar[Records | None] = ROWS
    totals: ClassVar[tuple[tuple[str, ...], ...]] = TOTALS
    # A portal read twice in a day gives two rows of a unit: the later read is the unit now.
    newest_by: ClassVar[str | None] = "fetched_at"
    ignored_keys: ClassVar[tuple[str, ...]] = (
        "table",
        "page",
        "rows[].fetch_date",
        "rows[].poc.modelCode",
        "rows[].poc.cpp",
        "rows[].poc.dealerCode",
        "rows[].poc._text",
    )
    discrepancies: ClassVar[Mapping[str, pl.Expr]] = UNREADABLE

    dealer_code: Annotated[Text, DEALER_FROM_TABLE] = None
    packages: Annotated[list[PocOption] | None, NestedList(PocOption)] = None


class Sale(Entity):
    """A vehicle a dealer sold, with the day of the sale."""

    entity_key: ClassVar[tuple[str, ...]] = ("dealer_code", "order_number")

    order_number: Text = None
    """The dealer's order number of the sold unit; with `dealer_code`, the key."""
    vin: fields.OptionalVin = None
    """Vehicle identification number, 17 characters; null where the portal sends something else
    (counted as unreadable)."""
    dealer_code: Text = None
    """Code of the selling dealer (the suffix of its DealerConnect table)."""
    sale_date: Date = None
    """Day the vehicle was sold."""
    sale_type: Text = None
    """RETAIL or FLEET."""
    msrp: Money = None
    """Manufacturer's suggested retail price on the POC, US dollars."""
    blob_id: Text = None
    """DealerConnect's id of the parsed POC document."""
    document_error: Text = None
    """Why the POC document could not be read (`not JSON`, `not a JSON object`, `missing`); null
    when it was."""


class DealerConnectSale(Sale):
    """A row of a `sales_{dealer}` table."""

    model_config = source_names(
        order_number="order_number",
        vin="vin",
        sale_date="sale_date",
        sale_type="sale_type",
        msrp=("poc", "price", "msrp"),
        blob_id="blob_id",
        document_error=("poc", "_error"),
    )
    records: ClassVar[Records | None] = ROWS
    totals: ClassVar[tuple[tuple[str, ...], ...]] = TOTALS
    # A sale reads only the MSRP of its POC: the document's other keys are known, so only a
    # column or a POC key new to the contract is reported.
    ignored_keys: ClassVar[tuple[str, ...]] = (
        "table",
        "page",
        "rows[].fetch_date",
        "rows[].poc._text",
        *(f"rows[].poc.{key}" for key in POC_KEYS if key != "price"),
        *(f"rows[].poc.price.{key}" for key in POC_PRICES if key != "msrp"),
    )
    discrepancies: ClassVar[Mapping[str, pl.Expr]] = UNREADABLE

    dealer_code: Annotated[Text, DEALER_FROM_TABLE] = None


class Trim(Entity):
    """A trim of a model code, by its CPP, as the code guide names it."""

    entity_key: ClassVar[tuple[str, ...]] = ("model_year", "model_code", "cpp")

    model_year: Int = None
    """Model year of the code guide."""
    model_code: Text = None
    """Model code, 6 characters, for example JLJL74."""
    cpp: Text = None
    """Customer preferred package naming the trim, 3 characters, for example 22W."""
    trim_name: Text = None
    """Trim name, for example Willys."""
    powertrain: Text = None
    """Powertrain of the trim, for example 2.0L I4 Turbo."""
    model_group: Text = None
    """The code guide's model group, for example JL."""
    vehicle_line: Text = None
    """Model line, for example Wrangler."""


class CodeGuideTrim(Trim):
    """An element of a code guide's `trims`."""

    model_config = source_names(
        model_year=("parent", "model_year"),
        model_code=("parent", "model_code"),
        cpp=("item", "cpp"),
        trim_name=("item", "name"),
        powertrain=("item", "powertrain"),
        model_group=("parent", "guide", "modelGroup"),
        vehicle_line=("parent", "guide", "vehicleLine"),
    )
    records: ClassVar[Records | None] = ROWS.then("guide", "trims")
    reports_unknown_keys: ClassVar[bool] = False


class GuideTrim(BaseModel):
    cpp: Text = None
    name: Text = None


class GuideModel(Entity):
    """A model code of a model year as its code guide describes it: model group, trims by CPP."""

    entity_key: ClassVar[tuple[str, ...]] = ("model_year", "model_code")

    model_year: Int = None
    """Model year of the code guide."""
    model_code: Text = None
    """Model code, 6 characters, for example JLJL74."""
    vehicle_line: Text = None
    """Vehicle line the code guide files the model under, for example Wrangler."""
    model_group: Text = None
    """Model group of the code guide, the family the model code belongs to."""
    trims: Sequence[GuideTrim] | None = None
    """Trims the code guide offers on the model code: CPP and trim name."""


class CodeGuideModel(GuideModel):
    """A row of `code_guides`, its guide's model fields."""

    model_config = source_names(
        model_year="model_year",
        model_code="model_code",
        vehicle_line=("guide", "vehicleLine"),
        model_group=("guide", "modelGroup"),
        trims=("guide", "trims"),
    )
    records: ClassVar[Records | None] = ROWS
    reports_unknown_keys: ClassVar[bool] = False

    trims: Annotated[list[GuideTrim] | None, NestedList(GuideTrim)] = None
    """Trims the code guide offers on the model code: CPP and trim name."""


class GuideFeature(Entity):
    """A package or option a code guide offers on a model code, with its description and price."""

    entity_key: ClassVar[tuple[str, ...]] = ("model_year", "model_code", "kind", "code")

    model_year: Int = None
    """Model year of the code guide."""
    model_code: Text = None
    """Model code, 6 characters, for example JLJL74."""
    kind: str | None = None
    """`package` or `option`."""
    code: Text = None
    """Package or option code."""
    description: Text = None
    """Description in the code guide."""
    msrp: Money = None
    """Price in the code guide, US dollars."""
    model_group: Text = None
    """The code guide's model group, for example JL."""


_GUIDE_FEATURE = {
    "model_year": ("parent", "model_year"),
    "model_code": ("parent", "model_code"),
    "code": ("item", "code"),
    "description": ("item", "description"),
    "msrp": ("item", "msrp"),
    "model_group": ("parent", "guide", "modelGroup"),
}


class CodeGuidePackage(GuideFeature):
    """An element of a code guide's `packages`."""

    model_config = source_names(**_GUIDE_FEATURE)
    records: ClassVar[Records | None] = ROWS.then("guide", "packages")
    reports_unknown_keys: ClassVar[bool] = False

    kind: Annotated[str | None, constant("package")] = None


class CodeGuideOption(GuideFeature):
    """An element of a code guide's `options`."""

    model_config = source_names(**_GUIDE_FEATURE)
    records: ClassVar[Records | None] = ROWS.then("guide", "options")
    reports_unknown_keys: ClassVar[bool] = False

    kind: Annotated[str | None, constant("option")] = None
