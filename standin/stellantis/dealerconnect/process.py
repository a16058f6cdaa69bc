"""Run the DealerConnect stand-in in a subprocess for the length of a `with` block."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from standin.stellantis.dealerconnect.data import DayTables, DealerConnectWorld
from standin.stellantis.dealerconnect.faults import Faults
from standin.stellantis.sites.process import (
    READY_TIMEOUT,
    ROOT,
    UpstreamError,
    UpstreamHandle,
    _first_line,
    _log_tail,
    _stop,
    serve_upstream,
)

CONTROL_TIMEOUT = 60.0
ENDPOINT_ENV = "STELLANTIS_BIGQUERY_ENDPOINT"


@dataclass
class DealerConnectHandle:
    """A running stand-in: its endpoint, its control API and its ground truth."""

    endpoint: str
    seed: int
    scope: str
    dataset: str
    process: subprocess.Popen[bytes] = field(repr=False)
    log_path: Path = field(repr=False)
    _world: DealerConnectWorld | None = field(default=None, repr=False)

    def _call(self, method: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = orjson.dumps(body) if body is not None else None
        request = urllib.request.Request(f"{self.endpoint}/_sim/state", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=CONTROL_TIMEOUT) as answer:
                return orjson.loads(answer.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise UpstreamError(f"{method} /_sim/state answered {exc.code}: {detail}") from exc

    def state(self) -> dict[str, Any]:
        return self._call("GET")

    def set_state(self, date: dt.date | str | None = None, faults: str | None = None) -> None:
        """Serve another day or other faults from now on; the day's tables are loaded first."""
        body: dict[str, Any] = {}
        if date is not None:
            body["date"] = date.isoformat() if isinstance(date, dt.date) else date
        if faults is not None:
            body["faults"] = faults
        self._call("POST", body)

    def truth(self, day: dt.date, faults: str = "") -> DayTables:
        """The rows of `day` with `faults`' POCs spoilt, orders reused, portals read twice and
        documents shared (tables emptied, removed or given a column are left as they are)."""
        if self._world is None:
            self._world = DealerConnectWorld(self.seed, self.scope)
        spoilt = Faults.parse(faults)
        return self._world.day_tables(
            day,
            spoilt.bad_poc_share,
            spoilt.reused_orders,
            spoilt.read_twice,
            spoilt.one_document,
        )


@contextlib.contextmanager
def serve_dealerconnect(
    scope: str = "tiny",
    seed: int = 7,
    date: dt.date | str | None = None,
    *,
    faults: str = "",
    dataset: str = "dealerconnect",
    page_rows: int | None = None,
    latency: float = 0.0,
) -> Iterator[DealerConnectHandle]:
    """Start the stand-in on a free port with its day loaded; stop it on exit."""
    day = date.isoformat() if isinstance(date, dt.date) else (date or dt.date.today().isoformat())
    command = [
        sys.executable, "-m", "standin.stellantis.dealerconnect", "serve",
        "--host", "127.0.0.1", "--port", "0", "--scope", scope, "--seed", str(seed),
        "--date", day, "--dataset", dataset, "--faults", faults, "--latency", str(latency),
    ]  # fmt: skip
    if page_rows is not None:
        command += ["--page-rows", str(page_rows)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    log = Path(tempfile.mkstemp(prefix="dealerconnect-", suffix=".log")[1])
    with log.open("wb") as log_file:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log_file, env=env)
    try:
        # It announces its port once the market is built: minutes nationally on a loaded machine.
        endpoint = _first_line(process, timeout=READY_TIMEOUT[scope])
        if not endpoint.startswith("http://"):
            raise UpstreamError(
                f"the DealerConnect stand-in did not announce its port ({' '.join(command)}): "
                f"{_log_tail(log) or 'no output'}"
            )
        yield DealerConnectHandle(endpoint, seed, scope, dataset, process, log)
    finally:
        _stop(process)
        if process.stdout is not None:
            process.stdout.close()
        log.unlink(missing_ok=True)


@dataclass
class MarketHandle:
    """Both stand-ins of one market: the public sites' handle for the harness, with
    DealerConnect's API calls by method added to its statistics."""

    public: UpstreamHandle
    dealerconnect: DealerConnectHandle

    @property
    def base_url_template(self) -> str:
        return self.public.base_url_template

    def stats(self) -> dict[str, Any]:
        requests = self.dealerconnect.state()["requests"]
        return {**self.public.stats(), "dealerconnect": {"requests": requests}}

    def state(self) -> dict[str, Any]:
        return self.public.state()

    def set_state(self, date: dt.date | str) -> None:
        """Both stand-ins serve `date` from now on, as a market that moved a day."""
        self.public.set_state(date=date)
        self.dealerconnect.set_state(date=date)


@contextlib.contextmanager
def serve_market(
    scope: str = "tiny",
    seed: int = 7,
    date: dt.date | str | None = None,
    latency: float = 0.0,
    **public: Any,
) -> Iterator[MarketHandle]:
    """Both stand-ins over one market, each answering in `latency` seconds (a page, an API
    call), and DealerConnect's endpoint in `STELLANTIS_BIGQUERY_ENDPOINT` for processes started
    inside the block (the benchmark harness's stages)."""
    with (
        serve_upstream(scope, seed, date, latency, **public) as upstream,
        serve_dealerconnect(scope, seed, date, latency=latency) as dealerconnect,
    ):
        before = os.environ.get(ENDPOINT_ENV)
        os.environ[ENDPOINT_ENV] = dealerconnect.endpoint
        try:
            yield MarketHandle(upstream, dealerconnect)
        finally:
            if before is None:
                os.environ.pop(ENDPOINT_ENV, None)
            else:
                os.environ[ENDPOINT_ENV] = before
