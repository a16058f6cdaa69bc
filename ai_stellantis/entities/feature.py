"""Features: the option and package codes inventory vehicles carry, per model-year code.

Options are bare codes; packages add a description and a price. Each vehicle contributes one
record per code, so a day's thousands of identical records collapse to one per key.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from ai_core.transform import ABSENT, Entity, Money, Records, Text, constant, source_names
from ai_stellantis.entities import fields
from ai_stellantis.sources.public_sites import INVENTORY


class Feature(Entity):
    """An option or package code offered on a model-year code."""

    entity_key: ClassVar[tuple[str, ...]] = ("model_year_code", "kind", "code")

    model_year_code: Text = None
    """Model-year code the feature is offered on, for example IUJ202610."""
    kind: str | None = None
    """`option` or `package`."""
    code: Text = None
    """Option or package code, for example AJ1."""
    description: Text = None
    """Package description; null for options, which the site lists as bare codes."""
    msrp: Money = None
    """Package price, US dollars; null for options."""


VEHICLES = Records(*INVENTORY.records)


class InventoryOption(Feature):
    """An element of a vehicle's `options`."""

    model_config = source_names(model_year_code=("parent", "modelYearCode"), code=("item",))
    records: ClassVar[Records | None] = VEHICLES.then("options")
    reports_unknown_keys: ClassVar[bool] = False
    repeated_records: ClassVar[bool] = True
    keyless_records_lost: ClassVar[bool] = False

    model_year_code: Annotated[Text, fields.ASKED_MODEL_YEAR_CODE] = None
    kind: Annotated[str | None, constant("option")] = None
    description: Annotated[Text, ABSENT] = None
    msrp: Annotated[Money, ABSENT] = None


class InventoryPackageFeature(Feature):
    """An element of a vehicle's `packages`."""

    model_config = source_names(
        model_year_code=("parent", "modelYearCode"),
        code=("item", "code"),
        description=("item", "desc"),
        msrp=("item", "msrp"),
    )
    records: ClassVar[Records | None] = VEHICLES.then("packages")
    reports_unknown_keys: ClassVar[bool] = False
    repeated_records: ClassVar[bool] = True
    keyless_records_lost: ClassVar[bool] = False

    model_year_code: Annotated[Text, fields.ASKED_MODEL_YEAR_CODE] = None
    kind: Annotated[str | None, constant("package")] = None
