"""The served day's rendered brands and radius searches, built once in a worker thread.

Builds run off the event loop (Polars releases the GIL), one at a time, and concurrent requests
for the same piece share one build. Only the current date is kept: switching days drops the old
day before building the new one, so memory never holds two national days.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import TypeVar

from standin.stellantis.sites.catalog import BRANDS
from standin.stellantis.sites.world import BrandDay, Search, World

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")
SearchKey = tuple[str, float, float, float]
"""(domain, latitude, longitude, radius) of a search."""

MAX_SEARCHES = 24


class DayCache:
    def __init__(self, world: World, day: dt.date) -> None:
        self.world = world
        self.day = day
        self._days: dict[str, asyncio.Task[BrandDay]] = {}
        self._searches: OrderedDict[SearchKey, asyncio.Task[Search]] = OrderedDict()
        self._lock = asyncio.Lock()
        self.build_seconds = 0.0
        self.build_cpu_seconds = 0.0
        self.builds = 0

    async def _build(self, work: Callable[[], T]) -> T:
        async with self._lock:
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return await asyncio.to_thread(work)
            finally:
                self.build_seconds += time.perf_counter() - wall
                self.build_cpu_seconds += time.process_time() - cpu
                self.builds += 1

    def brand_day(self, domain: str) -> Awaitable[BrandDay]:
        task = self._days.get(domain)
        if task is None:
            day = self.day
            task = asyncio.ensure_future(self._build(lambda: self.world.brand_day(domain, day)))
            task.add_done_callback(lambda t: self._forget_failed(self._days, domain, t))
            self._days[domain] = task
        return task

    @staticmethod
    def _forget_failed(
        tasks: MutableMapping[K, asyncio.Task[V]], key: K, task: asyncio.Task[V]
    ) -> None:
        # A failed build must not answer every later request with the same error.
        if not task.cancelled() and task.exception() is not None and tasks.get(key) is task:
            del tasks[key]

    def search(self, key: SearchKey) -> Awaitable[Search]:
        task = self._searches.get(key)
        if task is not None:
            self._searches.move_to_end(key)
            return task
        domain, lat, lon, radius = key

        async def run() -> Search:
            brand_day = await self.brand_day(domain)
            return await self._build(lambda: self.world.search(brand_day, lat, lon, radius))

        task = asyncio.ensure_future(run())
        task.add_done_callback(lambda t: self._forget_failed(self._searches, key, t))
        self._searches[key] = task
        while len(self._searches) > MAX_SEARCHES:
            self._searches.popitem(last=False)
        return task

    def search_keys(self) -> list[SearchKey]:
        return list(self._searches)

    def switch(self, day: dt.date) -> None:
        """Serve `day` from now on; pieces of the old day are dropped."""
        if day != self.day:
            self.day = day
            self._days.clear()
            self._searches.clear()

    async def warm(self, searches: Iterable[SearchKey] = ()) -> None:
        """Build every brand of the day and the given searches before they are asked for."""
        for brand in BRANDS:
            await self.brand_day(brand.domain)
        for key in searches:
            await self.search(key)
