"""Fetch paged sub-resources through one worker pool, yielding each sub-resource whole and in order.

Fetching one sub-resource at a time leaves workers idle twice per sub-resource: while its first
page (which tells the page count) is in flight, and while its last few pages finish. At 0.3 s a
page and dozens of sub-resources that idle time adds up to more than the pages themselves. So all
pages of all sub-resources go through one priority queue: a sub-resource's first page is fetched
while the previous one's pages are still being fetched, and workers move on to the next
sub-resource's pages as soon as the current one has none left. Results are still yielded one whole
sub-resource at a time, in order, and workers never run more than `max_ahead` sub-resources ahead
of the consumer, so memory is bounded by a few sub-resources whatever the fan-out.
"""

from __future__ import annotations

import asyncio
import heapq
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ai_core.http.client import AsyncHttpClient, JsonResponse
from ai_core.raw.result import RawFetchResult, RawPage


@dataclass(frozen=True, slots=True)
class PageContent:
    """What a fetcher learns from one parsed page: the reported total and the records' keys."""

    total: int | None
    record_keys: Sequence[str]


class PagedSubResource(Protocol):
    """One sub-resource of an upstream source, for example one brand's model-year code."""

    key: str
    page_size: int
    max_records: int | None

    def request(self, page: int) -> tuple[str, Mapping[str, str | int]]:
        """The URL and query parameters of a page (1-based)."""
        ...

    def label(self, page: int) -> str:
        """How errors name this page, e.g. `public_inventory page 37 of jeep.com/IUJ202610`."""
        ...

    def validate(self, data: Any) -> None:
        """Raise `RetryableResponse` when the payload says the upstream failed."""
        ...

    def read(self, data: Any) -> PageContent:
        """The reported total (None for an unpaged resource) and the keys of the page's records."""
        ...


@dataclass(slots=True)
class _Progress:
    sub: PagedSubResource
    pages: dict[int, RawPage] = field(default_factory=dict)
    totals: list[int] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    records: int = 0
    retries: int = 0
    outstanding: int = 0
    planned_last: int = 1
    done: bool = False

    def result(self) -> RawFetchResult:
        totals = sorted(set(self.totals))
        expected = max(set(self.totals), key=self.totals.count) if self.totals else None
        stats: dict[str, object] = {
            "pages": len(self.pages),
            "records": self.records,
            "distinct_records": len(self.keys),
            "expected_records": expected,
            "reported_totals": totals,
            "retries": self.retries,
        }
        return RawFetchResult(self.sub.key, list(self.pages.values()), stats)


async def fetch_paged(
    client: AsyncHttpClient,
    subs: Sequence[PagedSubResource],
    *,
    workers: int,
    max_ahead: int = 2,
) -> AsyncIterator[RawFetchResult]:
    """Yield one `RawFetchResult` per sub-resource, in the order given.

    Page 1 of each sub-resource tells how many pages follow. When the last planned page is full
    (the total drifted down while paging) the next page is fetched too, until a short page.
    A page that fails for good raises the client's `FetchError`, cancelling the other workers.
    """
    progress = [_Progress(sub) for sub in subs]
    # Page 1 of sub-resource j sorts just after page 1 of j-1, ahead of j-1's other pages, so the
    # page count of the next sub-resource is known before the current one runs out of pages.
    queue: list[tuple[int, int, int, int]] = [(j - 1, 1, j, 1) for j in range(len(subs))]
    heapq.heapify(queue)
    for p in progress:
        p.outstanding = 1
    next_to_yield = 0
    changed = asyncio.Condition()
    failure: list[BaseException] = []

    def enqueue(j: int, page: int) -> None:
        heapq.heappush(queue, (j, page, j, page))
        progress[j].outstanding += 1

    def on_page(j: int, page: int, response: JsonResponse) -> None:
        prog = progress[j]
        sub = prog.sub
        content = sub.read(response.data)
        prog.pages[page] = RawPage(
            page, response.url, response.params, response.status, response.body, response.fetched_at
        )
        prog.records += len(content.record_keys)
        prog.keys.update(content.record_keys)
        prog.retries += response.attempts - 1
        if content.total is not None:
            prog.totals.append(content.total)
        if page == 1 and content.total is not None:
            wanted = content.total
            if sub.max_records is not None:
                wanted = min(wanted, sub.max_records)
            prog.planned_last = max(1, math.ceil(wanted / sub.page_size))
            for extra in range(2, prog.planned_last + 1):
                enqueue(j, extra)
        capped = sub.max_records is not None and page * sub.page_size >= sub.max_records
        if page >= prog.planned_last and len(content.record_keys) >= sub.page_size and not capped:
            prog.planned_last = page + 1
            enqueue(j, page + 1)
        prog.outstanding -= 1
        prog.done = prog.outstanding == 0

    async def worker() -> None:
        while True:
            async with changed:
                while True:
                    if failure:
                        return
                    # A first page is one small page; letting it past the window keeps the
                    # next page count known without holding more than `max_ahead` bodies.
                    if queue and (queue[0][3] == 1 or queue[0][2] < next_to_yield + max_ahead):
                        _, _, j, page = heapq.heappop(queue)
                        break
                    if not queue and all(p.done for p in progress):
                        return
                    await changed.wait()
            sub = progress[j].sub
            url, params = sub.request(page)
            try:
                response = await client.get_json(
                    url, params, validate=sub.validate, label=sub.label(page)
                )
            except BaseException as exc:
                async with changed:
                    failure.append(exc)
                    changed.notify_all()
                return
            async with changed:
                on_page(j, page, response)
                changed.notify_all()

    tasks = [asyncio.create_task(worker()) for _ in range(max(1, workers))]
    try:
        while next_to_yield < len(progress):
            async with changed:
                while not failure and not progress[next_to_yield].done:
                    await changed.wait()
                if failure:
                    raise failure[0]
                finished = progress[next_to_yield]
                next_to_yield += 1
                changed.notify_all()
            result = finished.result()
            finished.pages = {}
            finished.keys = set()
            yield result
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
