"""The dealer, from the dealer locator (complete), as each inventory vehicle names it (partial),
and as DealerConnect names it (its code alone).

Every source maps onto the canonical `Dealer`, so the consolidated tier can merge them; what a
source does not publish is `ABSENT` (always null, nothing read).
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from ai_core.transform import ABSENT, Entity, Float, Join, Records, Text, Unless, source_names
from ai_stellantis.entities.dealerconnect import DEALER_FROM_TABLE, ROWS
from ai_stellantis.sources.public_sites import DEALERS, INVENTORY

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CLOCK = Join("time", "ampm")
"""`{"time": "9:00", "ampm": "AM"}` -> `9:00 AM`; null when both are blank."""
# A day's times are read from the day's object unless its `closed` flag is set: a closed day's
# times, blank or not, are no opening hours.
OPENS = Unless("closed", "open")
CLOSES = Unless("closed", "close")


class Dealer(Entity):
    """A dealership selling the brand's new vehicles, with its showroom's sales hours."""

    entity_key: ClassVar[tuple[str, ...]] = ("dealer_code",)

    dealer_code: Text = None
    """Dealer code, the dealer's identifier across sources; the key."""
    name: Text = None
    """Dealership name."""
    address1: Text = None
    """Street address, first line."""
    address2: Text = None
    """Street address, second line."""
    city: Text = None
    """City."""
    state: Text = None
    """State, two letters."""
    zip_code: Text = None
    """ZIP code."""
    phone: Text = None
    """Showroom phone number."""
    website: Text = None
    """Dealership website."""
    latitude: Float = None
    """Latitude of the showroom, degrees."""
    longitude: Float = None
    """Longitude of the showroom, degrees."""
    monday_sales_open: Text = None
    """When the sales showroom opens on Mondays, for example 9:00 AM; null when closed."""
    monday_sales_close: Text = None
    """When the sales showroom closes on Mondays, for example 8:00 PM; null when closed."""
    tuesday_sales_open: Text = None
    """When the sales showroom opens on Tuesdays, for example 9:00 AM; null when closed."""
    tuesday_sales_close: Text = None
    """When the sales showroom closes on Tuesdays, for example 8:00 PM; null when closed."""
    wednesday_sales_open: Text = None
    """When the sales showroom opens on Wednesdays, for example 9:00 AM; null when closed."""
    wednesday_sales_close: Text = None
    """When the sales showroom closes on Wednesdays, for example 8:00 PM; null when closed."""
    thursday_sales_open: Text = None
    """When the sales showroom opens on Thursdays, for example 9:00 AM; null when closed."""
    thursday_sales_close: Text = None
    """When the sales showroom closes on Thursdays, for example 8:00 PM; null when closed."""
    friday_sales_open: Text = None
    """When the sales showroom opens on Fridays, for example 9:00 AM; null when closed."""
    friday_sales_close: Text = None
    """When the sales showroom closes on Fridays, for example 8:00 PM; null when closed."""
    saturday_sales_open: Text = None
    """When the sales showroom opens on Saturdays, for example 9:00 AM; null when closed."""
    saturday_sales_close: Text = None
    """When the sales showroom closes on Saturdays, for example 8:00 PM; null when closed."""
    sunday_sales_open: Text = None
    """When the sales showroom opens on Sundays, for example 9:00 AM; null when closed."""
    sunday_sales_close: Text = None
    """When the sales showroom closes on Sundays, for example 8:00 PM; null when closed."""


def _hours(day: str) -> tuple[str, ...]:
    return ("departments", "sales", "hours", day)


