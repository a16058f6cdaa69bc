"""Old days of a consolidated entity: the carry window, and reruns once upkeep has run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from ai_core.consolidate import ConsolidatedComponent
from ai_core.consolidate.lineage import stale_days
from ai_core.iceberg.resource import IcebergCatalogResource
from ai_core.iceberg.upkeep import upkeep
from ai_core.iceberg.writer import unobserved_property
from tests.ai_core.consolidate.runs import materialize

YAML = """
oem: acme
market: US
start_date: "2026-11-01"
entities:
  - name: vehicles
    id_column: vehicle_id
    key_fields: [vin]
    source_groups:
      - {name: dealer, source: acme/transformed/dealer_vehicles, priority: 1, history_days: 3}
    merge:
      match_on: [[vin]]
    history: {retain_sold_days: 30}
"""
SOURCE = "acme/transformed/dealer_vehicles"
VEHICLES = "acme/consolidated/vehicles"


def day(n: int) -> dt.date:
    return dt.date(2026, 11, n)


@pytest.fixture
def component() -> ConsolidatedComponent:
    return ConsolidatedComponent.resolve_from_yaml(YAML)


@pytest.fixture
def catalog(tmp_path: Path) -> IcebergCatalogResource:
    return IcebergCatalogResource(catalog_name="old-days", data_dir=str(tmp_path))


def write(catalog: IcebergCatalogResource, on: dt.date, dealers: str, unobserved: str = "") -> None:
    """The source's day: vehicle X at dealer A and Y at dealer B, for the dealers given."""
    rows = [(vin, dealer, dealer) for vin, dealer in (("X", "A"), ("Y", "B")) if dealer in dealers]
    schema = {"vin": pl.String, "dealer_code": pl.String, "_sub_resource": pl.String}
    frame = pl.DataFrame(rows, schema=schema, orient="row").with_columns(
        pl.int_range(1, len(rows) + 1, dtype=pl.UInt64).alias("_snapshot_hash")
    )
    properties = unobserved_property(unobserved) if unobserved else None
    catalog.write_partition(SOURCE, on, [frame], snapshot_properties=properties)


def vehicle(catalog: IcebergCatalogResource, on: dt.date, vin: str) -> dict[str, object]:
    [row] = catalog.scan_partition(VEHICLES, on).filter(pl.col("vin") == vin).collect().to_dicts()
    return row


def expire_everything(catalog: IcebergCatalogResource) -> None:
    """Upkeep once every write is past its retention (a week on, with the default)."""
    for key in (SOURCE, VEHICLES):
        table = catalog.table(key)
        assert table is not None
        assert upkeep(table, key, retention=dt.timedelta(0)).snapshots_expired > 0


def test_a_part_is_carried_only_from_within_the_consolidated_days_window(
    component: ConsolidatedComponent, catalog: IcebergCatalogResource
) -> None:
    """Dealer B unobserved on the 17th: the 17th carries it from the 14th; the 20th, with no
    source day of its own, stands on the 17th but not on the 14th, six days before it."""
    write(catalog, day(14), "AB")
    write(catalog, day(17), "A", unobserved="B")
    entity = component.entity("vehicles")

    def carried(on: dt.date) -> list[tuple[dt.date, list[str]]]:
        [source] = component.source_inputs(catalog, entity, on)
        assert source.partition_date == day(17) and source.unobserved == {"B"}
        return [
            (c.partition_date, c.frame.lazy().collect()["vin"].to_list()) for c in source.carried
        ]

    assert carried(day(17)) == [(day(14), ["Y"])]
    assert carried(day(20)) == []


def test_a_rerun_after_upkeep_still_knows_what_its_day_did_not_observe(
    component: ConsolidatedComponent, catalog: IcebergCatalogResource
) -> None:
    """Dealer B's table failed on the 15th, so Y was carried; rebuilding the 15th once upkeep
    has expired its writes carries Y again instead of reading the outage as a sale."""
    write(catalog, day(14), "AB")
    write(catalog, day(15), "A", unobserved="B")
    write(catalog, day(16), "AB")
    for n in (14, 15, 16):
        assert materialize(component, catalog, day(n)).success
    before = vehicle(catalog, day(15), "Y")
    assert (before["active"], before["_gap_filled"], before["sold_date"]) == (True, True, None)

    expire_everything(catalog)
    assert materialize(component, catalog, day(15)).success

    after = vehicle(catalog, day(15), "Y")
    assert (after["active"], after["_gap_filled"], after["sold_date"]) == (True, True, None)
    assert after["_source_partition_date"] == day(14)


def test_a_repaired_old_day_still_makes_the_next_day_stale(
    component: ConsolidatedComponent, catalog: IcebergCatalogResource
) -> None:
    """Once upkeep has expired the days' writes, rebuilding the 14th still leaves the 15th
    for the history repair sensor, which rebuilds the days after it in turn."""
    for n in (14, 15, 16):
        write(catalog, day(n), "A" if n == 14 else "AB")
        assert materialize(component, catalog, day(n)).success
    expire_everything(catalog)
    assert stale_days(catalog.day_writes(VEHICLES), catalog.partition_dates(VEHICLES)) == []

    write(catalog, day(14), "AB")  # the 14th repaired upstream: Y was there
    assert materialize(component, catalog, day(14)).success
    assert stale_days(catalog.day_writes(VEHICLES), catalog.partition_dates(VEHICLES)) == [day(15)]
    assert materialize(component, catalog, day(15)).success
    assert stale_days(catalog.day_writes(VEHICLES), catalog.partition_dates(VEHICLES)) == [day(16)]
