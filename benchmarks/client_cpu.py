"""Client CPU per page under each transport, against the local stand-in on loopback.

`python -m benchmarks.client_cpu [--requests N] [--workers W] [--scope S] [--page-size P]
[--latency S] [--loop asyncio|uvloop] [--kinds K,K]` fetches the same inventory pages N times
through `AsyncHttpClient` with httpx's own pool (httpcore), with the aiohttp transport, and with
the aiohttp transport decoding only the parts of a page the raw tier reads
(`InventoryCode.page_shape`, derived from its `PageLayout`), alternating, and prints the event
loop's CPU per request (the CPU the fetch itself costs) and the process's: `reqwest+shape`, the
same client over pyreqwest's httpx transport, reads its sockets on Rust threads of its own.

`aiohttp alone` and `reqwest alone` are the floor under the client: each library's own session
GETting the same pages and decoding the same shape, with no httpx, retries, time-outs or checks.
The stand-in answers at once unless `--latency` is given; at the scenarios' 0.3 s the answers
arrive one at a time, and each costs more than back to back. The last line says why: the same
decode of one page, timed back to back and after the thread has slept as long as it waits
between answers.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx
import msgspec
from pyreqwest.client import ClientBuilder
from pyreqwest.compatibility.httpx import HttpxTransport

from ai_core.http.client import AsyncHttpClient
from ai_core.http.config import HttpClientConfig
from ai_core.http.payload import parse_json
from ai_core.http.transport import AiohttpTransport
from ai_stellantis.sources.public_sites import InventoryCode
from standin.stellantis.sites.process import serve_upstream

PATH = "/hostd/inventory/getinventoryresults.json"
KINDS = ("httpcore", "aiohttp", "aiohttp+shape", "reqwest+shape", "aiohttp alone", "reqwest alone")


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


def idle_penalty(body: bytes, idle_s: float, repeats: int = 40) -> tuple[float, float]:
    """Median ms of CPU to decode `body` into the page shape back to back, and after `idle_s` of
    sleep before each decode: the same work, on a CPU that has been idle. Raises when `body` is
    not of the shape, rather than timing another parse."""
    decoder = msgspec.json.Decoder(InventoryCode.page_shape)
    medians = []
    for gap in (0.0, idle_s):
        spent = []
        for _ in range(repeats):
            if gap:
                time.sleep(gap)
            started = time.thread_time()
            decoder.decode(body)
            spent.append(time.thread_time() - started)
        medians.append(1000.0 * statistics.median(spent))
    return medians[0], medians[1]


def _params(code: str, page_size: int) -> dict[str, str | int]:
    return {
        "func": "SALES", "includeIncentives": "N", "matchType": "X", "modelYearCode": code,
        "pageNumber": 1, "pageSize": page_size, "radius": 5000, "sortBy": 0, "zip": "66952",
    }  # fmt: skip


def one_page(base: str, code: str, page_size: int) -> bytes:
    """The body of `code`'s first inventory page, for the idle probe."""
    page = httpx.get(base + PATH, params=_params(code, page_size), timeout=60.0)
    page.raise_for_status()
    return page.content


async def _alone(
    kind: str,
    get: Callable[[dict[str, str | int]], Awaitable[bytes]],
    codes: list[str],
    requests: int,
    workers: int,
    page_size: int,
) -> dict:
    """`requests` pages got by `get` (a library's own session), `workers` at a time, each
    decoded into the page shape; the loop's CPU a request."""
    slots = asyncio.Semaphore(workers)
    started = time.thread_time()

    async def one(i: int) -> int:
        async with slots:
            body = await get(_params(codes[i % len(codes)], page_size))
        parse_json(body, InventoryCode.page_shape)
        return len(body)

    sizes = await asyncio.gather(*(one(i) for i in range(requests)))
    per_request = 1000.0 * (time.thread_time() - started) / requests
    return {
        "kind": kind,
        "bytes_per_page": sum(sizes) // len(sizes),
        "loop_cpu_per_request_ms": round(per_request, 3),
    }


