"""Run the local upstream server in a subprocess for the length of a `with` block.

A subprocess, so the server never competes with the client for the GIL. Every wait is bounded:
the bound port must be announced, the served day built, and the process gone on exit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ai_stellantis.settings import DEFAULT_PAGE_SIZE
from standin.stellantis.sites.faults import FaultSpec
from standin.stellantis.sites.truth import GroundTruth, ground_truth

ROOT = Path(__file__).resolve().parents[3]
READY_TIMEOUT = {"tiny": 60.0, "small": 120.0, "national": 600.0}
"""Seconds to wait for the served day to be built, by scope."""
CONTROL_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


class UpstreamError(RuntimeError):
    """The local upstream server did not start, answer or stop as expected."""


@dataclass
class UpstreamHandle:
    """A running local upstream server."""

    base_url_template: str
    port: int
    seed: int
    scope: str
    process: subprocess.Popen[bytes] = field(repr=False)
    log_path: Path = field(repr=False)
    _worlds: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`, the root of the control API."""
        return self.base_url_template.removesuffix("/{domain}")

    def url(self, domain: str) -> str:
        """The base URL of one brand's site, e.g. `http://127.0.0.1:PORT/jeep.com`."""
        return self.base_url_template.format(domain=domain)

    def _call(self, method: str, name: str, body: dict[str, Any] | None = None,
              timeout: float = CONTROL_TIMEOUT) -> dict[str, Any]:  # fmt: skip
        data = orjson.dumps(body) if body is not None else None
        request = urllib.request.Request(f"{self.base_url}/_sim/{name}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return orjson.loads(answer.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise UpstreamError(f"{method} /_sim/{name} answered {exc.code}: {detail}") from exc
        except OSError as exc:
            raise UpstreamError(
                f"{method} /_sim/{name} on {self.base_url} failed: {exc}; is the server up? "
                f"log: {self.log_path}"
            ) from exc

    def health(self) -> dict[str, Any]:
        return self._call("GET", "health")

    def stats(self) -> dict[str, Any]:
        """Requests by endpoint, faults by kind, pages served, server CPU seconds and more."""
        return self._call("GET", "stats")

    def state(self) -> dict[str, Any]:
        return self._call("GET", "state")

    def set_state(self, **changes: Any) -> dict[str, Any]:
        """Change the served `date`, `faults`, pacing, `stall_seconds`, `max_page_size`,
        `max_dealers_per_page`, `schema_drift` or `blocked_until` now.

        A new date is built before this returns; new faults start with fresh pinned counts.
        """
        for key in ("date", "blocked_until"):
            if isinstance(changes.get(key), dt.date):  # a datetime is a date too
                changes[key] = changes[key].isoformat()
        if "faults" in changes and not isinstance(changes["faults"], str):
            # Lists and mappings travel as the canonical string; strings are checked server-side.
            changes["faults"] = str(FaultSpec.parse(changes["faults"]))
        return self._call("POST", "state", changes, timeout=READY_TIMEOUT[self.scope])

    def truth(
        self,
        zip: str = "66952",
        radius: float = 5000,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        brands: Iterable[str] | None = None,
        date: dt.date | str | None = None,
    ) -> GroundTruth:
        """What a fault-free crawl of the served day returns, computed in this process."""
        from standin.stellantis.sites.world import World

        day = date or self.state()["date"]
        world = self._worlds.get("world")
        if world is None:
            world = self._worlds["world"] = World(self.seed, self.scope)
        return ground_truth(
            self.seed, day, self.scope, zip, radius, page_size=page_size, brands=brands,
            world=world,
        )  # fmt: skip

    def write_truth(self, out: Path | str, zip: str = "66952", radius: float = 5000) -> list[str]:
        """Have the server write the ground truth of the served day to parquet in `out`."""
        body = {"out": str(out), "zip": zip, "radius": radius}
        return self._call("POST", "truth", body, timeout=READY_TIMEOUT[self.scope])["files"]


def _first_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    lines: queue.Queue[bytes] = queue.Queue()
    stream = process.stdout
    if stream is None:
        return ""
    reader = threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True)
    reader.start()
    try:
        return lines.get(timeout=timeout).decode().strip()
    except queue.Empty:
        return ""


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


def _log_tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-2000:]
    except OSError:
        return ""


@contextlib.contextmanager
def serve_upstream(
    scope: str = "tiny",
    seed: int = 7,
    date: dt.date | str | None = None,
    latency: float = 0.0,
    jitter: float = 0.2,
    faults: object = "",
    evening: bool = False,
    size_share: float = 0.5,
    *,
    schema_drift: float = 0.0,
    stall_seconds: float = 90.0,
    ready_timeout: float | None = None,
) -> Iterator[UpstreamHandle]:
    """Start the server on a free port, wait until its day is built, stop it on exit."""
    day = date.isoformat() if isinstance(date, dt.date) else (date or dt.date.today().isoformat())
    command = [
        sys.executable, "-m", "standin.stellantis.sites", "serve",
        "--host", "127.0.0.1", "--port", "0",
        "--scope", scope, "--seed", str(seed), "--date", day,
        "--latency", str(latency), "--jitter", str(jitter),
        "--faults", str(FaultSpec.parse(faults)), "--stall-seconds", str(stall_seconds),
        "--size-share", str(size_share), "--schema-drift", str(schema_drift),
    ]  # fmt: skip
    if evening:
        command.append("--evening")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    log = Path(tempfile.mkstemp(prefix="upstream-", suffix=".log")[1])
    with log.open("wb") as log_file:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log_file, env=env)
    try:
        template = _first_line(process, timeout=60.0)
        if not template.startswith("http://"):
            raise UpstreamError(
                f"the upstream server did not announce its port ({' '.join(command)}): "
                f"{_log_tail(log) or 'no output'}"
            )
        port = int(template.split(":")[2].split("/")[0])
        handle = UpstreamHandle(template, port, seed, scope, process, log)
        deadline = time.monotonic() + (ready_timeout or READY_TIMEOUT.get(scope, 600.0))
        while True:
            if process.poll() is not None:
                raise UpstreamError(f"the upstream server exited: {_log_tail(log)}")
            health = handle.health()
            if health.get("error"):
                raise UpstreamError(f"the upstream server failed to build: {health['error']}")
            if health.get("ready"):
                break
            if time.monotonic() > deadline:
                raise UpstreamError(
                    f"the {scope} upstream server was not ready in time; log: {_log_tail(log)}"
                )
            time.sleep(0.05)
        yield handle
    finally:
        _stop(process)
        if process.stdout is not None:
            process.stdout.close()
        log.unlink(missing_ok=True)
