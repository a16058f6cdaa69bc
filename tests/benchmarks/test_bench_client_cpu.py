"""The client CPU benchmark: every kind fetches the same pages from the real stand-in."""

import asyncio

from benchmarks.client_cpu import _codes, _run
from standin.stellantis.sites.process import serve_upstream

KINDS = ("httpcore", "aiohttp", "aiohttp+shape", "aiohttp alone")


def test_each_kind_reads_the_same_pages_and_reports_its_cpu() -> None:
    with serve_upstream(scope="tiny", seed=7, latency=0.0, jitter=0.0) as upstream:
        base = upstream.url("jeep.com")
        codes = asyncio.run(_codes(base))
        results = {kind: asyncio.run(_run(base, codes, 12, 4, 50, kind)) for kind in KINDS}
    assert codes
    sizes = {result["bytes_per_page"] for result in results.values()}
    assert len(sizes) == 1 and sizes.pop() > 1000
    for kind, result in results.items():
        assert result["loop_cpu_per_request_ms"] > 0, kind
