"""The shared asynchronous HTTP client: one pooled connection set per run, retries, and limits.

All requests of a run go through one `httpx.AsyncClient`, so connections (HTTP/2 when the server
offers it) are reused instead of re-negotiated per page. A semaphore of `workers` slots is held
only while a request is on the wire; backoff waits hold no slot, so one throttled page does not
idle a worker that another page could use. The only sleeps are those waits.

A 429 says the client, not the page, went too fast: every request to that host waits out the
pause it asks for (its `Retry-After`, or the backoff), and a page's waits for 429s use up
neither its retries nor its deadline, so a rate-limited day slows down instead of losing pages.
Once a host answers 429 again after a pause (a block, not one request too many), one request a
pause asks whether it has recovered and the others wait for its answer, as a rate limiter that
counts refused requests needs. Once the host has answered nothing but 429 for `max_throttled_s`,
its pages fail instead of waiting, the probe still asking; any other end of a request (an
answer, its own time-out) ends the block, not one cancelled by its page's deadline.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import httpx

from ai_core.http.config import HttpClientConfig
from ai_core.http.errors import FetchError, ResponseTooLarge, RetryableResponse
from ai_core.http.headers import HeaderRotator
from ai_core.http.payload import json_problem, parse_json, unparsed
from ai_core.http.redact import redact_url
from ai_core.http.response import JsonResponse
from ai_core.http.retry import Transient, backoff_delay, classify_transport_error, parse_retry_after
from ai_core.http.stats import FetchStats
from ai_core.http.transport import AiohttpTransport

log = logging.getLogger(__name__)

Validator = Callable[[Any], None]
"""Checks a parsed payload; raises `RetryableResponse` when the upstream says it failed."""


class AsyncHttpClient:
    """JSON GETs with bounded concurrency, time-outs, retries and a body-size cap.

    Use as `async with AsyncHttpClient(config) as client: await client.get_json(url, params)`.
    `transport` replaces the network, for an in-process stand-in of an upstream.
    """

    def __init__(
        self,
        config: HttpClientConfig | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config or HttpClientConfig()
        self.stats = FetchStats()
        self._transport = transport
        self._rng = rng or random.Random()
        self._headers = HeaderRotator(rotate=self.config.rotate_headers)
        self._http: httpx.AsyncClient | None = None
        self._slots: asyncio.Semaphore | None = None
        self._hosts: set[str] = set()  # hosts asked for directly; redirects may stay on them
        self._paused_until: dict[str, float] = {}  # host -> when its requests may go again
        self._throttled: dict[str, _Throttled] = {}  # hosts whose last answer was a 429
        self.last_429_at = 0.0
        """When a 429 last came (`time.monotonic()`): a throttled host is answering, not stalled."""

    async def __aenter__(self) -> Self:
        if self._http is not None:
            raise RuntimeError("AsyncHttpClient is already open; open each instance once")
        cfg = self.config
        transport = self._transport
        if transport is None and not cfg.http2:
            transport = AiohttpTransport(cfg.workers)
        self._http = _HttpxClient(
            http2=cfg.http2,
            timeout=httpx.Timeout(cfg.timeout_s),
            limits=httpx.Limits(max_connections=cfg.workers, max_keepalive_connections=cfg.workers),
            follow_redirects=True,
            transport=transport,
            event_hooks={"request": [self._guard_redirect]},
        )
        self._slots = asyncio.Semaphore(cfg.workers)
        self.stats.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        http, self._http, self._slots = self._http, None, None
        try:
            if http is not None:
                await http.aclose()
        finally:
            self.stats.stop()

    async def get_json(
        self,
        url: str,
        params: Mapping[str, str | int] | None = None,
        *,
        validate: Validator | None = None,
        label: str | None = None,
        shape: type | None = None,
    ) -> JsonResponse:
        """GET `url` with `params` and return the parsed JSON answer, retrying transient faults.

        With a `shape` (a TypedDict), `data` holds only the parts it declares (see `parse_json`).

        Raises `FetchError` when the answer is not retryable (a 4xx other than 429) or retries
        are exhausted, `ResponseTooLarge` past `max_response_bytes`. Exceptions other than
        `RetryableResponse` raised by `validate` propagate unchanged.
        """
        http, slots = self._open_parts()
        cfg = self.config
        query = dict(params) if params else {}
        deadline = asyncio.timeout(cfg.page_deadline_s)
        call = _Call(label, query, request_url(url, query), time.perf_counter(), deadline, shape)
        try:
            async with deadline:
                return await self._tries(http, slots, validate, call)
        except TimeoutError:
            if not deadline.expired():
                raise
            self.stats.failures += 1
            last = f"; last: {call.last.detail}" if call.last is not None else ""
            if call.throttled_s >= 1:
                last += f"; besides {call.throttled_s:.0f} s waiting out 429s"
            raise FetchError.exhausted(
                label=label,
                url=str(call.url),
                attempts=max(1, call.attempts),
                cause=f"no answer within the page deadline of {cfg.page_deadline_s:g} s{last}",
                status=call.last.status if call.last is not None else None,
            ) from None

    async def _tries(
        self,
        http: httpx.AsyncClient,
        slots: asyncio.Semaphore,
        validate: Validator | None,
        call: _Call,
    ) -> JsonResponse:
        cfg = self.config
        label = call.label
        throttled = 0  # answers of 429, which wait but use up no retry
        try:
            while True:
                call.attempts += 1
                attempts = call.attempts
                request = http.build_request("GET", call.url, headers=self._headers.next_headers())
                host = request.url.host
                self._hosts.add(host)
                outcome = await self._attempt(http, slots, request, host, validate, call)
                if isinstance(outcome, _Received):
                    return JsonResponse(
                        url=outcome.url,
                        params=call.query,
                        status=outcome.status,
                        body=outcome.body,
                        data=outcome.data,
                        attempts=attempts,
                        elapsed_s=time.perf_counter() - call.started,
                        fetched_at=outcome.fetched_at,
                        http_version=outcome.http_version,
                    )
                call.last = outcome
                if outcome.status == 429:
                    throttled += 1
                    wait_s = self._throttle(host, outcome)
                    self._refuse_when_throttled_out(host, request, label, attempts)
                    self.stats.observe_retry(outcome.kind, wait_s)
                    log.warning(
                        "%s: HTTP 429 on attempt %d; every request to %s waits %.2f s",
                        label or redact_url(str(request.url)),
                        attempts,
                        host,
                        wait_s,
                    )
                    with _deadline_stopped(call):
                        await asyncio.sleep(wait_s)
                    continue
                if attempts - throttled > cfg.max_retries:
                    raise FetchError.exhausted(
                        label=label,
                        url=str(request.url),
                        attempts=attempts,
                        cause=outcome.detail,
                        status=outcome.status,
                    )
                wait_s = self._wait_before_retry(attempts - throttled, outcome)
                self.stats.observe_retry(outcome.kind, wait_s)
                log.warning(
                    "%s: %s on attempt %d of %d; retrying in %.2f s",
                    label or redact_url(str(request.url)),
                    outcome.detail,
                    attempts,
                    cfg.max_retries + 1 + throttled,
                    wait_s,
                )
                await asyncio.sleep(wait_s)
        except Exception:
            self.stats.failures += 1
            raise

    async def _guard_redirect(self, request: httpx.Request) -> None:
        """Refuse a redirect to a host the run never asked for, unless configured to follow."""
        if not self.config.cross_host_redirects and request.url.host not in self._hosts:
            raise _CrossHostRedirect(request.url.host)

    async def _attempt(
        self,
        http: httpx.AsyncClient,
        slots: asyncio.Semaphore,
        request: httpx.Request,
        host: str,
        validate: Validator | None,
        call: _Call,
    ) -> _Received | Transient:
        cfg = self.config
        label, attempts = call.label, call.attempts
        status: int | None = None
        probe = await self._take_slot(slots, request, host, call)
        cancelled = False
        try:
            sent = time.perf_counter()
            try:
                # httpx bounds each connect, write and read by timeout_s; this also bounds a
                # body trickling in just under the read time-out, at twice the per-phase bound so
                # that a plain stall is still reported as the phase that stalled.
                async with asyncio.timeout(2 * cfg.timeout_s):
                    response = await http.send(request, stream=True)
                    status = response.status_code
                    self.stats.redirects += len(response.history)
                    try:
                        body = await self._read_capped(response, label, attempts)
                    finally:
                        await response.aclose()
            except TimeoutError:
                return Transient("timeout", f"no complete answer within {2 * cfg.timeout_s:g} s")
            except _CrossHostRedirect as exc:
                raise FetchError.not_retryable(
                    label=label,
                    url=str(request.url),
                    attempts=attempts,
                    cause=f"a redirect to another host ({exc.host}), which is refused; set "
                    "cross_host_redirects to follow it",
                    status=None,
                ) from None
            except httpx.RequestError as exc:
                transient = classify_transport_error(exc, cfg.timeout_s)
                if transient is None:
                    raise FetchError.not_retryable(
                        label=label,
                        url=str(request.url),
                        attempts=attempts,
                        cause=f"{type(exc).__name__}: {exc}",
                        status=None,
                    ) from exc
                return transient
            finally:
                self.stats.observe_attempt(time.perf_counter() - sent, status)
        except asyncio.CancelledError:
            cancelled = True  # the page's deadline or the end of the fetch, not the host
            raise
        finally:
            slots.release()
            # A host's streak lasts while its answers are 429: any other end of a request (an
            # answer, its own time-out, a reset) ends it, so a host that stops answering is not
            # probed one request at a time; a request cancelled before an answer says nothing.
            if self._throttled and status != 429 and (status is not None or not cancelled):
                self._throttled.pop(host, None)
            if probe is not None:
                # The pages waiting on it run only once the caller, with no wait in between, has
                # taken its answer: a new pause, or the end of the host's streak.
                probe.answered()
        return self._interpret(response, body, validate, call.shape, label, attempts)

    async def _read_capped(
        self, response: httpx.Response, label: str | None, attempts: int
    ) -> bytes:
        limit = self.config.max_response_bytes
        declared = response.headers.get("content-length")
        # A declared length is only the body's size when the body is not encoded.
        if (
            declared
            and declared.isdigit()
            and "content-encoding" not in response.headers
            and int(declared) > limit
        ):
            raise self._too_large(response, label, attempts, int(declared))
        chunks: list[bytes] = []
        seen = 0
        async for chunk in response.aiter_bytes():
            seen += len(chunk)
            if seen > limit:
                raise self._too_large(response, label, attempts, seen)
            chunks.append(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _too_large(
        self, response: httpx.Response, label: str | None, attempts: int, seen: int
    ) -> ResponseTooLarge:
        return ResponseTooLarge.past_limit(
            label=label,
            url=str(response.request.url),
            attempts=attempts,
            status=response.status_code,
            seen=seen,
            limit=self.config.max_response_bytes,
        )

    def _interpret(
        self,
        response: httpx.Response,
        body: bytes,
        validate: Validator | None,
        shape: type | None,
        label: str | None,
        attempts: int,
    ) -> _Received | Transient:
        status = response.status_code
        # 408: the server timed the request out, which a proxy in front of an API also answers.
        if status in (408, 429) or status >= 500:
            return Transient(
                "http_429" if status == 429 else "http_408" if status == 408 else "http_5xx",
                f"HTTP {status}",
                status,
                parse_retry_after(response.headers.get("retry-after")),
            )
        if not 200 <= status < 300:
            raise FetchError.not_retryable(
                label=label,
                url=str(response.url),
                attempts=attempts,
                cause=f"HTTP {status}",
                status=status,
            )
        content_type = response.headers.get("content-type")
        problem = json_problem(content_type, body)
        if problem is not None:
            return Transient(problem.kind, problem.detail, status)
        data, problem = parse_json(body, shape)
        if problem is not None:
            problem = unparsed(content_type, problem)
            return Transient(problem.kind, problem.detail, status)
        if validate is not None:
            try:
                validate(data)
            except RetryableResponse as exc:
                return Transient("rejected", f"upstream reported failure: {exc.reason}", status)
        self.stats.observe_page(len(body))
        return _Received(
            redact_url(str(response.url)),
            status,
            body,
            data,
            response.http_version,
            dt.datetime.now(dt.UTC),
        )

    async def _take_slot(
        self, slots: asyncio.Semaphore, request: httpx.Request, host: str, call: _Call
    ) -> _Throttled | None:
        """Take a worker slot once `host` may be asked: a request queued for a slot when a 429
        paused its host would otherwise go out during the pause. While the host is blocked, only
        one request at a time goes out, its probe, returned so its answer wakes the others. The
        caller releases the slot."""
        while True:
            # Only this host's own state: a pause left over from another host must not send
            # every later request down the waiting path.
            if host in self._paused_until or host in self._throttled:
                await self._wait_turn(host, request, call)
            await slots.acquire()
            streak = self._throttled.get(host)
            if host not in self._paused_until and (streak is None or not streak.probing):
                # After one pause every waiting page asks, as a lone 429 costs no more than its
                # pause; after two, the host is blocked and one asks for all.
                if streak is not None and streak.answers > 1:
                    streak.probing = True
                    return streak
                return None
            slots.release()

    async def _wait_turn(self, host: str, request: httpx.Request, call: _Call) -> None:
        """Wait while `host` is paused or its probe is out, without spending the page's deadline:
        the host's own `max_throttled_s` bounds the wait."""
        with _deadline_stopped(call):
            while True:
                until = self._paused_until.get(host)
                if until is not None:
                    left = until - time.monotonic()
                    if left > 0:
                        self._refuse_when_throttled_out(host, request, call.label, call.attempts)
                        await asyncio.sleep(left)
                        continue
                    del self._paused_until[host]
                streak = self._throttled.get(host)
                if streak is None or not streak.probing:
                    return
                self._refuse_when_throttled_out(host, request, call.label, call.attempts)
                await streak.turn.wait()

    def _refuse_when_throttled_out(
        self, host: str, request: httpx.Request, label: str | None, attempts: int
    ) -> None:
        """Fail the page once `host` has answered nothing but 429 for `max_throttled_s`: a
        permanent block must not hold the day. Until the host answers otherwise, a page fails
        while the host is paused, and the one that asks between pauses is the host's probe."""
        streak = self._throttled.get(host)
        if streak is None:
            return
        throttled_s = time.monotonic() - streak.since
        if throttled_s > self.config.max_throttled_s:
            raise FetchError.exhausted(
                label=label,
                url=str(request.url),
                attempts=attempts,
                cause=f"HTTP 429: {host} has been throttled for {throttled_s:.0f} s, past "
                f"max_throttled_s ({self.config.max_throttled_s:g} s)",
                status=429,
            )

    def _throttle(self, host: str, outcome: Transient) -> float:
        """Pause `host` after a 429 and say how long its page waits. A 429 that comes while the
        host is paused answers a request sent before the pause: it waits the pause out with the
        others (or the longer `Retry-After` it asks). One that comes after grows the host's
        streak, and with it the backoff, whichever pages ask."""
        now = self.last_429_at = time.monotonic()
        streak = self._throttled.get(host)
        if streak is None:
            streak = self._throttled[host] = _Throttled(now)
        left = self._paused_until.get(host, 0.0) - now
        if left > 0:
            asked = min(outcome.retry_after_s or 0.0, self.config.retry_after_cap_s)
            wait_s = max(left, asked)
        else:
            streak.answers += 1
            wait_s = self._wait_before_retry(streak.answers, outcome)
        self._pause(host, wait_s)
        return wait_s

    def _pause(self, host: str, wait_s: float) -> None:
        """Hold every request to `host` for `wait_s` from now (a longer pause stands)."""
        until = time.monotonic() + wait_s
        self._paused_until[host] = max(until, self._paused_until.get(host, until))

    def _wait_before_retry(self, attempts: int, outcome: Transient) -> float:
        cfg = self.config
        # `Retry-After: 0` (or a date past) would retry at once, for as long as it is answered.
        if outcome.retry_after_s:
            return min(outcome.retry_after_s, cfg.retry_after_cap_s)
        return backoff_delay(attempts, cfg.retry_backoff_s, cfg.max_backoff_s, self._rng)

    def _open_parts(self) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
        if self._http is None or self._slots is None:
            raise RuntimeError(
                "AsyncHttpClient is not open; use it as `async with AsyncHttpClient(config) as c`"
            )
        return self._http, self._slots


