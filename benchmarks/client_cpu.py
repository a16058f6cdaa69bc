"""Client CPU per page under each transport, against the local stand-in on loopback.

`python -m benchmarks.client_cpu [--requests N] [--workers W] [--scope S] [--page-size P]`
fetches the same inventory pages N times through `AsyncHttpClient` with httpx's own pool
(httpcore), with the aiohttp transport, and with the aiohttp transport decoding only the parts of
a page the raw tier reads (`InventoryCode.page_shape`, derived from its `PageLayout`),
alternating, and prints the event loop's CPU per request: the CPU the fetch itself costs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics

import httpx

from ai_core.http.client import AsyncHttpClient
from ai_core.http.config import HttpClientConfig
from ai_core.http.transport import AiohttpTransport
from ai_stellantis.sources.public_sites import InventoryCode
from standin.stellantis.sites.process import serve_upstream

PATH = "/hostd/inventory/getinventoryresults.json"


async def _codes(base: str) -> list[str]:
    async with AsyncHttpClient(HttpClientConfig()) as client:
        answer = await client.get_json(
            f"{base}/hostd/inventory/getinventoryfilters.json",
            {"func": "SALES", "zip": "66952", "radius": "5000"},
        )
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            code = node.get("modelYearCode") or node.get("code")
            if isinstance(code, str) and len(code) == 9:
                found.append(code)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(answer.data)
    return sorted(set(found))


async def _run(
    base: str, codes: list[str], requests: int, workers: int, page_size: int, kind: str
) -> dict:
    config = HttpClientConfig(workers=workers, http2=False)
    shape = InventoryCode.page_shape if kind == "aiohttp+shape" else None
    transport: httpx.AsyncBaseTransport = (
        AiohttpTransport(workers)
        if kind.startswith("aiohttp")
        else httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
        )
    )
    async with AsyncHttpClient(config, transport=transport) as client:

        async def one(i: int) -> int:
            params: dict[str, str | int] = {
                "func": "SALES", "includeIncentives": "N", "matchType": "X",
                "modelYearCode": codes[i % len(codes)], "pageNumber": 1, "pageSize": page_size,
                "radius": 5000, "sortBy": 0, "zip": "66952",
            }  # fmt: skip
            return len((await client.get_json(base + PATH, params, shape=shape)).body)

        sizes = await asyncio.gather(*(one(i) for i in range(requests)))
        summary = client.stats.summary()
    return {"kind": kind, "bytes_per_page": sum(sizes) // len(sizes), **summary}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scope", default="tiny", help="the stand-in's scope: tiny or national")
    parser.add_argument("--page-size", type=int, default=50)
    args = parser.parse_args()
    with serve_upstream(scope=args.scope, latency=0.0, jitter=0.0) as upstream:
        base = upstream.url("jeep.com")
        codes = asyncio.run(_codes(base))
        per_request: dict[str, list[float]] = {"httpcore": [], "aiohttp": [], "aiohttp+shape": []}
        for _ in range(args.rounds):
            for kind in per_request:
                result = asyncio.run(
                    _run(base, codes, args.requests, args.workers, args.page_size, kind)
                )
                per_request[kind].append(result["loop_cpu_per_request_ms"])
                print(
                    kind,
                    result["bytes_per_page"],
                    "B/page",
                    result["loop_cpu_per_request_ms"],
                    "ms/request",
                )
    for kind, values in per_request.items():
        print(
            f"{kind}: median {statistics.median(values):.3f} ms CPU a request, {args.rounds} rounds"
        )


if __name__ == "__main__":
    main()
