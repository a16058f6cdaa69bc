"""The control API under `/_sim/`: health, statistics, the served state, and the truth writer.

`GET health`, `GET stats`, `GET state`, `POST state` (JSON object of changes: `date`, `faults`,
`latency`, `jitter`, `evening`, `stall_seconds`, `max_page_size`, `max_dealers_per_page`,
`schema_drift`, `blocked_until`),
`POST truth` (`{"out": DIR, "zip", "radius", "page_size"}`, writes the served day's ground truth
as parquet).
"""

from __future__ import annotations

import asyncio
import resource
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from standin.stellantis.sites import responses
from standin.stellantis.sites.faults import FaultInjector, FaultSpecError
from standin.stellantis.sites.protocol import Request, Response
from standin.stellantis.sites.truth import ground_truth

if TYPE_CHECKING:
    from standin.stellantis.sites.server import UpstreamServer


class TruthRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    out: str
    zip: str = "66952"
    radius: float = 5000.0
    page_size: int = 50


def _json(payload: dict[str, Any]) -> Response:
    return Response(200, orjson.dumps(payload), "application/json")


def _current_rss_mb() -> float:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * resource.getpagesize() / (1 << 20)


class ControlApi:
    def __init__(self, server: UpstreamServer) -> None:
        self.server = server

    async def answer(self, request: Request) -> Response:
        name = request.path.removeprefix("/_sim/").strip("/")
        try:
            if name == "health" and request.method == "GET":
                return _json(self.health())
            if name == "stats" and request.method == "GET":
                return _json(self.stats())
            if name == "state" and request.method == "GET":
                return _json(self.state())
            if name == "state" and request.method == "POST":
                await self.change_state(orjson.loads(request.body or b"{}"))
                return _json(self.state())
            if name == "truth" and request.method == "POST":
                return _json(await self.write_truth(orjson.loads(request.body or b"{}")))
        except (ValidationError, FaultSpecError, orjson.JSONDecodeError, TypeError) as exc:
            return responses.plain_error(400, f"/_sim/{name}: {exc}")
        return responses.plain_error(404, f"no control endpoint {request.method} /_sim/{name}")

    def health(self) -> dict[str, Any]:
        s = self.server
        return {
            "status": "ok" if s.warm_error is None else "error",
            "ready": s.ready,
            "error": s.warm_error,
            "date": s.state.date.isoformat(),
            "scope": s.scope,
            "seed": s.seed,
        }

    def state(self) -> dict[str, Any]:
        s = self.server
        return s.state.model_dump(mode="json") | {"seed": s.seed, "scope": s.scope}

    def stats(self) -> dict[str, Any]:
        s = self.server
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "requests": {
                k: s.requests[k]
                for k in ("total", "inventory", "filters", "dealers", "image", "not_found")
            },
            "responses": dict(s.statuses),
            "faults": dict(s.faults),
            "schema_drifted": dict(s.drifted),
            "faults_total": sum(s.faults.values()),
            "peak_in_flight": dict(s.peak_in_flight),
            "pages_served": s.pages_served,
            "vehicles_served": s.vehicles_served,
            "bytes_sent": s.bytes_sent,
            "paced_seconds": round(s.paced_seconds, 4),
            "paced_seconds_by_endpoint": {
                k: round(v, 4) for k, v in sorted(s.paced_by_endpoint.items())
            },
            "cpu_seconds": round(time.process_time(), 4),
            "build_seconds": round(s.cache.build_seconds, 4),
            "build_cpu_seconds": round(s.cache.build_cpu_seconds, 4),
            "builds": s.cache.builds,
            "max_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "rss_mb": round(_current_rss_mb(), 1),
            "uptime_seconds": round(time.monotonic() - s.started, 3),
        }

    async def change_state(self, changes: dict[str, Any]) -> None:
        """Apply changes; a new date is built before this returns, new faults start fresh."""
        if not isinstance(changes, dict):
            raise TypeError(f"state changes must be a JSON object, not {changes!r}")
        s = self.server
        new = s.state.updated(changes)
        if "faults" in changes:
            s.injector = FaultInjector(new.fault_spec(), s.seed)
        day_changed = new.date != s.state.date
        searches = s.cache.search_keys()
        s.state = new
        if day_changed:
            s.ready = False
            s.cache.switch(new.date)
            await s.cache.warm(searches)
            s.ready = True

    async def write_truth(self, body: dict[str, Any]) -> dict[str, Any]:
        ask = TruthRequest.model_validate(body)
        s = self.server
        truth = await asyncio.to_thread(
            ground_truth,
            s.seed,
            s.state.date,
            s.scope,
            ask.zip,
            ask.radius,
            page_size=ask.page_size,
            world=s.world,
        )
        files = await asyncio.to_thread(truth.write, Path(ask.out))
        return {"files": [str(f) for f in files], "vehicles": truth.vehicles.height}
