"""The consolidated tier's YAML: the entity assets, their sources, links, checks and job."""

import dagster as dg

from ai_stellantis.definitions import defs

TRANSFORMED = "stellantis/transformed"
PARENTS = {
    "dealers": {
        f"{TRANSFORMED}/locator_dealers",
        f"{TRANSFORMED}/inventory_dealers",
        f"{TRANSFORMED}/dealerconnect_dealers",
    },
    "models": {
        f"{TRANSFORMED}/model_year_codes",
        f"{TRANSFORMED}/inventory_models",
        # The code guides' model codes, filed under model-year codes by the inventory's models.
        f"{TRANSFORMED}/code_guide_models",
    },
    "features": {
        f"{TRANSFORMED}/inventory_options",
        f"{TRANSFORMED}/inventory_packages",
        f"{TRANSFORMED}/code_guide_options",
        f"{TRANSFORMED}/code_guide_packages",
        f"{TRANSFORMED}/inventory_models",
        "stellantis/consolidated/models",
    },
    "inventory": {
        f"{TRANSFORMED}/inventory_vehicles",
        f"{TRANSFORMED}/dealerconnect_vehicles",
        # Observed sale dates.
        f"{TRANSFORMED}/dealerconnect_sales",
        "stellantis/consolidated/dealers",
        "stellantis/consolidated/models",
        # Yesterday's own partition, for first and last seen.
        "stellantis/consolidated/inventory",
    },
    "trims": {f"{TRANSFORMED}/code_guide_trims"},
    "guide_features": {f"{TRANSFORMED}/code_guide_packages", f"{TRANSFORMED}/code_guide_options"},
}


def test_consolidated_entities_read_existing_sources_and_link_within_the_tier() -> None:
    d = defs()
    graph = d.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    job = d.resolve_job_def("stellantis_daily")
    for entity, parents in PARENTS.items():
        key = f"stellantis/consolidated/{entity}"
        node = graph.get(dg.AssetKey.from_user_string(key))
        assert {p.to_user_string() for p in node.parent_keys} == parents
        # Every source is an asset of the code location, not a dangling key.
        assert parents <= keys
        assert node.group_name == "consolidated"
        assert node.kinds >= {"iceberg", "polars"}
        assert node.tags["oem"] == "stellantis"
        assert node.description
        assert isinstance(node.partitions_def, dg.DailyPartitionsDefinition)
        assert {(key, "integrity"), (key, "discrepancies")} <= checks
        assert dg.AssetKey.from_user_string(key) in job.asset_layer.executable_asset_keys
