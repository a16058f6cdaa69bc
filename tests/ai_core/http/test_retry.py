"""Retries: each transient fault is retried, then succeeds; lasting failure is reported."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import random
import re
import socket
import time
from typing import Any

import pytest

from ai_core.http import AsyncHttpClient, FetchError, HttpClientConfig, RetryableResponse
from ai_core.http.retry import backoff_delay, parse_retry_after
from tests.ai_core.http.fault_server import Fault, FaultServer

FAST = HttpClientConfig(
    timeout_s=2, max_retries=3, retry_backoff_s=0.01, max_backoff_s=0.02, workers=4
)
# HTTP/1.1 goes through aiohttp's pool, HTTP/2 through httpx's: each failure must be classified
# alike under both.
POOLS = pytest.mark.parametrize("http2", [False, True], ids=["aiohttp", "httpcore"])


def reject_failure(data: Any) -> None:
    if data["result"]["result"] != "SUCCESS":
        raise RetryableResponse(f"result {data['result']['result']}")


async def fetch_once(server: FaultServer, path: str, config: HttpClientConfig = FAST) -> Any:
    async with AsyncHttpClient(config) as client:
        response = await client.get_json(server.url(path), validate=reject_failure, label=path)
        return response, client.stats.summary()


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        (Fault.status_code(408), "http_408"),
        (Fault.status_code(429), "http_429"),
        (Fault.status_code(500), "http_5xx"),
        (Fault.status_code(503), "http_5xx"),
        (Fault.reset(), "connection"),
        (Fault.html(), "html"),
        (Fault.text(), "not_json"),
        (Fault.truncated_json(), "invalid_json"),
        (Fault.short_body(), "connection"),
        (Fault.failure(), "rejected"),
    ],
    ids=lambda v: v.kind if isinstance(v, Fault) else v,
)
@POOLS
def test_each_transient_fault_is_retried_then_succeeds(
    fault_server: FaultServer, fault: Fault, kind: str, http2: bool
) -> None:
    fault_server.script("/p", fault, fault)
    config = FAST.model_copy(update={"http2": http2})
    response, stats = asyncio.run(fetch_once(fault_server, "/p", config))
    assert response.status == 200
    assert response.attempts == 3
    assert response.data["result"]["result"] == "SUCCESS"
    assert fault_server.requests == 3
    assert stats["retries_by_cause"] == {kind: 2}
    assert stats["pages_ok"] == 1
    assert stats["failures"] == 0


@pytest.mark.parametrize(
    "content_type", ["text/plain;charset=UTF-8", "text/javascript", "application/octet-stream"]
)
def test_json_under_another_content_type_is_taken_at_once(
    fault_server: FaultServer, content_type: str
) -> None:
    """Servers send valid JSON under other types; the body, not its label, decides."""
    fault_server.script("/p", Fault.ok(content_type=content_type))
    response, stats = asyncio.run(fetch_once(fault_server, "/p"))
    assert response.attempts == 1
    assert response.data["result"]["result"] == "SUCCESS"
    assert stats["retries_by_cause"] == {}


@POOLS
def test_read_stall_times_out_and_is_retried(fault_server: FaultServer, http2: bool) -> None:
    fault_server.script("/p", Fault.stall(3.0))
    config = FAST.model_copy(update={"timeout_s": 0.3, "http2": http2})
    response, stats = asyncio.run(fetch_once(fault_server, "/p", config))
    assert response.attempts == 2
    assert stats["retries_by_cause"] == {"read_timeout": 1}
    assert stats["latency_max_s"] >= 0.3


def test_retry_after_seconds_is_honoured(fault_server: FaultServer) -> None:
    fault_server.script("/p", Fault.status_code(429, retry_after="1"))
    response, stats = asyncio.run(fetch_once(fault_server, "/p"))
    assert response.attempts == 2
    assert response.elapsed_s >= 1.0
    assert stats["backoff_s"] == 1.0


def test_retry_after_http_date_is_honoured(fault_server: FaultServer) -> None:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3)
    # Whole seconds: the date is 2 to 3 s ahead when written, a little less when the client
    # reads it, so the wait is well over 1 s whatever the fraction of the second.
    header = email.utils.format_datetime(when, usegmt=True)
    fault_server.script("/p", Fault.status_code(503, retry_after=header))
    response, _ = asyncio.run(fetch_once(fault_server, "/p"))
    assert response.attempts == 2
    assert 1.0 <= response.elapsed_s < 4.0


def test_retry_after_is_capped(fault_server: FaultServer) -> None:
    fault_server.script("/p", Fault.status_code(429, retry_after="120"))
    config = FAST.model_copy(update={"retry_after_cap_s": 0.2})
    response, stats = asyncio.run(fetch_once(fault_server, "/p", config))
    assert response.attempts == 2
    assert 0.2 <= response.elapsed_s < 1.0
    assert stats["backoff_s"] == 0.2


async def fetch_all(server: FaultServer, pages: int, config: HttpClientConfig) -> list[Any]:
    async with AsyncHttpClient(config) as client:
        urls = [server.url(f"/page/{n}") for n in range(pages)]
        return await asyncio.gather(*(client.get_json(u, label=u) for u in urls))


@pytest.mark.parametrize("retry_after", [None, "1"], ids=["backoff", "retry-after"])
def test_a_rate_limited_fetch_slows_down_and_loses_no_page(
    fault_server: FaultServer, retry_after: str | None
) -> None:
    # 10 a second against 10 workers with one retry a page: 429s must not use up the retries.
    fault_server.limit_rate(10, retry_after)
    config = HttpClientConfig(
        timeout_s=5, max_retries=1, retry_backoff_s=0.5, max_backoff_s=2, workers=10
    )
    responses = asyncio.run(fetch_all(fault_server, 60, config))

    assert [r.status for r in responses] == [200] * 60
    assert fault_server.throttled > 0
    assert sum(r.attempts for r in responses) == 60 + fault_server.throttled
    if retry_after is not None:
        # A 429 pauses every request to the host for its Retry-After, not only its own page's:
        # past the requests already on their way, none arrives until the pause is over.
        first = next(a.at for a in fault_server.arrivals if a.throttled)
        assert not [a for a in fault_server.arrivals if first + 0.3 < a.at < first + 0.95]


def test_a_page_throttled_past_max_throttled_s_is_reported_as_such(
    fault_server: FaultServer,
) -> None:
    fault_server.always("/p", Fault.status_code(429, "1"))
    # The page's own deadline passes long before: waiting out 429s does not spend it.
    config = FAST.model_copy(update={"page_deadline_s": 0.5, "max_throttled_s": 2.5})
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        asyncio.run(fetch_once(fault_server, "/p", config))
    assert time.monotonic() - started >= 2.5
    message = str(caught.value)
    assert re.search(rf"HTTP 429: {fault_server.host} has been throttled for \d s", message)
    assert "past max_throttled_s (2.5 s)" in message
    assert 4 <= caught.value.attempts <= 5  # a try a second, past the three retries' count


def test_a_deadline_passed_after_a_429_says_how_long_the_page_waited_it_out(
    fault_server: FaultServer,
) -> None:
    fault_server.script("/p", Fault.status_code(429, "1"), Fault.stall(5))
    config = FAST.model_copy(update={"page_deadline_s": 0.5, "timeout_s": 4})
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        asyncio.run(fetch_once(fault_server, "/p", config))
    assert time.monotonic() - started >= 1.5  # the wait, then the whole deadline
    assert "page deadline of 0.5 s; last: HTTP 429; besides 1 s waiting out 429s" in str(
        caught.value
    )


def test_a_block_past_the_page_deadline_loses_no_page_and_one_request_a_pause_asks(
    fault_server: FaultServer,
) -> None:
    fault_server.limit_rate(0.001, "0.25")  # nothing but 429, each asking for a 0.25 s pause
    config = FAST.model_copy(update={"page_deadline_s": 0.5, "workers": 8})

    async def go() -> list[Any]:
        async with AsyncHttpClient(config) as client:

            async def lift() -> None:
                await asyncio.sleep(2.0)
                fault_server.limit_rate(1000)

            lifted = asyncio.create_task(lift())
            urls = [fault_server.url(f"/page/{n}") for n in range(40)]
            pages = await asyncio.gather(*(client.get_json(u) for u in urls))
            await lifted
            return list(pages)

    pages = asyncio.run(go())
    assert [p.status for p in pages] == [200] * 40
    # The requests refused in each pause's window: two rounds of the workers' requests (after
    # one pause, a lone 429 costs no more than its pause; the round ends when its first 429
    # comes back), then one probe a pause.
    windows: list[list[float]] = []
    for at in (a.at for a in fault_server.arrivals if a.throttled):
        if windows and at - windows[-1][-1] < 0.1:
            windows[-1].append(at)
        else:
            windows.append([at])
    sizes = [len(w) for w in windows]
    assert 2 <= sizes[0] <= 8 and 1 <= sizes[1] <= 8, sizes
    assert sizes[2:] == [1] * len(sizes[2:]) and 3 <= len(sizes[2:]) <= 8, sizes


def test_a_retry_after_of_0_waits_the_backoff_instead(fault_server: FaultServer) -> None:
    fault_server.always("/p", Fault.status_code(429, "0"))
    config = FAST.model_copy(
        update={"max_throttled_s": 1.5, "retry_backoff_s": 0.2, "max_backoff_s": 5}
    )
    with pytest.raises(FetchError):
        asyncio.run(fetch_once(fault_server, "/p", config))
    # Backoff ceilings of 0.2, 0.4, 0.8 s: a handful of tries, not a retry at once each time.
    assert fault_server.requests < 20


def test_a_blocked_host_that_stops_answering_is_asked_by_every_page_again(
    fault_server: FaultServer,
) -> None:
    """A time-out ends a 429 block as an answer does: the pages waiting on the probe do not go
    one at a time, each waiting out the others' time-outs without a deadline."""
    fault_server.limit_rate(0.001, "0.2")
    config = FAST.model_copy(
        update={"timeout_s": 0.15, "max_retries": 1, "page_deadline_s": 5, "workers": 8}
    )
    pages = 6

    async def go() -> tuple[list[Any], float]:
        async with AsyncHttpClient(config) as client:

            async def hang() -> None:
                await asyncio.sleep(0.5)  # two rounds of 429 and a probe: the host is blocked
                for n in range(pages):
                    fault_server.always(f"/page/{n}", Fault.stall(10))
                fault_server.limit_rate(1e9)

            switched = asyncio.create_task(hang())
            started = time.monotonic()
            urls = [fault_server.url(f"/page/{n}") for n in range(pages)]
            done = await asyncio.gather(*(client.get_json(u) for u in urls), return_exceptions=True)
            await switched
            return list(done), time.monotonic() - started

    done, elapsed = asyncio.run(go())
    assert all(isinstance(o, FetchError) and "timed out" in str(o) for o in done)
    asked = sorted(a.at for a in fault_server.arrivals if not a.throttled)
    together = max(sum(1 for b in asked if 0 <= b - a < 0.1) for a in asked)
    assert together >= pages - 1, asked  # all but the probe that timed out, at once
    assert elapsed < 5


