"""The inventory vehicle: one row per vehicle of the public inventory search.

`Vehicle` is the canonical row (about seventy columns once flattened: price parts, spec
attributes, options and packages as lists); `InventoryVehicle` maps the inventory API onto it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, ClassVar

import polars as pl
from pydantic import BaseModel

from ai_core.transform import (
    Date,
    Entity,
    Flag,
    Float,
    Int,
    Money,
    NestedList,
    Pick,
    Records,
    Text,
    TextSet,
    Timestamp,
    Upper,
    source_names,
)
from ai_stellantis.entities import fields
from ai_stellantis.sources.public_sites import INVENTORY


class Package(BaseModel):
    code: Text = None
    description: Text = None
    msrp: Money = None


class Incentive(BaseModel):
    id: Text = None
    name: Text = None
    amount: Money = None
    expires: Date = None


class Vehicle(Entity):
    """A new vehicle for sale at a dealer, as the brand's site lists it on the day."""

    entity_key: ClassVar[tuple[str, ...]] = ("vin",)

    vin: fields.Vin = None
    """Vehicle identification number, 17 characters; the key."""
    brand: str | None = None
    """Brand of the vehicle; `brand_corrected` says whether it differs from the published one."""
    published_brand: Text = None
    """The brand as the site published it."""
    brand_corrected: bool | None = None
    """True when `brand` is not the brand the site published, its ASCII letters in any case (or
    none was)."""
    model_year: Int = None
    """Model year, for example 2027."""
    model_year_code: Text = None
    """The model-year code the vehicle was listed under, for example WLJ202710."""
    assumed_model_year_code: Text = None
    """The model-year code the site assumes for the listing (`assumedModelYearCode`)."""
    ccode: Text = None
    """The site's combined code: 9-character model-year code, then 6-character model code."""
    model_code: Text = None
    """Model code, 6 characters (for example JLJL74): one body and trim of the model line."""
    cpp: Text = None
    """Customer preferred package, 3 characters (22W): 2nd is the powertrain, last the trim."""
    vehicle_line: Text = None
    """Model line, for example Wrangler."""
    vehicle_type: Text = None
    """Vehicle type as the site classes it (SUV, truck, car...)."""
    llp: Text = None
    """Lower-level package code (`llp`), as the site publishes it."""
    status_code: Text = None
    """The site's status code of the listing (`statusCode`)."""

    dealer_code: Text = None
    """Code of the selling dealer; joins the dealer tables."""
    dealer_name: Text = None
    """Name of the selling dealer."""
    dealer_zip_code: Text = None
    """ZIP code of the selling dealer (ZIP+4 where the site gives it)."""
    dealer_city: Text = None
    """City of the selling dealer."""
    dealer_state: Text = None
    """State of the selling dealer, two letters."""
    distance: Float = None
    """Distance from the searched ZIP code to the dealer, as the site reports it."""
    latitude: Float = None
    """Dealer latitude, degrees."""
    longitude: Float = None
    """Dealer longitude, degrees."""

    vehicle_desc: Text = None
    """The site's one-line description of the vehicle."""
    trim_desc: Text = None
    """Trim name, for example Sahara."""
    body_style: Text = None
    """Body style, for example 4-door."""
    drivetrain: Text = None
    """Drivetrain as the site describes it, for example 4x4."""
    engine_desc: Text = None
    """Engine description."""
    engine_code: Text = None
    """Engine code."""
    transmission_desc: Text = None
    """Transmission description."""
    transmission_code: Text = None
    """Transmission code."""
    fuel_type: Text = None
    """Fuel type, for example Gas or Hybrid."""
    mpg_city: Int = None
    """EPA fuel economy in the city, miles per gallon."""
    mpg_hwy: Int = None
    """EPA fuel economy on the highway, miles per gallon."""

    exterior_color_code: Text = None
    """Paint code, for example PAU."""
    exterior_color_desc: Text = None
    """Paint name."""
    interior_color_code: Text = None
    """Interior colour code."""
    interior_color_desc: Text = None
    """Interior colour name."""
    interior_fabric: Text = None
    """Seat fabric or leather, as the site describes it."""

    options: TextSet = None
    """Codes of the installed options, trimmed, sorted and without duplicates."""
    packages: Sequence[Package] | None = None
    """Installed packages: code, description and MSRP in US dollars."""
    incentives: Sequence[Incentive] | None = None
    """Incentives offered on the vehicle: id, name, amount in US dollars, expiry day."""

    msrp: Money = None
    """Manufacturer's suggested retail price, US dollars."""
    net_price: Money = None
    """The site's net price (`price.netPrice`), US dollars."""
    employee_price: Money = None
    """The site's employee price (`price.employeePrice`), US dollars."""
    destination: Money = None
    """Destination charge, US dollars."""
    discounted_price: Money = None
    """The site's discounted price (`price.discountedPrice`), US dollars."""
    total_incentives: Money = None
    """The site's total of incentives (`price.totalIncentives`), US dollars."""

    drive: Text = None
    """Drive attribute (`Drive`), for example 4WD."""
    doors: Int = None
    """Number of doors (`Doors` attribute)."""
    seats: Int = None
    """Number of seats (`Seats` attribute)."""
    real_trim: Text = None
    """The trim the site's `Real Trim` attribute names."""
    power_source: Text = None
    """Power source attribute (`Power Source`), for example Gas or Plug-in Hybrid."""

    ext_image: Text = None
    """Query string of the exterior image for the brand's image renderer."""
    int_image: Text = None
    """Query string of the interior image for the brand's image renderer."""
    ext_image_url: str | None = None
    """URL of the exterior image on the brand's site; null for a site of no known brand."""
    int_image_url: str | None = None
    """URL of the interior image on the brand's site; null for a site of no known brand."""
    image_brand: Text = None
    """Brand letter the exterior image asks the renderer for (`brand=` in `ext_image`)."""
    maker_code: Text = None
    """The VIN's first three characters: the maker (WMI)."""
    vin_matches_brand: bool | None = None
    """True when the VIN's maker code builds the brand; null when either is unknown."""
    image_brand_matches: bool | None = None
    """True when the image renderer is asked for the brand; null when either is unknown."""

    consumer_family: Text = None
    """The site's consumer family of the model (`mackevisionData.consumerFamily`)."""
    ulp: Text = None
    """Upper-level package code (`mackevisionData.ulp`), as the site publishes it."""

    inventory_status: Text = None
    """The site's inventory status of the vehicle, for example in stock or in transit."""
    stock_number: Text = None
    """The dealer's stock number."""
    is_demo: Flag = None
    """True for a dealer demonstrator."""
    mileage: Int = None
    """Odometer miles."""
    days_in_inventory: Int = None
    """Days the dealer has had the vehicle, as the site reports it."""
    last_updated: Timestamp = None
    """When the site last updated the listing, UTC; a time sent without an offset is taken as
    UTC."""


