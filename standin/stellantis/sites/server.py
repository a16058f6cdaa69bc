"""The asyncio HTTP/1.1 server that stands in for all six brand sites.

Routes: `/{domain}/hostd/inventory/getinventoryresults.json`, `…/getinventoryfilters.json`,
`/{domain}/bdlws/MDLSDealerLocator`; `/{domain}/mediaserver/iris` answers 404, as do unknown
domains and paths. `/_sim/…` is the control API (see `control`).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter, defaultdict
from typing import Any

from standin.stellantis.sites import endpoints, responses, schema_drift
from standin.stellantis.sites.cache import DayCache
from standin.stellantis.sites.catalog import BY_DOMAIN, BrandSpec
from standin.stellantis.sites.control import ControlApi
from standin.stellantis.sites.faults import KINDS, FaultInjector
from standin.stellantis.sites.inventory import day_number
from standin.stellantis.sites.protocol import (
    BadRequest,
    Request,
    Response,
    abort_with_reset,
    read_request,
)
from standin.stellantis.sites.state import ServedState
from standin.stellantis.sites.world import World

DEFAULT_SEARCH = ("66952", 5000.0)
"""Searched when a day is warmed: the national search every pipeline run starts with."""


class UpstreamServer:
    """All brands of one (seed, scope); the served state can change while it runs."""

    def __init__(self, seed: int, scope: str, state: ServedState) -> None:
        self.seed = seed
        self.scope = scope
        self.state = state
        self.world = World(seed, scope)
        self.cache = DayCache(self.world, state.date)
        self.injector = FaultInjector(state.fault_spec(), seed)
        self.requests: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()
        self.peak_in_flight: Counter[str] = Counter()
        """Per site, the most requests it was answering at once: what concurrency limits bound."""
        self.statuses: Counter[str] = Counter()
        self.faults: Counter[str] = Counter({k: 0 for k in KINDS})
        self.drifted: Counter[str] = Counter()
        """Answers served with schema drift, by endpoint."""
        self.pages_served = 0
        self.vehicles_served = 0
        self.bytes_sent = 0
        self.paced_seconds = 0.0
        self.paced_by_endpoint: defaultdict[str, float] = defaultdict(float)
        """The same waits by endpoint (`inventory`, `filters`, `dealers`): which step waited."""
        self.ready = False
        self.warm_error: str | None = None
        self.started = time.monotonic()
        self._connections: set[asyncio.StreamWriter] = set()
        self.control = ControlApi(self)

    # -- lifecycle -------------------------------------------------------------------------

    async def warm(self) -> None:
        """Build the served day before clients come: every brand and the national search."""
        try:
            zip_code, radius = DEFAULT_SEARCH
            keys = [
                endpoints.search_key(b, {"zip": zip_code, "radius": str(radius)}, "zip")
                for b in BY_DOMAIN.values()
            ]
            await self.cache.warm(keys)
            self.ready = True
        except Exception as exc:  # reported through /_sim/health
            self.warm_error = f"{type(exc).__name__}: {exc}"
            print(
                f"upstream: building {self.state.date} failed: {self.warm_error}", file=sys.stderr
            )

    def close_connections(self) -> None:
        for writer in list(self._connections):
            writer.transport.abort()

    # -- connections -----------------------------------------------------------------------

    async def handle_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._connections.add(writer)
        writer.transport.set_write_buffer_limits(high=1 << 20)
        try:
            while True:
                try:
                    request = await read_request(reader)
                except BadRequest as exc:
                    await self._send(writer, responses.plain_error(400, str(exc)), False)
                    return
                if request is None:
                    return
                keep = await self._answer(request, writer)
                if not keep:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._connections.discard(writer)
            if not writer.transport.is_closing():
                writer.close()

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        response: Response,
        keep_alive: bool,
        length: int | None = None,
    ) -> None:
        body = response.body if length is None else response.body[:length]
        writer.write(response.head(keep_alive, length) + body)
        await writer.drain()
        self.bytes_sent += len(body)
        self.statuses[str(response.status)] += 1

    async def _answer(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection must not be reused."""
        if request.path.startswith("/_sim/"):
            response = await self.control.answer(request)
            writer.write(response.head(request.keep_alive) + response.body)
            await writer.drain()
            return request.keep_alive
        domain, _, rest = request.path.lstrip("/").partition("/")
        domain = domain.removeprefix("www.")
        brand = BY_DOMAIN.get(domain)
        endpoint = endpoints.PATHS.get("/" + rest) if brand else None
        if brand is None or endpoint is None:
            self.requests[
                "image" if rest.startswith(endpoints.IMAGE_PATH[1:]) else "not_found"
            ] += 1
            self.requests["total"] += 1
            await self._send(writer, responses.plain_error(404, "not found"), request.keep_alive)
            return request.keep_alive
        self.requests[endpoint] += 1
        self.requests["total"] += 1
        self.in_flight[domain] += 1
        self.peak_in_flight[domain] = max(self.peak_in_flight[domain], self.in_flight[domain])
        try:
            return await self._answer_site(brand, endpoint, request, writer)
        finally:
            self.in_flight[domain] -= 1

    async def _answer_site(
        self, brand: BrandSpec, endpoint: str, request: Request, writer: asyncio.StreamWriter
    ) -> bool:
        domain = brand.domain
        if self.state.blocked():
            self._count("block")
            await self._send(writer, responses.too_many_requests("1"), request.keep_alive)
            return request.keep_alive
        code, page = endpoints.target(endpoint, request.query)
        fault = self.injector.decide(domain, endpoint, code, page)
        if fault == "stall":
            self._count(fault)
            await asyncio.sleep(self.state.stall_seconds)
        # The jitter is drawn before the answer is built, so a seed gives the same faults as ever.
        spread = self._spread(self.state) if fault != "stall" else None
        response, applied, vehicles = await self._respond(brand, endpoint, request, fault)
        # A cut answer is counted as its fault alone: no client reads its keys.
        whole = fault not in ("truncated", "reset")
        if whole and self._drifts(brand, endpoint, code, page, response):
            response = schema_drift.drifted(endpoint, response)
            self.drifted[endpoint] += 1
        if spread is not None:
            await self._pace(self.state, endpoint, vehicles, spread)
        if applied and fault is not None:
            self._count(fault)
        if fault == "truncated":
            self._count(fault)
            await self._send(writer, response, request.keep_alive, len(response.body) // 2)
        elif fault == "reset":
            self._count(fault)
            writer.write(
                response.head(request.keep_alive) + response.body[: len(response.body) // 3]
            )
            await writer.drain()
            abort_with_reset(writer)
            return False
        else:
            await self._send(writer, response, request.keep_alive)
        return request.keep_alive

    def _drifts(
        self, brand: BrandSpec, endpoint: str, code: str | None, page: int, response: Response
    ) -> bool:
        """Whether this answer is served with schema drift: a success, drawn at the share."""
        share, day = self.state.schema_drift, day_number(self.state.date)
        return schema_drift.drifts(
            share, self.seed, day, brand.index, endpoint, code, page
        ) and schema_drift.succeeded(response)

    def _count(self, kind: str) -> None:
        self.faults[kind] += 1

    def _spread(self, state: ServedState) -> float:
        if state.mean_latency() <= 0:
            return 0.0
        return state.jitter * (2 * self.injector.random() - 1)

    async def _pace(
        self, state: ServedState, endpoint: str, vehicles: int | None, spread: float
    ) -> None:
        wait = max(0.0, state.answer_latency(vehicles) * (1 + spread))
        if wait > 0:
            self.paced_seconds += wait
            self.paced_by_endpoint[endpoint] += wait
            await asyncio.sleep(wait)

    async def _respond(
        self, brand: BrandSpec, endpoint: str, request: Request, fault: str | None
    ) -> tuple[Response, bool, int | None]:
        """The endpoint's answer, True when a payload fault was applied, and its vehicles.

        Transport faults (stall, truncated, reset) are applied by the caller to this answer.
        """
        if fault in ("429", "429_retry_after"):
            retry_after = "1" if fault == "429_retry_after" else None
            return responses.too_many_requests(retry_after), True, None
        if fault == "5xx":
            status = (500, 502, 503, 504)[int(self.injector.random() * 4)]
            return responses.plain_error(status, "upstream error"), True, None
        if fault == "html":
            return responses.cdn_error_page(), True, None
        if fault == "failure":
            message = "The service is temporarily unavailable. Please try again later."
            if endpoint == "dealers":
                return responses.dealer_failure(message), True, None
            return responses.result_failure("SERVICE_UNAVAILABLE", message), True, None
        try:
            if endpoint == "inventory":
                nudge = int(1 + self.injector.random() * 5) * (
                    1 if self.injector.random() < 0.5 else -1
                )
                response, applied, served = await endpoints.inventory(
                    self.cache, brand, request.query, fault, nudge, self.state.max_page_size
                )
                self.pages_served += 1
                self.vehicles_served += served
                return response, applied, served
            if endpoint == "filters":
                response = await endpoints.filters(self.cache, brand, request.query)
            else:
                response = await endpoints.dealers(
                    self.cache, brand, request.query, self.state.max_dealers_per_page
                )
        except endpoints.ParamError as exc:
            if endpoint == "dealers":
                response = responses.dealer_failure(exc.message)
            else:
                response = responses.result_failure(exc.code, exc.message)
        except Exception as exc:
            # A failed build or a bug: answer it plainly instead of dropping the connection.
            detail = f"{endpoint} of {brand.domain} failed: {type(exc).__name__}: {exc}"
            print(f"upstream: {detail}", file=sys.stderr)
            response = responses.plain_error(500, detail)
        return response, False, None


async def run(
    host: str,
    port: int,
    seed: int,
    scope: str,
    state: ServedState,
    stop: asyncio.Event,
    announce: Any = print,
) -> None:
    """Serve until `stop` is set; `announce` gets the URL template once the port is bound."""
    server = UpstreamServer(seed, scope, state)
    listener = await asyncio.start_server(server.handle_connection, host, port, backlog=512)
    bound = listener.sockets[0].getsockname()[1]
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
    announce(f"http://{shown}:{bound}/{{domain}}")
    warm = asyncio.create_task(server.warm())
    try:
        await stop.wait()
    finally:
        warm.cancel()
        listener.close()
        server.close_connections()
        await listener.wait_closed()
