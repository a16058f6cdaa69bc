"""Every column of every table is described, in Iceberg and in Dagster's column schema: entity
columns from their declarations (before any run), consolidated columns once written."""

from __future__ import annotations

import re

import dagster as dg

from ai_core.consolidate.columns import ENGINE_DOCS
from ai_core.iceberg.catalog import load_catalog
from ai_core.iceberg.identifiers import table_identifier
from ai_core.transform.columns import PROVENANCE_DOCS
from ai_stellantis.definitions import defs
from ai_stellantis.entities import DealerVehicle, Vehicle
from tests.ai_stellantis.conftest import DAY, RAW_KEYS, UpstreamEnv, materialize_day

VEHICLES = "stellantis/transformed/inventory_vehicles"
VEHICLES_KEY = dg.AssetKey.from_user_string(VEHICLES)
FIELD_ID = re.compile(r"\d+:")
TIERS = ("raw", "transformed", "consolidated")


def declared_schema() -> dg.TableSchema:
    assets = defs().resolve_assets_def(VEHICLES_KEY)
    schema = assets.specs_by_key[VEHICLES_KEY].metadata["dagster/column_schema"]
    assert isinstance(schema, dg.TableSchema)
    return schema


def test_the_column_schema_is_declared_on_the_asset_before_any_run() -> None:
    columns = {c.name: c for c in declared_schema().columns}
    assert columns["msrp"].description == Vehicle.model_fields["msrp"].description
    assert columns["msrp"].description == "Manufacturer's suggested retail price, US dollars."
    assert columns["_fetched_at"].description == PROVENANCE_DOCS["_fetched_at"]
    assert columns["packages"].type == (
        "list<struct<code: string, description: string, msrp: decimal(12, 2)>>"
    )
    assert columns["last_updated"].type == "timestamptz"


def test_a_run_writes_the_descriptions_as_iceberg_field_docs(stellantis_env: UpstreamEnv) -> None:
    result = materialize_day([*RAW_KEYS, VEHICLES])
    table = load_catalog().load_table("stellantis_transformed.inventory_vehicles")
    docs = {f.name: f.doc for f in table.schema().fields}
    declared = {c.name: c.description for c in declared_schema().columns}
    assert docs == declared
    assert docs["vin"] == "Vehicle identification number, 17 characters; the key."

    (materialization,) = [
        m
        for m in result.asset_materializations_for_node(
            "transform__stellantis__raw__public_inventory"
        )
        if m.asset_key == VEHICLES_KEY
    ]
    stored = materialization.metadata["dagster/column_schema"].value
    assert isinstance(stored, dg.TableSchema)
    assert {c.name: c.description for c in stored.columns} == declared
    assert not [c.type for c in stored.columns if FIELD_ID.search(c.type)]
    assert {c.name: c.type for c in stored.columns}["packages"] == (
        "list<struct<code: string, description: string, msrp: decimal(12, 2)>>"
    )


def test_every_column_of_every_table_is_described(stellantis_env: UpstreamEnv) -> None:
    definitions = defs()
    result = definitions.resolve_job_def("stellantis_daily").execute_in_process(partition_key=DAY)
    assert result.success
    written = {
        e.asset_key: e.step_materialization_data.materialization.metadata
        for e in result.all_events
        if e.is_step_materialization and e.asset_key is not None
    }
    tables = [k for k in definitions.resolve_all_asset_keys() if k.path[1] in TIERS]
    assert len(tables) >= 20 and set(tables) <= set(written)

    catalog = load_catalog()
    undescribed: dict[str, list[str]] = {}
    for key in tables:
        label = key.to_user_string()
        fields = catalog.load_table(table_identifier(key)).schema().fields
        stored = written[key]["dagster/column_schema"].value
        assert isinstance(stored, dg.TableSchema)
        assert [c.name for c in stored.columns] == [f.name for f in fields], label
        blanks = {f.name for f in fields if not f.doc}
        blanks |= {c.name for c in stored.columns if not c.description}
        # Raw and transformed tables know their columns before any run: declared on the asset.
        if key.path[1] != "consolidated":
            declared = definitions.resolve_assets_def(key).specs_by_key[key].metadata
            schema = declared["dagster/column_schema"]
            assert {c.name for c in schema.columns} == {f.name for f in fields}, label
            blanks |= {c.name for c in schema.columns if not c.description}
        if blanks:
            undescribed[label] = sorted(blanks)
    assert undescribed == {}

    # Consolidated fields keep their source's description; the engine describes its own.
    inventory = {
        f.name: f.doc
        for f in catalog.load_table("stellantis_consolidated.inventory").schema().fields
    }
    assert inventory["msrp"] == Vehicle.model_fields["msrp"].description
    assert inventory["order_number"] == DealerVehicle.model_fields["order_number"].description
    assert inventory["_gap_filled"] == ENGINE_DOCS["_gap_filled"]
    assert inventory["sold_date_source"] == ENGINE_DOCS["sold_date_source"]
    assert "dealer_code = dealer_code" in inventory["dealer_id"]