def test_a_host_that_answers_only_429_fails_its_pages_once_max_throttled_s_has_passed(
    fault_server: FaultServer,
) -> None:
    fault_server.limit_rate(0.001)  # nothing but 429
    config = FAST.model_copy(
        update={"max_throttled_s": 1.0, "retry_backoff_s": 0.05, "max_backoff_s": 0.4}
    )

    async def go() -> tuple[list[BaseException | Any], float, int, Any]:
        async with AsyncHttpClient(config) as client:

            async def worker(n: int) -> list[BaseException | Any]:
                # A worker's pages one after another, as the fetcher asks for them.
                outcomes: list[BaseException | Any] = []
                for page in range(100):
                    try:
                        outcomes.append(await client.get_json(fault_server.url(f"/{n}/{page}")))
                    except FetchError as exc:
                        outcomes.append(exc)
                return outcomes

            started = time.monotonic()
            done = await asyncio.gather(worker(1), worker(2))
            elapsed = time.monotonic() - started
            asked = fault_server.requests
            # The host recovers: once its last pause is over, the next page asks and is answered.
            fault_server.limit_rate(1000)
            await asyncio.sleep(2 * config.max_backoff_s)
            after = await client.get_json(fault_server.url("/after"))
            return [o for outcomes in done for o in outcomes], elapsed, asked, after

    outcomes, elapsed, asked, after = asyncio.run(go())
    assert all(isinstance(o, FetchError) for o in outcomes)
    # Waiting on, each of a worker's hundred pages would wait out the 1 s; asking each once,
    # 200 requests. Paused, pages fail without asking, and one probe a pause asks.
    assert elapsed < 10
    gave_up = [o for o in outcomes if "has been throttled for" in str(o)]
    assert len(gave_up) >= 190
    assert asked < 30
    assert after.status == 200


