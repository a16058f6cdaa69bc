"""Run asynchronous fetch work from synchronous code such as a Dagster op or IO manager.

The work runs on its own event loop in a dedicated thread, so it never collides with a loop the
caller may already run. `iterate_in_thread` hands items over through a bounded buffer: the sync
consumer gets each item as soon as it is produced, the producer awaits (without blocking its
loop, so in-flight requests keep going) while the buffer is full, errors reach the consumer, and
leaving the loop early cancels the producer. Internal waits are bounded; `timeout_s` bounds the
whole workload.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import Any, Generic, TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)

STARTUP_TIMEOUT_S = 30.0
"""How long a new event-loop thread may take to start running."""
SHUTDOWN_TIMEOUT_S = 30.0
"""How long a cancelled workload may take to unwind (close clients, run `finally` blocks)."""
_POLL_S = 0.5  # waits without a deadline still wake this often to check the thread is alive
_GRACE_S = 1.0


class _LoopThread(Generic[T]):
    """One coroutine run to completion by `asyncio.run` on a daemon thread."""

    def __init__(self, main: Callable[[], Awaitable[T]], name: str) -> None:
        self.name = name
        self.result: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._main = main
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{name}-loop", daemon=True)
        self._thread.start()
        if not self._ready.wait(STARTUP_TIMEOUT_S):
            raise RuntimeError(f"{name}: event-loop thread did not start in {STARTUP_TIMEOUT_S} s")

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None  # set before the constructor returns
        return self._loop

    def _run(self) -> None:
        try:
            value = asyncio.run(self._enter())
        except BaseException as exc:  # handed to the waiting thread
            self.result.set_exception(exc)
        else:
            self.result.set_result(value)
        finally:
            self._ready.set()

    async def _enter(self) -> T:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._ready.set()
        return await self._main()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def cancel_and_join(self, timeout_s: float = SHUTDOWN_TIMEOUT_S) -> None:
        """Cancel the coroutine if still running and wait (bounded) for the thread to end."""
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not task.done():
            # RuntimeError: the loop closed in the meantime, so nothing is left to cancel.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.warning(
                "%s: the event-loop thread did not stop within %s s of cancellation; "
                "it is a daemon thread and ends with the process",
                self.name,
                timeout_s,
            )


def run_async(
    coro_factory: Callable[[], Awaitable[T]],
    timeout_s: float | None,
    *,
    name: str = "async workload",
) -> T:
    """Run `coro_factory()` on a fresh event loop in a dedicated thread and return its result.

    Raises what the coroutine raises, or `TimeoutError` after `timeout_s` (None: no deadline), in
    which case the coroutine is cancelled and given time to clean up.
    """
    deadline = _Deadline(timeout_s)

    async def main() -> T:
        scope = asyncio.timeout(timeout_s)
        try:
            async with scope:
                return await coro_factory()
        except TimeoutError:
            if scope.expired():
                raise deadline.error(name) from None
            raise

    runner = _LoopThread(main, name)
    try:
        while True:
            remaining = deadline.remaining()
            # The grace period past the deadline lets the loop's own time-out unwind first.
            slice_s = _POLL_S if remaining is None else min(_POLL_S, remaining + _GRACE_S)
            concurrent.futures.wait([runner.result], timeout=max(0.0, slice_s))
            if runner.result.done():
                return runner.result.result()
            if remaining is not None and remaining + _GRACE_S <= 0:
                raise deadline.error(name)
            if not runner.alive() and not runner.result.done():
                raise RuntimeError(f"{name}: event-loop thread ended without a result")
    finally:
        runner.cancel_and_join()


_ITEM, _END, _ERROR = 0, 1, 2


def iterate_in_thread(
    async_gen_factory: Callable[[], AsyncIterator[T]],
    maxsize: int = 1,
    timeout_s: float | None = None,
    *,
    name: str = "async stream",
) -> Generator[T, None, None]:
    """Yield the items of `async_gen_factory()`, produced on a dedicated event-loop thread.

    At most `maxsize` items wait in the buffer; the producer pauses until the consumer takes one.
    An exception in the producer is raised here after the items produced before it. Closing or
    abandoning this iterator cancels the producer (its `finally` blocks run). `timeout_s` bounds
    the whole iteration (None: no deadline) and raises `TimeoutError` when passed.
    """
    if maxsize < 1:
        raise ValueError(f"iterate_in_thread: maxsize must be at least 1, got {maxsize}")
    handoff: queue.SimpleQueue[tuple[int, Any]] = queue.SimpleQueue()
    space_ready = threading.Event()
    holder: list[asyncio.Semaphore] = []

    async def produce() -> None:
        # Created on the producer's loop: an asyncio primitive belongs to one loop.
        space = asyncio.Semaphore(maxsize)
        holder.append(space)
        space_ready.set()
        try:
            source = async_gen_factory()
            try:
                async for item in source:
                    await space.acquire()
                    handoff.put((_ITEM, item))
            finally:
                aclose = getattr(source, "aclose", None)
                if aclose is not None:
                    await aclose()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # re-raised in the consumer
            handoff.put((_ERROR, exc))
            return
        handoff.put((_END, None))

    deadline = _Deadline(timeout_s)
    runner = _LoopThread(produce, name)
    try:
        if not space_ready.wait(STARTUP_TIMEOUT_S):
            raise RuntimeError(f"{name}: the producer did not start in {STARTUP_TIMEOUT_S} s")
        space = holder[0]
        while True:
            kind, value = _next_message(handoff, runner, deadline, name)
            if kind == _END:
                return
            if kind == _ERROR:
                raise value
            # RuntimeError: the producer has finished and its loop is closed, no one to wake.
            with contextlib.suppress(RuntimeError):
                runner.loop.call_soon_threadsafe(space.release)
            yield value
    finally:
        runner.cancel_and_join()


def _next_message(
    handoff: queue.SimpleQueue[tuple[int, Any]],
    runner: _LoopThread[Any],
    deadline: _Deadline,
    name: str,
) -> tuple[int, Any]:
    while True:
        remaining = deadline.remaining()
        if remaining is not None and remaining <= 0:
            raise deadline.error(name)
        try:
            return handoff.get(timeout=_POLL_S if remaining is None else min(_POLL_S, remaining))
        except queue.Empty:
            pass
        if not runner.alive() and handoff.empty():
            exc = runner.result.exception() if runner.result.done() else None
            raise RuntimeError(f"{name}: the producer stopped without finishing") from exc


class _Deadline:
    def __init__(self, timeout_s: float | None) -> None:
        self.timeout_s = timeout_s
        self._at = None if timeout_s is None else time.monotonic() + timeout_s

    def remaining(self) -> float | None:
        return None if self._at is None else self._at - time.monotonic()

    def passed(self) -> bool:
        return self._at is not None and time.monotonic() >= self._at

    def error(self, name: str) -> TimeoutError:
        return TimeoutError(
            f"{name} did not finish within {self.timeout_s:g} s and was cancelled; "
            "raise the time-out or look for a stalled upstream, then rerun"
        )
