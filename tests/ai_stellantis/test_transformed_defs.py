"""The transformed tier loads from its YAML: one asset per source entity, each with its checks."""

import dagster as dg

from ai_stellantis import entities
from ai_stellantis.definitions import defs

TRANSFORMED = {
    "stellantis/transformed/inventory_vehicles": ("public_inventory", "InventoryVehicle"),
    "stellantis/transformed/inventory_dealers": ("public_inventory", "InventoryDealer"),
    "stellantis/transformed/inventory_models": ("public_inventory", "InventoryModel"),
    "stellantis/transformed/inventory_options": ("public_inventory", "InventoryOption"),
    "stellantis/transformed/inventory_packages": ("public_inventory", "InventoryPackageFeature"),
    "stellantis/transformed/locator_dealers": ("public_dealers", "LocatorDealer"),
    "stellantis/transformed/model_year_codes": ("public_model_year_codes", "FiltersModelYearCode"),
    "stellantis/transformed/dealerconnect_vehicles": (
        "dealerconnect_inventory",
        "DealerConnectVehicle",
    ),
    "stellantis/transformed/dealerconnect_dealers": (
        "dealerconnect_inventory",
        "DealerConnectDealer",
    ),
    "stellantis/transformed/dealerconnect_sales": ("dealerconnect_sales", "DealerConnectSale"),
    "stellantis/transformed/code_guide_trims": ("dealerconnect_code_guides", "CodeGuideTrim"),
    "stellantis/transformed/code_guide_models": ("dealerconnect_code_guides", "CodeGuideModel"),
    "stellantis/transformed/code_guide_packages": (
        "dealerconnect_code_guides",
        "CodeGuidePackage",
    ),
    "stellantis/transformed/code_guide_options": ("dealerconnect_code_guides", "CodeGuideOption"),
}


def test_one_transformed_asset_per_source_entity() -> None:
    assert {entity for _, entity in TRANSFORMED.values()} == {s.__name__ for s in entities.SOURCES}
    graph = defs().resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {k for k in keys if k.startswith("stellantis/transformed/")} == set(TRANSFORMED)
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    for key, (raw, entity) in TRANSFORMED.items():
        node = graph.get(dg.AssetKey.from_user_string(key))
        assert node.is_materializable
        assert node.group_name == "transformed"
        assert node.kinds >= {"iceberg", "polars"}
        assert isinstance(node.partitions_def, dg.DailyPartitionsDefinition)
        assert node.description
        assert node.parent_keys == {dg.AssetKey(["stellantis", "raw", raw])}
        declared = getattr(entities, entity)
        assert node.metadata["entity"] == f"{declared.__module__}.{declared.__qualname__}"
        assert {(key, "integrity"), (key, "discrepancies")} <= checks


def test_the_daily_job_runs_the_transformed_tier() -> None:
    job = defs().resolve_job_def("stellantis_daily")
    selected = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
    assert set(TRANSFORMED) <= selected
