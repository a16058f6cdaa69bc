"""Per-run counters of the HTTP client: one small record per run, never one per page."""

from __future__ import annotations

import bisect
import math
import threading
import time
from dataclasses import dataclass, field

LATENCY_BUCKETS_S: tuple[float, ...] = (
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
"""Upper bounds of the latency histogram's buckets; one more bucket holds everything slower."""

_BUCKET_LABELS: tuple[str, ...] = (
    *(f"<={b * 1000:g}ms" for b in LATENCY_BUCKETS_S),
    f">{LATENCY_BUCKETS_S[-1] * 1000:g}ms",
)


@dataclass(frozen=True, slots=True)
class _Clock:
    wall: float
    cpu: float
    thread_cpu: float
    thread_id: int

    @classmethod
    def now(cls) -> _Clock:
        return cls(
            time.perf_counter(), time.process_time(), time.thread_time(), threading.get_ident()
        )


@dataclass(slots=True)
class FetchStats:
    """Counters of one client's life, cheap enough to update on every request.

    `requests` counts HTTP attempts; `pages_ok` successful calls; `failures` calls that raised.
    `cpu_s` is process CPU between open and close, so it includes other threads' work, while
    `loop_cpu_s` is the CPU of the thread running the client's event loop only. Merged stats sum
    times, so `wall_s` of a merge is total client time, not elapsed time.
    """

    requests: int = 0
    pages_ok: int = 0
    failures: int = 0
    redirects: int = 0
    body_bytes: int = 0
    retries: dict[str, int] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    latency_sum_s: float = 0.0
    latency_min_s: float = math.inf
    latency_max_s: float = 0.0
    latency_buckets: list[int] = field(default_factory=lambda: [0] * len(_BUCKET_LABELS))
    backoff_s: float = 0.0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    loop_cpu_s: float = 0.0
    _opened: _Clock | None = None

    def start(self) -> None:
        self._opened = _Clock.now()

    def stop(self) -> None:
        wall, cpu, loop_cpu = self._running()
        self.wall_s += wall
        self.cpu_s += cpu
        self.loop_cpu_s += loop_cpu
        self._opened = None

    def observe_attempt(self, latency_s: float, status: int | None) -> None:
        self.requests += 1
        self.latency_sum_s += latency_s
        self.latency_min_s = min(self.latency_min_s, latency_s)
        self.latency_max_s = max(self.latency_max_s, latency_s)
        self.latency_buckets[bisect.bisect_left(LATENCY_BUCKETS_S, latency_s)] += 1
        if status is not None:
            self.statuses[status] = self.statuses.get(status, 0) + 1

    def observe_page(self, n_bytes: int) -> None:
        self.pages_ok += 1
        self.body_bytes += n_bytes

    def observe_retry(self, kind: str, wait_s: float) -> None:
        self.retries[kind] = self.retries.get(kind, 0) + 1
        self.backoff_s += wait_s

    def merge(self, other: FetchStats) -> FetchStats:
        """Add `other`'s counters and times into these; returns self."""
        wall, cpu, loop_cpu = other._running()
        self.requests += other.requests
        self.pages_ok += other.pages_ok
        self.failures += other.failures
        self.redirects += other.redirects
        self.body_bytes += other.body_bytes
        for kind, n in other.retries.items():
            self.retries[kind] = self.retries.get(kind, 0) + n
        for status, n in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + n
        self.latency_sum_s += other.latency_sum_s
        self.latency_min_s = min(self.latency_min_s, other.latency_min_s)
        self.latency_max_s = max(self.latency_max_s, other.latency_max_s)
        self.latency_buckets = [
            a + b for a, b in zip(self.latency_buckets, other.latency_buckets, strict=True)
        ]
        self.backoff_s += other.backoff_s
        self.wall_s += other.wall_s + wall
        self.cpu_s += other.cpu_s + cpu
        self.loop_cpu_s += other.loop_cpu_s + loop_cpu
        return self

    def summary(self) -> dict[str, float | int | dict]:
        """A JSON-ready record of the run so far (times include the current open span)."""
        wall, cpu, loop_cpu = self._running()
        cpu_total = self.cpu_s + cpu
        loop_cpu_total = self.loop_cpu_s + loop_cpu
        per_request = 1000.0 * loop_cpu_total / self.requests if self.requests else 0.0
        return {
            "requests": self.requests,
            "pages_ok": self.pages_ok,
            "failures": self.failures,
            "redirects": self.redirects,
            "bytes": self.body_bytes,
            "retries": sum(self.retries.values()),
            "retries_by_cause": dict(sorted(self.retries.items())),
            "statuses": {str(s): n for s, n in sorted(self.statuses.items())},
            "latency_mean_s": _r(self.latency_sum_s / self.requests if self.requests else 0.0),
            "latency_min_s": _r(self.latency_min_s if self.requests else 0.0),
            "latency_max_s": _r(self.latency_max_s),
            "latency_histogram": dict(zip(_BUCKET_LABELS, self.latency_buckets, strict=True)),
            "backoff_s": _r(self.backoff_s),
            "wall_s": _r(self.wall_s + wall),
            "cpu_s": _r(cpu_total),
            "loop_cpu_s": _r(loop_cpu_total),
            "loop_cpu_per_request_ms": _r(per_request),
        }

    def _running(self) -> tuple[float, float, float]:
        """Wall, process CPU and loop-thread CPU of the open span, zeros when closed."""
        opened = self._opened
        if opened is None:
            return 0.0, 0.0, 0.0
        now = _Clock.now()
        # thread_time is per thread: a reading from another thread says nothing about the loop's.
        loop_cpu = now.thread_cpu - opened.thread_cpu if now.thread_id == opened.thread_id else 0.0
        return now.wall - opened.wall, now.cpu - opened.cpu, loop_cpu


def _r(value: float) -> float:
    return round(value, 6)
