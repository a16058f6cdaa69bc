"""Per-run client stats: counters after a real mixed run, and merging of runs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ai_core.http import AsyncHttpClient, FetchError, FetchStats, HttpClientConfig
from tests.ai_core.http.fault_server import Fault, FaultServer

FAST = HttpClientConfig(
    timeout_s=2, max_retries=2, retry_backoff_s=0.01, max_backoff_s=0.02, workers=3
)


def mixed_run(server: FaultServer) -> tuple[dict[str, Any], FetchStats, int]:
    server.script("/a", Fault.status_code(503), Fault.html())
    server.script("/b", Fault.status_code(429))
    server.always("/gone", Fault.status_code(404))
    server.always("/down", Fault.status_code(500))

    async def go() -> tuple[dict[str, Any], FetchStats, int]:
        async with AsyncHttpClient(FAST) as client:
            good = await asyncio.gather(
                client.get_json(server.url("/a")),
                client.get_json(server.url("/b")),
                *(client.get_json(server.url("/c"), {"i": i}) for i in range(5)),
            )
            for path in ("/gone", "/down"):
                with pytest.raises(FetchError):
                    await client.get_json(server.url(path))
            return client.stats.summary(), client.stats, sum(len(r.body) for r in good)

    return asyncio.run(go())


def test_stats_count_requests_pages_bytes_retries_and_failures(fault_server: FaultServer) -> None:
    summary, stats, good_bytes = mixed_run(fault_server)
    # /a 3 tries, /b 2, /c 5 x 1, /gone 1, /down 3 = 14 requests
    assert summary["requests"] == fault_server.requests == 14
    assert summary["pages_ok"] == 7
    assert summary["failures"] == 2
    assert summary["bytes"] == good_bytes
    assert summary["retries"] == 5
    assert summary["retries_by_cause"] == {"html": 1, "http_429": 1, "http_5xx": 3}
    assert summary["statuses"] == {"200": 8, "404": 1, "429": 1, "500": 3, "503": 1}
    assert sum(summary["latency_histogram"].values()) == 14
    assert 0 < summary["latency_min_s"] <= summary["latency_mean_s"] <= summary["latency_max_s"]
    assert summary["wall_s"] > 0
    assert summary["cpu_s"] > 0
    assert summary["loop_cpu_s"] > 0
    assert stats.summary()["wall_s"] >= summary["wall_s"]  # closed after the in-run summary


def test_merge_sums_counters_and_keeps_extremes(fault_server: FaultServer) -> None:
    _, first, _ = mixed_run(fault_server)
    second = FetchStats()
    second.observe_attempt(0.0001, 200)
    second.observe_attempt(45.0, 503)
    second.observe_retry("http_5xx", 1.5)
    second.observe_page(10)
    second.wall_s, second.cpu_s = 2.0, 0.5
    before: dict[str, Any] = first.summary()
    merged: dict[str, Any] = FetchStats().merge(first).merge(second).summary()
    assert merged["requests"] == before["requests"] + 2
    assert merged["pages_ok"] == before["pages_ok"] + 1
    assert merged["bytes"] == before["bytes"] + 10
    assert merged["retries_by_cause"]["http_5xx"] == before["retries_by_cause"]["http_5xx"] + 1
    assert merged["statuses"]["503"] == 2
    assert merged["latency_min_s"] == 0.0001
    assert merged["latency_max_s"] == 45.0
    assert merged["latency_histogram"]["<=10ms"] == before["latency_histogram"]["<=10ms"] + 1
    assert merged["latency_histogram"][">30000ms"] == 1
    assert merged["wall_s"] == pytest.approx(before["wall_s"] + 2.0)
    assert merged["cpu_s"] == pytest.approx(before["cpu_s"] + 0.5)


def test_empty_stats_summarise_to_zeros() -> None:
    summary = FetchStats().summary()
    assert summary["requests"] == 0
    assert summary["latency_min_s"] == 0.0
    assert summary["latency_mean_s"] == 0.0
    assert summary["loop_cpu_per_request_ms"] == 0.0