class LocatorDealer(Dealer):
    """A dealer of `MDLSDealerLocator`, one record per element of `dealer`."""

    model_config = source_names(
        name="dealerName",
        address1="dealerAddress1",
        address2="dealerAddress2",
        city="dealerCity",
        state="dealerState",
        zip_code="dealerZipCode",
        phone="phoneNumber",
        latitude="dealerShowroomLatitude",
        longitude="dealerShowroomLongitude",
        **{f"{day}_sales_{end}": _hours(day) for day in DAYS for end in ("open", "close")},
    )
    records: ClassVar[Records | None] = Records(*DEALERS.records)
    ignored_keys: ClassVar[tuple[str, ...]] = (
        "status",
        "error",
        "dealer[].departments.service",
        "dealer[].departments.parts",
    )

    monday_sales_open: Annotated[Text, CLOCK, OPENS] = None
    monday_sales_close: Annotated[Text, CLOCK, CLOSES] = None
    tuesday_sales_open: Annotated[Text, CLOCK, OPENS] = None
    tuesday_sales_close: Annotated[Text, CLOCK, CLOSES] = None
    wednesday_sales_open: Annotated[Text, CLOCK, OPENS] = None
    wednesday_sales_close: Annotated[Text, CLOCK, CLOSES] = None
    thursday_sales_open: Annotated[Text, CLOCK, OPENS] = None
    thursday_sales_close: Annotated[Text, CLOCK, CLOSES] = None
    friday_sales_open: Annotated[Text, CLOCK, OPENS] = None
    friday_sales_close: Annotated[Text, CLOCK, CLOSES] = None
    saturday_sales_open: Annotated[Text, CLOCK, OPENS] = None
    saturday_sales_close: Annotated[Text, CLOCK, CLOSES] = None
    sunday_sales_open: Annotated[Text, CLOCK, OPENS] = None
    sunday_sales_close: Annotated[Text, CLOCK, CLOSES] = None


class NamedDealer(Dealer):
    """A dealer as a source names it in passing, on a vehicle or by a table: no address lines,
    phone, website or hours."""

    address1: Annotated[Text, ABSENT] = None
    address2: Annotated[Text, ABSENT] = None
    phone: Annotated[Text, ABSENT] = None
    website: Annotated[Text, ABSENT] = None
    monday_sales_open: Annotated[Text, ABSENT] = None
    monday_sales_close: Annotated[Text, ABSENT] = None
    tuesday_sales_open: Annotated[Text, ABSENT] = None
    tuesday_sales_close: Annotated[Text, ABSENT] = None
    wednesday_sales_open: Annotated[Text, ABSENT] = None
    wednesday_sales_close: Annotated[Text, ABSENT] = None
    thursday_sales_open: Annotated[Text, ABSENT] = None
    thursday_sales_close: Annotated[Text, ABSENT] = None
    friday_sales_open: Annotated[Text, ABSENT] = None
    friday_sales_close: Annotated[Text, ABSENT] = None
    saturday_sales_open: Annotated[Text, ABSENT] = None
    saturday_sales_close: Annotated[Text, ABSENT] = None
    sunday_sales_open: Annotated[Text, ABSENT] = None
    sunday_sales_close: Annotated[Text, ABSENT] = None


class InventoryDealer(NamedDealer):
    """The dealer fields of each inventory vehicle; one dealer per key once collapsed."""

    model_config = source_names(
        name="dealerName",
        city="dealerCity",
        state="dealerState",
        zip_code="dealerZipCode",
        latitude="lat",
        longitude="lon",
    )
    records: ClassVar[Records | None] = Records(*INVENTORY.records)
    reports_unknown_keys: ClassVar[bool] = False
    repeated_records: ClassVar[bool] = True
    keyless_records_lost: ClassVar[bool] = False


class DealerConnectDealer(NamedDealer):
    """A dealer whose DealerConnect tables hold units: onboarded dealers, nationwide, whatever
    the locator's search area. One record per row of an `inventory_{dealer}` table, one dealer
    per table once collapsed; known by its code alone, so every unit has a dealer to link to."""

    records: ClassVar[Records | None] = ROWS
    reports_unknown_keys: ClassVar[bool] = False
    repeated_records: ClassVar[bool] = True

    dealer_code: Annotated[Text, DEALER_FROM_TABLE] = None
    name: Annotated[Text, ABSENT] = None
    city: Annotated[Text, ABSENT] = None
    state: Annotated[Text, ABSENT] = None
    zip_code: Annotated[Text, ABSENT] = None
    latitude: Annotated[Float, ABSENT] = None
    longitude: Annotated[Float, ABSENT] = None
