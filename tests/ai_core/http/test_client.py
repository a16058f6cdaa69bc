"""The HTTP client against a real loopback server: answers, pooling, limits and concurrency."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ai_core.http import (
    BROWSER_PROFILES,
    AsyncHttpClient,
    FetchError,
    HttpClientConfig,
    ResponseTooLarge,
)
from ai_core.http.client import request_url
from tests.ai_core.http.fault_server import Fault, FaultServer

FAST = HttpClientConfig(timeout_s=2, retry_backoff_s=0.01, max_backoff_s=0.02, workers=4)


def test_success_returns_verbatim_body_parsed_data_and_request_facts(
    fault_server: FaultServer,
) -> None:
    async def go() -> None:
        async with AsyncHttpClient(FAST) as client:
            r = await client.get_json(
                fault_server.url("/inv/results.json"), {"pageNumber": 3, "zip": "66952"}
            )
        assert r.status == 200
        assert r.url == fault_server.url("/inv/results.json") + "?pageNumber=3&zip=66952"
        assert r.params == {"pageNumber": 3, "zip": "66952"}
        assert r.data["query"] == "pageNumber=3&zip=66952"
        assert r.data["path"] == "/inv/results.json"
        assert orjson.loads(r.body) == r.data
        assert r.attempts == 1
        assert r.http_version == "HTTP/1.1"
        assert 0 < r.elapsed_s < 2
        assert r.fetched_at.tzinfo == dt.UTC
        assert abs((dt.datetime.now(dt.UTC) - r.fetched_at).total_seconds()) < 5

    asyncio.run(go())


def test_sequential_requests_reuse_one_connection(fault_server: FaultServer) -> None:
    async def go() -> list[int]:
        async with AsyncHttpClient(FAST) as client:
            return [
                (await client.get_json(fault_server.url("/p"), {"i": i})).data["n"]
                for i in range(25)
            ]

    assert asyncio.run(go()) == list(range(1, 26))
    assert fault_server.connections == 1


def test_concurrent_requests_open_at_most_workers_connections(fault_server: FaultServer) -> None:
    fault_server.always("/slow", Fault.ok(delay_s=0.02))

    async def go() -> None:
        async with AsyncHttpClient(FAST) as client:
            await asyncio.gather(*(client.get_json(fault_server.url("/slow")) for _ in range(40)))

    asyncio.run(go())
    assert fault_server.requests == 40
    assert fault_server.connections == FAST.workers


@pytest.mark.parametrize("workers", [1, 3, 7])
def test_requests_in_flight_never_exceed_workers(fault_server: FaultServer, workers: int) -> None:
    fault_server.always("/slow", Fault.ok(delay_s=0.03))
    config = FAST.model_copy(update={"workers": workers})

    async def go() -> None:
        async with AsyncHttpClient(config) as client:
            await asyncio.gather(
                *(client.get_json(fault_server.url("/slow"), {"i": i}) for i in range(3 * workers))
            )

    asyncio.run(go())
    assert fault_server.requests == 3 * workers
    assert fault_server.max_in_flight == workers


@pytest.mark.parametrize("status", [503, 429])
def test_backoff_wait_does_not_hold_a_worker_slot_and_a_429_pauses_the_host(
    fault_server: FaultServer, status: int
) -> None:
    fault_server.script("/throttled", Fault.status_code(status, retry_after="1"))
    config = FAST.model_copy(update={"workers": 1})

    async def go() -> float:
        async with AsyncHttpClient(config) as client:
            throttled = asyncio.create_task(client.get_json(fault_server.url("/throttled")))
            # The one slot is taken, or its answer is in and its wait has begun: either way the
            # free page goes out after the first answer.
            await asyncio.sleep(0.05)
            await client.get_json(fault_server.url("/free"))
            return (await throttled).elapsed_s

    assert asyncio.run(go()) >= 1.0
    first = fault_server.arrivals[0]
    (free,) = [a for a in fault_server.arrivals if a.path == "/free"]
    assert first.path == "/throttled" and len(fault_server.arrivals) == 3
    # A failing page's wait is its own; a 429's holds every request to the host.
    if status == 503:
        assert free.at - first.at < 0.5
    else:
        assert free.at - first.at >= 0.9


def test_a_cookie_the_upstream_sets_is_sent_back_and_answers_without_one_keep_it(
    fault_server: FaultServer,
) -> None:
    fault_server.script(
        "/p", Fault.ok(), Fault("ok", headers=(("Set-Cookie", "bm=abc; Path=/"),)), Fault.ok()
    )

    async def go() -> None:
        async with AsyncHttpClient(FAST) as client:
            for i in range(4):
                await client.get_json(fault_server.url("/p"), {"i": i})

    asyncio.run(go())
    assert [r.headers.get("cookie") for r in fault_server.seen] == [None, None, "bm=abc", "bm=abc"]


@settings(max_examples=200, deadline=None)
@given(
    path=st.sampled_from(["/a", "/a/b.json", "/x%20y", "/", ""]),
    params=st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.one_of(st.text(max_size=12), st.integers(-(10**6), 10**6)),
        max_size=6,
    ),
)
def test_request_url_is_the_url_httpx_builds_from_url_and_params(
    path: str, params: dict[str, str | int]
) -> None:
    url = f"https://www.jeep.com{path}"
    built = httpx.AsyncClient().build_request("GET", url, params=params or None).url
    assert request_url(url, params) == built
    assert str(request_url(url, params)) == str(built)


def test_request_url_with_a_query_already_there_is_the_url_httpx_builds() -> None:
    url = "https://www.jeep.com/a?zip=1&b=2#top"
    built = httpx.AsyncClient().build_request("GET", url, params={"zip": 5, "c": "x y"}).url
    assert str(request_url(url, {"zip": 5, "c": "x y"})) == str(built)


def test_headers_rotate_round_robin_across_browser_profiles(fault_server: FaultServer) -> None:
    n = len(BROWSER_PROFILES)

    async def go(rotate: bool) -> None:
        config = FAST.model_copy(update={"rotate_headers": rotate})
        async with AsyncHttpClient(config) as client:
            for _ in range(2 * n):
                await client.get_json(fault_server.url("/h"))

    asyncio.run(go(True))
    agents = [seen.headers["user-agent"] for seen in fault_server.seen]
    assert agents == [p["User-Agent"] for p in BROWSER_PROFILES] * 2
    chrome = fault_server.seen[0].headers
    assert chrome["sec-ch-ua-platform"] == '"Windows"'
    assert "Google Chrome" in chrome["sec-ch-ua"]
    assert chrome["accept-language"] == "en-US,en;q=0.9"
    assert "sec-ch-ua" not in fault_server.seen[3].headers  # Firefox sends no client hints

    fault_server.seen.clear()
    asyncio.run(go(False))
    assert {seen.headers["user-agent"] for seen in fault_server.seen} == {
        BROWSER_PROFILES[0]["User-Agent"]
    }


def test_404_fails_at_once_without_retry(fault_server: FaultServer) -> None:
    fault_server.always("/gone", Fault.status_code(404))

    async def go() -> None:
        async with AsyncHttpClient(FAST) as client:
            await client.get_json(fault_server.url("/gone"), {"a": 1}, label="dealers of jeep.com")

    with pytest.raises(FetchError) as caught:
        asyncio.run(go())
    err = caught.value
    assert fault_server.requests == 1
    assert (err.attempts, err.status, err.cause) == (1, 404, "HTTP 404")
    assert err.url == fault_server.url("/gone") + "?a=1"
    assert str(err).startswith("dealers of jeep.com failed with HTTP 404 on attempt 1")
    assert "not retried" in str(err)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_past_the_size_cap_is_aborted_and_not_retried(
    fault_server: FaultServer, chunked: bool
) -> None:
    fault_server.always("/big", Fault.big(100_000, chunked=chunked))
    config = FAST.model_copy(update={"max_response_bytes": 50_000})

    async def go() -> None:
        async with AsyncHttpClient(config) as client:
            await client.get_json(fault_server.url("/big"), label="public_inventory page 2")

    with pytest.raises(ResponseTooLarge) as caught:
        asyncio.run(go())
    assert fault_server.requests == 1
    assert caught.value.limit_bytes == 50_000
    assert caught.value.attempts == 1
    assert "public_inventory page 2" in str(caught.value)
    assert "max_response_bytes=50000" in str(caught.value)


def test_body_at_the_size_cap_is_accepted(fault_server: FaultServer) -> None:
    fault_server.always("/big", Fault.big(50_000, chunked=True))
    config = FAST.model_copy(update={"max_response_bytes": 50_000})

    async def go() -> int:
        async with AsyncHttpClient(config) as client:
            return len((await client.get_json(fault_server.url("/big"))).body)

    assert asyncio.run(go()) == 50_000


def test_client_must_be_opened_before_use() -> None:
    async def go() -> None:
        await AsyncHttpClient(FAST).get_json("http://127.0.0.1:9/")

    with pytest.raises(RuntimeError, match="not open"):
        asyncio.run(go())
