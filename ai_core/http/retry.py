"""Retry policy: which failures are transient, and how long to wait before the next try."""

from __future__ import annotations

import datetime as dt
import email.utils
import random
from dataclasses import dataclass

import httpx


@dataclass(frozen=True, slots=True)
class Transient:
    """A failed attempt worth retrying. `kind` keys the stats; `detail` goes into messages."""

    kind: str
    detail: str
    status: int | None = None
    retry_after_s: float | None = None


def backoff_delay(retry: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**(retry - 1))].

    Full jitter spreads the retries of many workers that failed together, so they do not hit a
    recovering upstream in lock-step.
    """
    ceiling = min(cap_s, base_s * 2.0 ** max(0, retry - 1))
    return rng.uniform(0.0, ceiling)


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP date), or None."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    current = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - current).total_seconds())


def classify_transport_error(exc: httpx.RequestError, timeout_s: float) -> Transient | None:
    """The transient kind of a transport failure, or None when retrying cannot help."""
    if isinstance(exc, httpx.ConnectTimeout):
        return Transient("connect_timeout", f"connect timed out after {timeout_s:g} s")
    if isinstance(exc, httpx.ReadTimeout):
        return Transient("read_timeout", f"read timed out after {timeout_s:g} s")
    if isinstance(exc, httpx.TimeoutException):
        return Transient("timeout", f"{type(exc).__name__} after {timeout_s:g} s")
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return None
    if isinstance(exc, httpx.ConnectError):
        return Transient("connect", f"connection failed ({_describe(exc)})")
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.RemoteProtocolError):
        return Transient("connection", f"connection broken ({_describe(exc)})")
    if isinstance(exc, httpx.DecodingError):
        return Transient("decoding", f"undecodable body ({_describe(exc)})")
    if isinstance(exc, httpx.TransportError):
        return Transient("transport", f"transport error ({_describe(exc)})")
    return None


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