@dataclass(frozen=True, slots=True)
class _Received:
    """A good answer of one attempt, before the call's totals are known."""

    url: str
    status: int
    body: bytes
    data: Any
    http_version: str
    fetched_at: dt.datetime


@dataclass(slots=True)
class _Throttled:
    """A host's rounds of 429 since its last other answer (each a pause sat out), when the
    first came, and whether its probe is out."""

    since: float
    answers: int = 0
    """429s that came with the host not paused: each began a pause."""
    probing: bool = False
    turn: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the probe out now has its answer; the next probe waits on a new one."""

    def answered(self) -> None:
        self.probing = False
        self.turn.set()
        self.turn = asyncio.Event()


@dataclass(slots=True)
class _Call:
    """One `get_json` call's tries so far, which its deadline reports when it passes."""

    label: str | None
    query: dict[str, str | int]
    url: httpx.URL
    started: float
    deadline: asyncio.Timeout
    shape: type | None = None
    attempts: int = 0
    last: Transient | None = None
    throttled_s: float = 0.0
    """Time spent waiting out its host's 429s, which its deadline does not count."""


def request_url(url: str, params: Mapping[str, str | int]) -> httpx.URL:
    """The URL httpx requests for `url` and `params` (the params, when given, are its query).

    Parsed once from one string instead of parsed and then rebuilt with the query: half the CPU
    of a request's URL.
    """
    if not params:
        return httpx.URL(url)
    if "?" in url or "#" in url:
        return httpx.URL(url, params=params)
    return httpx.URL(f"{url}?{httpx.QueryParams(params)}")


class _Cookies(httpx.Cookies):
    """httpx's cookie store, reading an answer only when it sets a cookie: httpx otherwise builds
    a urllib request and header message for every answer to find none."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers or "set-cookie2" in response.headers:
            super().extract_cookies(response)


class _HttpxClient(httpx.AsyncClient):
    """httpx's client with the cookie store above; cookies are kept and sent as before."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cookies = kwargs.get("cookies")

    @property
    def cookies(self) -> httpx.Cookies:
        return self._store

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._store = _Cookies(cookies)


class _CrossHostRedirect(Exception):
    def __init__(self, host: str) -> None:
        super().__init__(host)
        self.host = host


@contextmanager
def _deadline_stopped(call: _Call) -> Iterator[None]:
    """Stop the page's deadline for the block's length: waiting out its host's 429s is not the
    page's fault, and `max_throttled_s` bounds that wait."""
    deadline = call.deadline
    when = deadline.when()
    if when is None:
        yield
        return
    loop = asyncio.get_running_loop()
    stopped = loop.time()
    deadline.reschedule(None)
    try:
        yield
    finally:
        now = loop.time()
        call.throttled_s += now - stopped
        if not deadline.expired():
            deadline.reschedule(when + now - stopped)