def test_exhausted_retries_raise_fetch_error_naming_label_url_attempts_and_cause(
    fault_server: FaultServer,
) -> None:
    fault_server.always("/hostd/inventory/getinventoryresults.json", Fault.html())
    config = FAST.model_copy(update={"max_retries": 2})
    label = "public_inventory page 37 of IUJ202610"

    async def go() -> dict[str, Any]:
        async with AsyncHttpClient(config) as client:
            with pytest.raises(FetchError) as caught:
                await client.get_json(
                    fault_server.url("/hostd/inventory/getinventoryresults.json"),
                    {"modelYearCode": "IUJ202610", "pageNumber": 37},
                    label=label,
                )
            err = caught.value
            url = fault_server.url("/hostd/inventory/getinventoryresults.json")
            assert err.url == url + "?modelYearCode=IUJ202610&pageNumber=37"
            assert (err.label, err.attempts, err.status) == (label, 3, 200)
            assert err.cause == "an HTML page (text/html; charset=utf-8)"
            assert str(err) == (
                f"{label} failed after 3 attempts (last: an HTML page (text/html; charset=utf-8)):"
                f" GET {err.url}. Rerun the partition once the upstream recovers."
            )
            return client.stats.summary()

    stats = asyncio.run(go())
    assert fault_server.requests == 3
    assert stats["failures"] == 1
    assert stats["retries_by_cause"] == {"html": 2}
    assert "user-agent" not in str(stats).lower()


