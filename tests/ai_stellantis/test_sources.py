"""The `stellantis/sources/*` nodes: one observation per fetch, with pages, status mix and the
last success, against the local upstream misbehaving."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest

from ai_core.iceberg.catalog import load_catalog
from ai_stellantis.definitions import defs
from tests.ai_stellantis.conftest import DAY, RAW_KEYS, UpstreamEnv

SOURCES = [key.replace("/raw/", "/sources/") for key in RAW_KEYS]
INVENTORY_SOURCE = "stellantis/sources/public_inventory"


@pytest.fixture
def instance(stellantis_env: UpstreamEnv) -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def run_day(instance: dg.DagsterInstance, keys: list[str] = RAW_KEYS) -> dg.ExecuteInProcessResult:
    return (
        defs()
        .resolve_job_def("stellantis_daily")
        .execute_in_process(
            partition_key=DAY,
            asset_selection=[dg.AssetKey.from_user_string(k) for k in keys],
            instance=instance,
            raise_on_error=False,
        )
    )


def observations(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for event in result.all_events:
        if event.event_type_value == "ASSET_OBSERVATION":
            observation = event.event_specific_data.asset_observation  # type: ignore[union-attr]
            found[observation.asset_key.to_user_string()] = {
                k: v.value for k, v in observation.metadata.items()
            }
    return found


def test_each_fetch_is_observed_with_its_pages_and_status_mix(
    stellantis_env: UpstreamEnv, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STELLANTIS_INVENTORY_MAX_RETRIES", "12")
    stellantis_env.upstream.set_state(faults="5xx:0.2")
    started = time.time()
    result = run_day(instance)
    assert result.success
    seen = observations(result)
    assert sorted(seen) == sorted(SOURCES)

    inventory = seen[INVENTORY_SOURCE]
    table = load_catalog(stellantis_env.data_dir).load_table("stellantis_raw.public_inventory")
    stored_pages = table.scan().to_arrow().num_rows
    assert inventory["outcome"] == "success"
    assert inventory["partition_date"] == DAY
    assert inventory["pages"] == stored_pages
    assert inventory["http_200"] == stored_pages
    errors = sum(v for k, v in inventory["http_statuses"].items() if k.startswith("5"))
    assert errors > 0
    assert (
        inventory["requests"] == stored_pages + errors == sum(inventory["http_statuses"].values())
    )
    assert inventory["retries"] == errors
    assert started <= inventory["last_success"] <= time.time()
    for key in SOURCES:
        assert seen[key]["pages"] > 0 and seen[key]["outcome"] == "success"


def test_a_partial_fetch_is_observed_and_keeps_the_last_success(
    stellantis_env: UpstreamEnv, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = observations(run_day(instance))[INVENTORY_SOURCE]
    monkeypatch.setenv("STELLANTIS_INVENTORY_MAX_RETRIES", "1")
    stellantis_env.upstream.set_state(faults="html@jeep.com/inventory/*/1x99")
    result = run_day(instance, ["stellantis/raw/public_inventory"])
    # The day keeps what arrived; the pages that did not are recorded, not fatal.
    assert result.success
    stored = instance.fetch_observations(dg.AssetKey.from_user_string(INVENTORY_SOURCE), limit=5)
    assert len(stored.records) == 2
    latest = stored.records[0].asset_observation
    assert latest is not None
    partial = {k: v.value for k, v in latest.metadata.items()}
    assert partial["outcome"] == f"partial: {partial['failed_pages']} pages not fetched"
    assert partial["failed_pages"] >= 1
    assert partial["last_success"] == first["last_success"]
    assert partial["failures"] >= 1 and partial["http_statuses"]["200"] > 0
