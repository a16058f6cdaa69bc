"""The client CPU benchmark: every kind fetches the same pages from the real stand-in."""

import asyncio

import msgspec
import pytest

from benchmarks.client_cpu import KINDS, _codes, _run, idle_penalty, one_page
from standin.stellantis.sites.process import serve_upstream


def test_each_kind_reads_the_same_pages_and_reports_its_cpu() -> None:
    with serve_upstream(scope="tiny", seed=7, latency=0.0, jitter=0.0) as upstream:
        base = upstream.url("jeep.com")
        codes = asyncio.run(_codes(base))
        results = {kind: asyncio.run(_run(base, codes, 12, 4, 50, kind)) for kind in KINDS}
        body = one_page(base, codes[0], 50)
    assert codes
    sizes = {result["bytes_per_page"] for result in results.values()}
    assert len(sizes) == 1 and sizes.pop() > 1000
    for kind, result in results.items():
        assert result["loop_cpu_per_request_ms"] > 0, kind
    # The idle probe decodes a real page into the shape both ways, and refuses another body.
    warm, idle = idle_penalty(body, idle_s=0.001, repeats=5)
    assert warm > 0 and idle > 0
    with pytest.raises(msgspec.ValidationError):
        idle_penalty(b'{"result": []}', idle_s=0.001, repeats=1)
