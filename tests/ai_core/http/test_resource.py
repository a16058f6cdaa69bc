"""The HTTP client as a Dagster resource, used from a real asset materialisation."""

from __future__ import annotations

import dagster as dg

from ai_core.http import HttpClientConfig, HttpClientResource, run_async
from tests.ai_core.http.fault_server import Fault, FaultServer


def test_resource_exposes_every_config_field_and_applies_overrides() -> None:
    resource = HttpClientResource(workers=3, max_retries=1)
    assert set(HttpClientResource.model_fields) >= set(HttpClientConfig.model_fields)
    assert HttpClientResource().client_config() == HttpClientConfig()
    assert resource.client_config() == HttpClientConfig(workers=3, max_retries=1)
    client = resource.client(timeout_s=5)
    assert client.config == HttpClientConfig(workers=3, max_retries=1, timeout_s=5)


def test_asset_fetches_through_the_resource(fault_server: FaultServer) -> None:
    fault_server.script("/p", Fault.status_code(503))

    @dg.asset
    def pages(http: HttpClientResource) -> dg.MaterializeResult:
        async def fetch() -> tuple[list[int], dict]:
            async with http.client() as client:
                got = [
                    (await client.get_json(fault_server.url("/p"), {"page": i})).attempts
                    for i in range(3)
                ]
                return got, client.stats.summary()

        attempts, stats = run_async(fetch, timeout_s=30, name="pages fetch")
        return dg.MaterializeResult(metadata={"attempts": attempts, "requests": stats["requests"]})

    result = dg.materialize(
        [pages],
        resources={"http": HttpClientResource(retry_backoff_s=0.01, max_backoff_s=0.02)},
    )
    assert result.success
    metadata = result.asset_materializations_for_node("pages")[0].metadata
    assert metadata["attempts"].value == [2, 1, 1]
    assert metadata["requests"].value == 4
