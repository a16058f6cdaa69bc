"""Start the scenario's local upstream server and read its request statistics."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from benchmarks.scenario import UpstreamConfig


class UpstreamHandle(Protocol):
    """What the harness needs from a running upstream server."""

    base_url_template: str

    def stats(self) -> dict[str, Any]: ...


def _factory(ref: str) -> Any:
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise RuntimeError(
            f"cannot import the upstream server {ref!r} ({exc}); set upstream.server in the "
            "scenario, or upstream to null for stages that need no server"
        ) from exc
    return getattr(module, attr)


@contextlib.contextmanager
def serve(config: UpstreamConfig) -> Iterator[UpstreamHandle]:
    """Run the configured server for the duration of the block."""
    factory = _factory(config.server)
    with factory(**config.server_kwargs()) as handle:
        yield handle


def move_to(handle: UpstreamHandle, day: dt.date) -> None:
    """Have the server serve `day` from now on, as a run of several days needs."""
    set_state = getattr(handle, "set_state", None)
    if not callable(set_state):
        raise RuntimeError(
            f"the upstream server {type(handle).__name__} cannot move to {day}: a scenario of "
            "several days needs a server with set_state(date=...)"
        )
    set_state(date=day)


def served_state(handle: UpstreamHandle) -> dict[str, Any] | None:
    """What the server says it serves (date, latency, faults...), when it can say."""
    state = getattr(handle, "state", None)
    if not callable(state):
        return None
    try:
        return dict(state())
    except Exception as exc:  # a missing detail must not stop the run
        return {"error": f"upstream state unavailable: {exc}"}


def stats_delta(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """Numeric statistics that moved between two snapshots, nested mappings included."""
    delta: dict[str, Any] = {}
    for key, value in after.items():
        previous = before.get(key)
        if isinstance(value, Mapping):
            inner = stats_delta(previous if isinstance(previous, Mapping) else {}, value)
            if inner:
                delta[key] = inner
        elif isinstance(value, int | float) and not isinstance(value, bool):
            base = previous if isinstance(previous, int | float) else 0
            if value != base:
                # Float counters (CPU seconds) would otherwise show binary noise.
                delta[key] = round(value - base, 6)
    return delta