def test_exhausted_retries_on_5xx_carry_the_status(fault_server: FaultServer) -> None:
    fault_server.always("/p", Fault.status_code(502))
    config = FAST.model_copy(update={"max_retries": 0})
    with pytest.raises(FetchError) as caught:
        asyncio.run(fetch_once(fault_server, "/p", config))
    assert (caught.value.attempts, caught.value.status, caught.value.cause) == (1, 502, "HTTP 502")


@POOLS
def test_refused_connection_is_retried_then_reported(http2: bool) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before use: nothing listens there

    async def go() -> None:
        async with AsyncHttpClient(FAST.model_copy(update={"http2": http2})) as client:
            await client.get_json(f"http://127.0.0.1:{port}/x", label="dealers of ram")

    with pytest.raises(FetchError) as caught:
        asyncio.run(go())
    assert caught.value.attempts == FAST.max_retries + 1
    assert caught.value.status is None
    assert caught.value.cause.startswith("connection failed (ConnectError")


def test_fetch_error_survives_pickling() -> None:
    import pickle

    err = FetchError.exhausted(
        label="l", url="http://u/?a=1", attempts=4, cause="HTTP 503", status=503
    )
    copy = pickle.loads(pickle.dumps(err))
    assert (type(copy), str(copy), copy.label, copy.attempts, copy.status) == (
        FetchError,
        str(err),
        "l",
        4,
        503,
    )


@pytest.mark.parametrize("retry", [1, 2, 3, 8])
def test_backoff_is_full_jitter_under_the_exponential_ceiling(retry: int) -> None:
    rng = random.Random(7)
    ceiling = min(30.0, 2.0 * 2 ** (retry - 1))
    delays = [backoff_delay(retry, 2.0, 30.0, rng) for _ in range(2000)]
    assert all(0.0 <= d <= ceiling for d in delays)
    assert min(delays) < 0.1 * ceiling
    assert max(delays) > 0.9 * ceiling


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("5", 5.0),
        (" 0 ", 0.0),
        ("-3", 0.0),
        ("2.5", 2.5),
        ("Sun, 22 Nov 2026 12:00:30 GMT", 30.0),
        ("Sun, 22 Nov 2026 11:59:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    now = dt.datetime(2026, 11, 22, 12, 0, 0, tzinfo=dt.UTC)
    assert parse_retry_after(header, now) == expected