class InventoryPackage(Package):
    model_config = source_names(description="desc")


class InventoryIncentive(Incentive):
    model_config = source_names()


ATTRIBUTES = ("attributes", "attributes")
PRICE = "price"


def _attribute(name: str) -> Pick:
    return Pick("typeDesc", name, "value")


class InventoryVehicle(Vehicle):
    """A vehicle of `getinventoryresults.json`, one record per element of `vehicles`."""

    model_config = source_names(
        published_brand="brand",
        model_code="ccode",
        cpp="options",
        vehicle_line="model",
        latitude="lat",
        longitude="lon",
        msrp=(PRICE, "msrp"),
        net_price=(PRICE, "netPrice"),
        employee_price=(PRICE, "employeePrice"),
        destination=(PRICE, "destination"),
        discounted_price=(PRICE, "discountedPrice"),
        total_incentives=(PRICE, "totalIncentives"),
        drive=ATTRIBUTES,
        doors=ATTRIBUTES,
        seats=ATTRIBUTES,
        real_trim=ATTRIBUTES,
        power_source=ATTRIBUTES,
        image_brand="extImage",
        maker_code="vin",
        consumer_family=("mackevisionData", "consumerFamily"),
        ulp=("mackevisionData", "ulp"),
    )
    records: ClassVar[Records | None] = Records(*INVENTORY.records)
    totals: ClassVar[tuple[tuple[str, ...], ...]] = INVENTORY.totals
    ignored_keys: ClassVar[tuple[str, ...]] = (
        "result.result",
        "result.errors",
        "result.data.metadata.exactMatchCount",
        "result.data.vehicles[].attributes.attributes[].typeId",
    )
    discrepancies: ClassVar[Mapping[str, pl.Expr]] = {
        "brand corrected": pl.col("brand_corrected"),
        "image of an unknown brand": fields.UNKNOWN_BRAND_IMAGE,
        "VIN maker code of another brand": pl.col("vin_matches_brand").not_(),
        "image renderer asked for another brand": pl.col("image_brand_matches").not_(),
        # Every vehicle has exactly one: options without one (or with several) may be a
        # spelling the CPP rule does not know. Options missing altogether are column drift's.
        "no CPP among the options": (pl.col("options").list.len() > 0) & pl.col("cpp").is_null(),
    }

    brand: Annotated[str | None, fields.brand_from_domain()] = None
    model_year_code: Annotated[Text, fields.ASKED_MODEL_YEAR_CODE] = None
    brand_corrected: Annotated[bool | None, fields.BRAND_CORRECTED] = None
    model_code: Annotated[Text, fields.MODEL_CODE] = None
    cpp: Annotated[Text, fields.CPP] = None
    packages: Annotated[list[InventoryPackage] | None, NestedList(InventoryPackage)] = None
    incentives: Annotated[list[InventoryIncentive] | None, NestedList(InventoryIncentive)] = None
    drive: Annotated[Text, _attribute("Drive")] = None
    doors: Annotated[Int, _attribute("Doors")] = None
    seats: Annotated[Int, _attribute("Seats")] = None
    real_trim: Annotated[Text, _attribute("Real Trim")] = None
    power_source: Annotated[Text, _attribute("Power Source")] = None
    ext_image_url: Annotated[str | None, fields.image_url("ext_image")] = None
    int_image_url: Annotated[str | None, fields.image_url("int_image")] = None
    image_brand: Annotated[Text, fields.IMAGE_BRAND] = None
    # Later annotations apply first: cut from the VIN, then in upper case, as `vin` is read.
    maker_code: Annotated[Text, Upper(), fields.MAKER_CODE] = None
    vin_matches_brand: Annotated[bool | None, fields.VIN_MATCHES_BRAND] = None
    image_brand_matches: Annotated[bool | None, fields.IMAGE_BRAND_MATCHES] = None
