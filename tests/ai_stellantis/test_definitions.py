"""The code location loads from its YAML with the expected assets, checks and schedule."""

import os

import dagster as dg
import pytest

from ai_stellantis.definitions import defs

RAW = {
    "stellantis/raw/public_model_year_codes",
    "stellantis/raw/public_inventory",
    "stellantis/raw/public_dealers",
}
SOURCES = {
    "stellantis/sources/public_model_year_codes",
    "stellantis/sources/public_inventory",
    "stellantis/sources/public_dealers",
}
DEALERCONNECT_RAW = {
    "stellantis/raw/dealerconnect_inventory",
    "stellantis/raw/dealerconnect_sales",
    "stellantis/raw/dealerconnect_code_guides",
}


def test_definitions_load_with_raw_assets_sources_checks_and_schedule() -> None:
    d = defs()
    graph = d.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys >= RAW
    assert keys >= SOURCES
    for key in RAW:
        node = graph.get(dg.AssetKey.from_user_string(key))
        assert node.is_materializable
        assert node.partitions_def is not None
        assert node.group_name == "raw"
        assert node.kinds >= {"iceberg", "http"}
        assert node.description
    for key in DEALERCONNECT_RAW:
        node = graph.get(dg.AssetKey.from_user_string(key))
        assert node.is_materializable and node.group_name == "raw"
        assert node.kinds >= {"iceberg", "bigquery"}
    assert "dealerconnect_bigquery" in d.resources
    inventory = dg.AssetKey.from_user_string("stellantis/raw/public_inventory")
    assert dg.AssetKey.from_user_string("stellantis/raw/public_model_year_codes") in (
        graph.get(inventory).parent_keys
    )
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert {(key, "completeness") for key in RAW} <= checks
    assert {(key, "freshness_check") for key in RAW} <= checks
    schedule = d.resolve_schedule_def("stellantis_daily_schedule")
    assert schedule.cron_schedule == "0 10 * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    for sensor in ("asset_check_sentry_sensor", "run_failure_sentry_sensor"):
        assert d.resolve_sensor_def(sensor).default_status == dg.DefaultSensorStatus.RUNNING
    freshness = d.resolve_sensor_def("stellantis_daily_freshness_sensor")
    assert freshness.default_status == dg.DefaultSensorStatus.RUNNING
    upkeep = d.resolve_schedule_def("iceberg_upkeep_schedule")
    assert upkeep.default_status == dg.DefaultScheduleStatus.RUNNING
    assert d.resolve_job_def("iceberg_upkeep").graph.node_names() == ["stellantis_table_upkeep"]
    job = d.resolve_job_def("stellantis_daily")
    assert job.partitions_def is not None
    assert isinstance(job.partitions_def, dg.DailyPartitionsDefinition)
    assert job.partitions_def.end_offset == 1


def test_steps_fork_from_the_preloaded_server_unless_the_run_asks_for_its_own_process() -> None:
    from ai_core.location import (
        COMPUTE,
        FETCH,
        FETCH_SLOTS,
        FORKED,
        IN_PROCESS,
        STEP_KIND_TAG,
        STEP_SERVER,
        STEP_SERVER_IMPORTS,
    )
    from ai_stellantis.definitions import STEP_PROCESSES, location

    job = defs().resolve_job_def("stellantis_daily")
    assert job.executor_def is STEP_PROCESSES
    assert location() is defs()  # built once a process, as a forked step finds it
    schema = STEP_PROCESSES.config_schema.as_field()
    assert schema.default_value == {"steps": FORKED}
    for choice, inner in [(FORKED, "multiprocess"), (IN_PROCESS, "in_process")]:
        mapped = STEP_PROCESSES.apply_config_mapping({"config": {"steps": choice}})
        assert mapped.success and set(mapped.value["config"]) == {inner}
    forked = STEP_PROCESSES.apply_config_mapping({"config": {}}).value["config"]
    server = forked["multiprocess"]["start_method"]["forkserver"]
    assert server["preload_modules"] == [*STEP_SERVER_IMPORTS, "ai_stellantis.steps", STEP_SERVER]
    # Compute steps get the cores; fetch steps, which mostly wait, run beside them.
    cores = os.cpu_count() or 1
    assert forked["multiprocess"]["max_concurrent"] == cores + FETCH_SLOTS
    assert forked["multiprocess"]["tag_concurrency_limits"] == [
        {"key": STEP_KIND_TAG, "value": COMPUTE, "limit": cores}
    ]
    kinds = {node.name: node.tags.get(STEP_KIND_TAG) for node in job.graph.nodes}
    assert {n for n, k in kinds.items() if k == FETCH} == {
        n for n in kinds if n.startswith("stellantis__raw__")
    }
    assert set(kinds.values()) == {FETCH, COMPUTE}
    with pytest.raises(dg.DagsterInvalidConfigError, match="threads"):
        dg.validate_run_config(job, {"execution": {"config": {"steps": "threads"}}})


def test_the_longest_chain_of_fetches_starts_first() -> None:
    job = defs().resolve_job_def("stellantis_daily")
    priority = {node.name: int(node.tags.get("dagster/priority", 0)) for node in job.graph.nodes}
    first = {"stellantis__raw__public_model_year_codes", "stellantis__raw__public_inventory"}
    assert {name for name, p in priority.items() if p > 0} == first
