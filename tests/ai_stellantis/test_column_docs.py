"""Column descriptions declared on the entities reach Dagster before a run and Iceberg after it."""

from __future__ import annotations

import re

import dagster as dg

from ai_core.iceberg.catalog import load_catalog
from ai_core.transform.columns import PROVENANCE_DOCS
from ai_stellantis.definitions import defs
from ai_stellantis.entities.vehicle import Vehicle
from tests.ai_stellantis.conftest import RAW_KEYS, UpstreamEnv, materialize_day

VEHICLES = "stellantis/transformed/inventory_vehicles"
VEHICLES_KEY = dg.AssetKey.from_user_string(VEHICLES)
FIELD_ID = re.compile(r"\d+:")


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
        "list<struct<code: string, description: string, msrp: double>>"
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
            "stellantis__transformed__inventory_vehicles"
        )
        if m.asset_key == VEHICLES_KEY
    ]
    stored = materialization.metadata["dagster/column_schema"].value
    assert isinstance(stored, dg.TableSchema)
    assert {c.name: c.description for c in stored.columns} == declared
    assert not [c.type for c in stored.columns if FIELD_ID.search(c.type)]
    assert {c.name: c.type for c in stored.columns}["packages"] == (
        "list<struct<code: string, description: string, msrp: double>>"
    )
