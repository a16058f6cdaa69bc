"""The sync bridge: async work on its own loop thread, and bounded streaming to a sync consumer."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator

import pytest

from ai_core.http import AsyncHttpClient, HttpClientConfig, iterate_in_thread, run_async
from tests.ai_core.http.fault_server import FaultServer


def loop_threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"{name}-loop"]


def test_run_async_returns_the_result_of_a_real_fetch(fault_server: FaultServer) -> None:
    async def fetch() -> list[int]:
        async with AsyncHttpClient(HttpClientConfig(workers=2)) as client:
            pages = await asyncio.gather(
                *(client.get_json(fault_server.url("/p"), {"page": i}) for i in range(6))
            )
            return sorted(int(p.data["query"].split("=")[1]) for p in pages)

    assert run_async(fetch, timeout_s=10) == [0, 1, 2, 3, 4, 5]


def test_run_async_works_while_the_caller_runs_a_loop() -> None:
    async def inner() -> str:
        await asyncio.sleep(0)
        return threading.current_thread().name

    async def outer() -> str:
        return run_async(inner, timeout_s=5, name="nested")

    assert asyncio.run(outer()) == "nested-loop"


def test_run_async_propagates_the_exception() -> None:
    async def boom() -> None:
        raise KeyError("missing page")

    with pytest.raises(KeyError, match="missing page"):
        run_async(boom, timeout_s=5)


def test_run_async_times_out_and_cancels_the_work() -> None:
    cleaned = threading.Event()

    async def hang() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            cleaned.set()

    started = time.perf_counter()
    with pytest.raises(TimeoutError, match=r"slow fetch did not finish within 0\.3 s"):
        run_async(hang, timeout_s=0.3, name="slow fetch")
    assert time.perf_counter() - started < 3
    assert cleaned.is_set()
    assert not loop_threads("slow fetch")


def test_items_arrive_in_order_as_they_are_produced() -> None:
    async def produce() -> AsyncIterator[tuple[int, float]]:
        for i in range(4):
            await asyncio.sleep(0.2)
            yield i, time.perf_counter()

    got: list[int] = []
    for i, produced_at in iterate_in_thread(produce, maxsize=4, timeout_s=10):
        # Each item reaches the consumer at once, not after the whole stream has been produced.
        assert time.perf_counter() - produced_at < 0.15
        got.append(i)
    assert got == [0, 1, 2, 3]


@pytest.mark.parametrize("maxsize", [1, 3])
def test_producer_waits_when_the_buffer_is_full(maxsize: int) -> None:
    produced: list[int] = []

    async def produce() -> AsyncIterator[int]:
        for i in range(20):
            produced.append(i)
            yield i

    ahead: list[int] = []
    for i in iterate_in_thread(produce, maxsize=maxsize, timeout_s=10):
        time.sleep(0.02)  # a slow consumer: the producer must not run away from it
        ahead.append(len(produced) - (i + 1))
    # Besides the item in hand: up to `maxsize` buffered and one produced awaiting space.
    assert max(ahead) <= maxsize + 1
    assert max(ahead) >= maxsize
    assert produced == list(range(20))


def test_producer_exception_reaches_the_consumer_after_earlier_items() -> None:
    async def produce() -> AsyncIterator[int]:
        yield 1
        yield 2
        raise ValueError("page 3 could not be parsed")

    got: list[int] = []
    with pytest.raises(ValueError, match="page 3 could not be parsed"):
        for item in iterate_in_thread(produce, maxsize=1, timeout_s=10):
            got.append(item)
    assert got == [1, 2]


def test_abandoning_the_iterator_cancels_the_producer() -> None:
    closed = threading.Event()
    produced: list[int] = []

    async def produce() -> AsyncIterator[int]:
        try:
            for i in range(1000):
                produced.append(i)
                yield i
                await asyncio.sleep(0.01)
        finally:
            closed.set()

    stream = iterate_in_thread(produce, maxsize=2, timeout_s=10, name="abandoned")
    assert next(stream) == 0
    stream.close()
    assert closed.is_set()
    assert not loop_threads("abandoned")
    assert len(produced) <= 4


def test_breaking_out_of_a_for_loop_cancels_the_producer() -> None:
    closed = threading.Event()

    async def produce() -> AsyncIterator[int]:
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    for item in iterate_in_thread(produce, maxsize=1, timeout_s=10, name="broken"):
        if item == 2:
            break
    assert closed.wait(5)
    assert not loop_threads("broken")


def test_iteration_times_out_on_a_stalled_producer() -> None:
    closed = threading.Event()

    async def produce() -> AsyncIterator[int]:
        try:
            yield 1
            await asyncio.sleep(30)
            yield 2
        finally:
            closed.set()

    got: list[int] = []
    started = time.perf_counter()
    with pytest.raises(TimeoutError, match=r"stalled stream did not finish within 0\.3 s"):
        for item in iterate_in_thread(produce, timeout_s=0.3, name="stalled stream"):
            got.append(item)
    assert got == [1]
    assert time.perf_counter() - started < 3
    assert closed.is_set()


def test_maxsize_must_be_positive() -> None:
    async def produce() -> AsyncIterator[int]:
        yield 1

    with pytest.raises(ValueError, match="maxsize must be at least 1"):
        list(iterate_in_thread(produce, maxsize=0))