async def _aiohttp_alone(
    base: str, codes: list[str], requests: int, workers: int, page_size: int
) -> dict:
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=workers), auto_decompress=False
    ) as session:

        async def get(params: dict[str, str | int]) -> bytes:
            async with session.get(base + PATH, params=params) as response:
                return await response.read()

        return await _alone("aiohttp alone", get, codes, requests, workers, page_size)


async def _reqwest_alone(
    base: str, codes: list[str], requests: int, workers: int, page_size: int
) -> dict:
    async with ClientBuilder().max_connections(workers).build() as session:

        async def get(params: dict[str, str | int]) -> bytes:
            response = await session.get(base + PATH).query(params).build().send()
            return bytes(await response.bytes())

        return await _alone("reqwest alone", get, codes, requests, workers, page_size)


def _transport(kind: str, workers: int) -> httpx.AsyncBaseTransport:
    if kind.startswith("aiohttp"):
        return AiohttpTransport(workers)
    if kind.startswith("reqwest"):
        return HttpxTransport(ClientBuilder().max_connections(workers).build())
    return httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    )


async def _run(
    base: str, codes: list[str], requests: int, workers: int, page_size: int, kind: str
) -> dict:
    if kind == "aiohttp alone":
        return await _aiohttp_alone(base, codes, requests, workers, page_size)
    if kind == "reqwest alone":
        return await _reqwest_alone(base, codes, requests, workers, page_size)
    config = HttpClientConfig(workers=workers, http2=False)
    shape = InventoryCode.page_shape if kind.endswith("+shape") else None
    transport = _transport(kind, workers)
    async with AsyncHttpClient(config, transport=transport) as client:

        async def one(i: int) -> int:
            params = _params(codes[i % len(codes)], page_size)
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
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument(
        "--kinds", default=",".join(KINDS), help="comma-separated, of " + ", ".join(KINDS)
    )
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        parser.error(f"unknown kinds {unknown}; known: {', '.join(KINDS)}")
    loop_factory = None
    if args.loop == "uvloop":
        import uvloop  # installed with dagster-webserver's uvicorn, not on every platform

        loop_factory = uvloop.new_event_loop
    jitter = 0.05 if args.latency else 0.0  # the scenarios' jitter
    with serve_upstream(scope=args.scope, latency=args.latency, jitter=jitter) as upstream:
        base = upstream.url("jeep.com")
        codes = asyncio.run(_codes(base))
        loop_ms: dict[str, list[float]] = {kind: [] for kind in kinds}
        process_ms: dict[str, list[float]] = {kind: [] for kind in kinds}
        for _ in range(args.rounds):
            for kind in kinds:
                # The stand-in is another process, so this process's CPU is the client's alone.
                started = time.process_time()
                with asyncio.Runner(loop_factory=loop_factory) as runner:
                    result = runner.run(
                        _run(base, codes, args.requests, args.workers, args.page_size, kind)
                    )
                process = 1000.0 * (time.process_time() - started) / args.requests
                loop_ms[kind].append(result["loop_cpu_per_request_ms"])
                process_ms[kind].append(process)
                print(
                    f"{kind}: {result['bytes_per_page']} B/page, "
                    f"{result['loop_cpu_per_request_ms']:.3f} ms loop CPU, "
                    f"{process:.3f} ms process CPU a request"
                )
        body = one_page(base, codes[0], args.page_size)
    for kind in kinds:
        print(
            f"{kind}: median {statistics.median(loop_ms[kind]):.3f} ms loop CPU, "
            f"{statistics.median(process_ms[kind]):.3f} ms process CPU a request "
            f"({args.loop}, {args.rounds} rounds)"
        )
    # With W workers and L seconds a page, the loop waits about L / W between answers.
    gap = max(args.latency / args.workers, 0.01)
    warm, idle = idle_penalty(body, idle_s=gap)
    print(
        f"decoding one page of {len(body)} B: {warm:.3f} ms back to back, "
        f"{idle:.3f} ms after {1000 * gap:.0f} ms idle"
    )


if __name__ == "__main__":
    main()
