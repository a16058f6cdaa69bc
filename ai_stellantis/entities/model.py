"""Vehicle models: the model-year codes a brand lists, and the models its inventory shows.

A model-year code (`IUJ202610`) names one model line and year of a brand; a model code
(`JLJL74`) one body and trim within it.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from ai_core.transform import Entity, Int, Records, Text, source_names
from ai_stellantis.entities import fields
from ai_stellantis.sources.public_sites import INVENTORY, MODEL_YEAR_CODES


class ModelYearCode(Entity):
    """A model line and year a brand lists for sale today, with its national vehicle count."""

    entity_key: ClassVar[tuple[str, ...]] = ("code",)

    code: Text = None
    """Model-year code, for example IUJ202610: one model line and year of a brand; the key."""
    brand: str | None = None
    """Brand of the site that lists the code."""
    model_year: Int = None
    """Model year, for example 2027."""
    vehicle_line: Text = None
    """Model line, for example Wrangler."""
    label: Text = None
    """The code's label on the site's filters."""
    vehicle_count: Int = None
    """Vehicles of this code for sale nationally, as the site counts them today."""


class FiltersModelYearCode(ModelYearCode):
    """An element of `modelYearCodes` in `getinventoryfilters.json`."""

    model_config = source_names(model_year="year", vehicle_count="count")
    records: ClassVar[Records | None] = Records(*MODEL_YEAR_CODES.records)
    ignored_keys: ClassVar[tuple[str, ...]] = ("result.result", "result.errors")

    brand: Annotated[str | None, fields.brand_from_domain(None)] = None


class VehicleModel(Entity):
    """A model (body and trim) of a model-year code."""

    entity_key: ClassVar[tuple[str, ...]] = ("model_year_code", "model_code")

    model_year_code: Text = None
    """Model-year code the model belongs to, for example IUJ202610."""
    model_code: Text = None
    """Model code, 6 characters (for example JLJL74): one body and trim."""
    brand: str | None = None
    """Brand of the site that lists the model."""
    model_year: Int = None
    """Model year, for example 2027."""
    vehicle_line: Text = None
    """Model line, for example Wrangler."""
    vehicle_type: Text = None
    """Vehicle type as the site classes it (SUV, truck, car...)."""
    consumer_family: Text = None
    """The site's consumer family of the model (`mackevisionData.consumerFamily`)."""


class InventoryModel(VehicleModel):
    """The model of each inventory vehicle; one model per key once collapsed."""

    model_config = source_names(
        model_code="ccode",
        vehicle_line="model",
        consumer_family=("mackevisionData", "consumerFamily"),
    )
    records: ClassVar[Records | None] = Records(*INVENTORY.records)
    reports_unknown_keys: ClassVar[bool] = False
    repeated_records: ClassVar[bool] = True
    keyless_records_lost: ClassVar[bool] = False

    model_year_code: Annotated[Text, fields.ASKED_MODEL_YEAR_CODE] = None
    model_code: Annotated[Text, fields.MODEL_CODE] = None
    brand: Annotated[str | None, fields.brand_from_domain(None)] = None
