"""Fetch paged sub-resources through one worker pool, yielding them in order, in bounded chunks.

Fetching one sub-resource at a time leaves workers idle twice per sub-resource: while its first
page (which tells the page count) is in flight, and while its last few pages finish. Over dozens
of sub-resources that idle time adds up. So all pages of all sub-resources go
through one priority queue: a sub-resource's first page is fetched while the previous one's pages
are still being fetched, and workers move on to the next sub-resource's pages as soon as the
current one has none left.

Results are yielded in sub-resource order and page order. A sub-resource is one
`RawFetchResult`, or several when it has more than `chunk_pages` pages (a national model line
has about a thousand), and workers stop taking pages while `2 × chunk_pages` fetched pages wait
to be written (pages of the sub-resource being emitted, which the consumer is waiting for, are
always fetched). Memory is therefore bounded by the chunk size, whatever the fan-out or the size
of one sub-resource.

A page that still fails once the client gives up on it (its retries or its deadline spent) does
not stop the day: it becomes a page with `error` set and an empty body, in its place, and the
other pages go on. A page 1 that fails leaves its sub-resource with that one page. A watchdog
gives up when requests are in flight and none has finished for `stall_s` (a host answering
429 is not stalled: the client bounds a rate-limit block itself): every page in flight,
queued or planned becomes a failed page, up to `NOT_ASKED_ROWS` planned pages a sub-resource,
the last of which names any past them. A reporter hands a `FetchProgress` to `on_progress`
every `progress_every_s`.

Inventory can move while it is paged: a record leaving the listing ahead of a page boundary
shifts the later pages back, so when the page after the boundary is answered after the move
and the page before it was answered before, the record at the boundary is on neither (a record
added ahead does the same when the two are answered the other way round). The two pages then
report different totals. Once a sub-resource's pages are all in, the pages from the first such
boundary to the last are fetched again, and again while some boundary has no two copies, one
of each page, reporting one total (`MAX_AGAIN_ROUNDS`; at most as many pages as the first pass).
The new copies are stored beside the first ones (the transformed tier keeps the later copy of a
record); a new copy that fails is dropped and the first copy stands.

A server may cap the page size below the one asked. When page 1 holds fewer records than asked
and fewer than its total, page 2 is fetched first: if it holds records not on page 1, page 1's
count is the server's page size and plans the other pages; if it is empty, the total had
drifted, and if it repeats page 1, the server ignores the page number. If page 2 fails, the
other pages are planned by page 1's count: at worst they are empty answers. A run of pages that
only repeat page 1 ends the pass (below).

A total plans the pages but is not trusted to be sane: a sub-resource's planned pages are queued
one at a time, as workers take them, so a total of any size costs no memory, and the pass ends
after `BLANK_RUN` planned pages in a row answer empty (a page past the end answers so), hold
only records of page 1 (a server that ignores the page number) or fail with a status that says
there is no such page (`NO_SUCH_PAGE`: a search backend refusing offsets past its deepest), past
the pages then in flight or queued. A page of new records answered after such pages shows they
were not the end: the pass goes on to its plan, and the ones that answered are fetched again with
the pages where the listing moved (failed ones stay failed, unless the listing moved around
them: a failed page whose copy fetched again arrives counts as fetched). When one is not, or
its new copy does not arrive, the summary names it (`blank_unconfirmed`). The completeness
check then weighs what was served against the total.

A whole list (a page that reports no total) ends at its first page that is not full. A page 1
short of the size asked may have been cut by the server, so page 2 is asked too, where the
request names a page (`numbered_pages`): a page 2 with records not on page 1 means page 1's
count is the server's page size, and the list goes on to its first short page, or to a page that
adds no record not already seen (a server that ignores the page number answers page 1 again).
After a short page 1, a page 2 that fails is not kept: no contract says what a page past a
whole list answers, and one that fails there must not cost the list page 1 holds. The summary
says so (`end_unconfirmed`), since the list may then hold only the server's page size. After a
full page 1 the list goes on, and a page 2 that fails is kept as failed like any other.

Whether a page is full counts every entry of its list, keyed or not; the records, and the page
size the boundaries above take, count keys, as the completeness check does. A whole list's page
after page 1 whose entries all lack a key cannot be told from a repeat, and ends the list.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from ai_core.http.client import AsyncHttpClient, JsonResponse
from ai_core.http.errors import FetchError
from ai_core.http.redact import redact_params, redact_url
from ai_core.raw.result import PageFailure, RawFetchResult, RawPage, SubResourceSummary

DEFAULT_CHUNK_PAGES = 100
PROGRESS_EVERY_S = 10.0
FAILURE_SAMPLES = 20
MAX_AGAIN_ROUNDS = 3
"""Times the pages of a sub-resource whose listing moved while paged are fetched again at most."""
BLANK_RUN = 5
"""Planned pages in a row that must answer empty, with only page 1's records, or as no such page
(`NO_SUCH_PAGE`) to end a pass before its total's plan: a shorter run of glitched answers does
not end it."""
NO_SUCH_PAGE = frozenset({400, 404, 410, 416, 422})
"""Statuses of a page that failed because the server holds no such page: past the last page of
new records, each counts toward a `BLANK_RUN` as an empty page does. A 5xx, a 429 or a time-out
says nothing of the listing, so a run of them does not end a pass."""
NOT_ASKED_ROWS = 10_000
"""A given-up sub-resource's planned pages never asked are stored as failed pages, one row a page
up to this many; the last names any past it, so a total of any size stays a few megabytes."""


@dataclass(frozen=True, slots=True)
class PageContent:
    """What a fetcher learns from one parsed page: the reported total, which plans the pages,
    the records' keys, which count them, and how many entries the list holds, keyed or not,
    which says whether the page was full."""

    total: int | None
    record_keys: Sequence[str]
    entries: int


class PagedSubResource(Protocol):
    """One sub-resource of an upstream source, for example one brand's model-year code."""

    @property
    def key(self) -> str: ...

    @property
    def page_size(self) -> int: ...

    @property
    def max_records(self) -> int | None: ...

    @property
    def listed_records(self) -> int | None:
        """How many records the list this sub-resource was planned from gave it (a code list's
        `count`), or None when no list says. One listed with none may answer empty, and one
        listed with a few may have sold out (`CompletenessRule.may_sell_out_below`)."""
        ...

    @property
    def numbered_pages(self) -> bool:
        """Whether `request` asks for the page it is given. Without, there is only page 1."""
        ...

    @property
    def page_shape(self) -> type | None:
        """The parts of a page `validate` and `read` look at, as a TypedDict, or None for all.

        The client then builds only those parts of each page; a page not of that shape is parsed
        whole, so `validate` and `read` see it as they would without a shape.
        """
        ...

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
        """The reported total (None for a list that reports none), the keys of the page's
        records, and how many entries its list holds, keyed or not."""
        ...


@dataclass(frozen=True, slots=True)
class Unobservable:
    """A sub-resource known to be unavailable before any request (say, its parent list failed):
    stored as one failed page so the day records it as not observed."""

    key: str
    reason: str
    page_size: int = 1
    max_records: int | None = None
    listed_records: int | None = None
    page_shape: type | None = None
    numbered_pages: bool = False

    def request(self, page: int) -> tuple[str, Mapping[str, str | int]]:
        return "", {}

    def label(self, page: int) -> str:
        return self.key

    def validate(self, data: Any) -> None:
        return None

    def read(self, data: Any) -> PageContent:
        return PageContent(None, [], 0)


@dataclass(order=True, frozen=True, slots=True)
class QueuedPage:
    """A page waiting for a worker, ordered by when it should be fetched.

    Pages rank by (`rank`, `rank_page`): page 1 of sub-resource j ranks as (j - 1, 1), just after
    page 1 of j - 1 and ahead of j - 1's other pages, so the next sub-resource's page count is
    known before the current one runs out of pages. A page fetched again ranks by its slot,
    after its sub-resource's first pass.
    """

    rank: int
    rank_page: int
    sub: int
    """Index of the sub-resource in the plan."""
    page: int
    slot: int
    """Where the page is emitted: its number in the first pass, after them when fetched again."""

    @property
    def again(self) -> bool:
        return self.slot != self.page

    @classmethod
    def first(cls, sub: int) -> QueuedPage:
        return cls(sub - 1, 1, sub, 1, 1)

    @classmethod
    def later(cls, sub: int, page: int, slot: int | None = None) -> QueuedPage:
        slot = page if slot is None else slot
        return cls(sub, slot, sub, page, slot)


def agree(here: set[int], there: set[int], page: int, page_size: int) -> bool:
    """Whether `page`, whose copies reported the totals `here`, and the next page, whose copies
    reported `there`, were answered from one state of the listing: a total both report, or a 0
    beside a total the listing ends within. Some servers answer a page past the end with a total
    of 0; the page past a listing of `t` is empty when `t` fits the pages before it, and a 0 where
    it does not (a sale moved records onto a page already fetched) is a boundary to fetch again."""
    if not here.isdisjoint(there):
        return True
    return (0 in there and any(t <= page * page_size for t in here)) or (
        0 in here and any(t <= (page - 1) * page_size for t in there)
    )


@dataclass(slots=True)
class _Progress:
    sub: PagedSubResource
    pages: dict[int, RawPage | None] = field(default_factory=dict)
    """Fetched pages by slot; None for a page fetched again that did not arrive."""
    records: int = 0
    retries: int = 0
    fetched: int = 0
    failed: dict[int, str] = field(default_factory=dict)
    outstanding: int = 1
    """Pages queued or in flight and not yet answered."""
    planned_last: int = 1
    """The last page the total (or the pages so far, without one) plans."""
    blank: set[int] = field(default_factory=set)
    """Planned pages before the last that answered empty, with only page 1's records, or failed
    with a status in `NO_SUCH_PAGE`, past `newest`."""
    newest: int = 1
    """The last page of the first pass that brought records not on page 1."""
    cut: int | None = None
    """The last page of the first `BLANK_RUN` blank pages in a row, which ends the pass
    (`last_page`) until a page after them brings new records."""
    emptied: set[int] = field(default_factory=set)
    """Blank pages that a later page's new records showed were not the end: fetched again with
    the pages where the listing moved."""
    blank_unconfirmed: set[int] = field(default_factory=set)
    """Pages of `emptied` of which no new copy has arrived and read (not fetched again, as the
    watchdog gave up first, or every copy failed): records on them may be missing."""
    queued_through: int = 1
    """The last page of the first pass put in the queue: pages are queued one at a time, as the
    one before is taken, so a total of any size plans them without holding them."""
    waiting: int = 0
    """Pages of the first pass in the queue, not yet taken by a worker (0 or 1)."""
    next_to_emit: int = 1
    parts: int = 0
    served_page_size: int | None = None
    """The server's own page size, once page 2 confirmed it smaller than the one asked."""
    probe: int | None = None
    """Page 1's entries while page 2 tells whether they were the server's page size."""
    planning_size: int | None = None
    """Page 1's record count once it plans the pages: confirmed, or page 2 failed."""
    wanted: int = 0
    fullest: int = 0
    """The most keyed records any copy held, as the check counts them."""
    totals: dict[int, set[int]] = field(default_factory=dict)
    """The totals the copies of each page reported."""
    rounds: int = 0
    """Rounds of pages fetched again so far."""
    next_slot: int = 0
    """The slot of the next page fetched again, past the first pass's."""
    pages_again: int = 0
    """Copies fetched again that arrived and read."""
    again_failed: int = 0
    """Copies fetched again that did not: their pages' first copies stand."""
    recovered: int = 0
    """Pages failed in the first pass whose copy fetched again arrived: no longer `failed`."""
    unsettled: list[int] = field(default_factory=list)
    """Boundaries left unsettled (see `boundaries`) once no more pages could be fetched again."""
    whole: bool = False
    """Whether page 1 held records without a total, fewer than asked: page 2 tells the rest."""
    seen: set[str] = field(default_factory=set)
    """The keys of page 1 and of the pages without a total so far, until the last part is
    emitted."""
    end_unconfirmed: str | None = None
    """Why a whole list's page 2 failed, when it did (see the module docstring)."""

    @property
    def page_size(self) -> int:
        return self.planning_size or self.sub.page_size

    @property
    def last_page(self) -> int:
        """The last page of the first pass, as far as is known."""
        return self.planned_last if self.cut is None else min(self.cut, self.planned_last)

    def add_blank(self, page: int) -> None:
        """Add `page` to `blank`, and lower `cut` to the run it completes, if any."""
        self.blank.add(page)
        low = high = page
        while low - 1 in self.blank and page - low < BLANK_RUN:
            low -= 1
        while high + 1 in self.blank and high - page < BLANK_RUN:
            high += 1
        if high - low + 1 >= BLANK_RUN:
            end = low + BLANK_RUN - 1
            self.cut = end if self.cut is None else min(self.cut, end)

    def find_cut(self) -> None:
        """Set `cut` from `blank` afresh: the end of its first run of `BLANK_RUN` pages, if any."""
        runs = (p for p in sorted(self.blank) if all(p + k in self.blank for k in range(BLANK_RUN)))
        start = next(runs, None)
        self.cut = None if start is None else start + BLANK_RUN - 1

    @property
    def done(self) -> bool:
        return self.outstanding == 0 and self.queued_through >= self.last_page

    def boundaries(self) -> list[int]:
        """Pages whose copies and the next page's copies report no total in common (see
        `agree`): the two were answered from different states of the listing, and never from
        one."""
        # The fullest copy stands for the page size, as in the check: the size asked for is
        # too large where the server serves fewer and the probe could not tell.
        totals, size = self.totals, self.fullest
        return [
            p for p in sorted(totals) if not agree(totals[p], totals.get(p + 1, totals[p]), p, size)
        ]

    def moved(self) -> list[int]:
        """The pages from the first unsettled boundary to the last one, to fetch again."""
        edges = self.boundaries()
        return list(range(edges[0], edges[-1] + 2)) if edges else []

    def count(self, page: int, response: JsonResponse, content: PageContent) -> None:
        """Tally a copy of `page` that arrived and read."""
        self.fetched += 1
        self.records += len(content.record_keys)
        self.fullest = max(self.fullest, len(content.record_keys))
        self.retries += response.attempts - 1
        if content.total is not None:
            self.totals.setdefault(page, set()).add(content.total)

    def ready_run(self, chunk_pages: int) -> int:
        """How many pages from `next_to_emit` on can be emitted now (0: wait)."""
        run = 0
        while self.next_to_emit + run in self.pages and run < chunk_pages:
            run += 1
        if run == chunk_pages or (self.done and run == len(self.pages)):
            return run
        return 0

    def emit(self, n_pages: int) -> RawFetchResult:
        first = self.next_to_emit
        slots = [self.pages.pop(p) for p in range(first, first + n_pages)]
        self.next_to_emit += n_pages
        self.parts += 1
        last = self.done and not self.pages
        summary = self.summary() if last else None
        if last:
            self.seen.clear()
        pages = [p for p in slots if p is not None]
        return RawFetchResult(self.sub.key, pages, part=self.parts, summary=summary)

    def summary(self) -> SubResourceSummary:
        return SubResourceSummary(
            sub_resource=self.sub.key,
            pages=self.fetched,
            records=self.records,
            retries=self.retries,
            failed_pages=len(self.failed),
            served_page_size=self.served_page_size,
            pages_again=self.pages_again,
            pages_again_failed=self.again_failed,
            pages_recovered=self.recovered,
            unsettled_boundaries=tuple(self.unsettled),
            blank_unconfirmed=tuple(sorted(self.blank_unconfirmed)),
            end_unconfirmed=self.end_unconfirmed,
            failures=tuple(
                PageFailure(p, e) for p, e in sorted(self.failed.items())[:FAILURE_SAMPLES]
            ),
        )


@dataclass(frozen=True, slots=True)
class FetchProgress:
    """Where a fetch stands: what `on_progress` receives every `progress_every_s`."""

    pages_done: int
    pages_known: int
    failed_pages: int
    sub_resources_done: int
    sub_resources: int
    retries: int
    elapsed_s: float

    @property
    def rate(self) -> float:
        """Pages finished a second so far."""
        return self.pages_done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the rate so far, for the pages known so far."""
        return (self.pages_known - self.pages_done) / self.rate if self.rate > 0 else None

    def describe(self) -> str:
        eta = self.eta_s
        left = "" if eta is None else f", about {_duration(eta)} left"
        return (
            f"{self.pages_done:,} of {self.pages_known:,} pages known, "
            f"{self.sub_resources_done} of {self.sub_resources} sub-resources, "
            f"{self.rate:.1f} pages/s, {self.retries} retries, "
            f"{self.failed_pages} pages missing{left}"
        )


def _as_raw(page: int, response: JsonResponse, error: str | None = None) -> RawPage:
    """A page as the upstream answered it, kept verbatim."""
    return RawPage(
        page,
        response.url,
        response.params,
        response.status,
        response.body,
        response.fetched_at,
        error,
    )


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


async def fetch_paged(
    client: AsyncHttpClient,
    subs: Sequence[PagedSubResource],
    *,
    workers: int,
    chunk_pages: int = DEFAULT_CHUNK_PAGES,
    stall_s: float | None = None,
    on_progress: Callable[[FetchProgress], None] | None = None,
    progress_every_s: float = PROGRESS_EVERY_S,
) -> AsyncIterator[RawFetchResult]:
    """Yield the pages of every sub-resource, in order, as `RawFetchResult` chunks.

    Page 1 of each sub-resource plans the pages that follow (page 2 first when page 1 is short of
    its total, or of the size asked for a whole list), and a run of empty pages, repeats of
    page 1 or pages refused as no such page ends them early (see the module docstring). When the
    last planned page is full (the total drifted down while paging, or a whole list goes on) the
    next page is fetched too, until a short page or, for a whole list, one that adds no record.
    Pages where the listing moved are then fetched again, and come after the first pass.
    A page that fails for good (the client's `FetchError`, or a page `read` cannot make sense
    of) is yielded as a failed page; any other exception cancels the other workers and is raised.
    """
    progress = [_Progress(sub) for sub in subs]
    queue = [QueuedPage.first(j) for j in range(len(subs))]
    heapq.heapify(queue)
    budget = 2 * chunk_pages
    held = 0  # pages fetched or in flight and not yet emitted
    current = 0
    changed = asyncio.Condition()
    failure: list[BaseException] = []
    in_flight: dict[QueuedPage, tuple[str, Mapping[str, str | int]]] = {}
    gave_up: str | None = None  # why the watchdog gave up: no page is asked after it
    started = last_progress = time.monotonic()

    def plan(j: int, last: int) -> None:
        """Plan the first pass of sub-resource j through page `last`."""
        progress[j].planned_last = last
        top_up(j)

    def top_up(j: int) -> None:
        """Queue j's next planned page once none of its pages waits: the queue then ranks as if
        every planned page were in it, and a total of any size costs no memory."""
        prog = progress[j]
        if prog.waiting > 0 or prog.queued_through >= prog.last_page:
            return
        if gave_up is not None:
            skip_rest(j)
        else:
            prog.queued_through += 1
            heapq.heappush(queue, QueuedPage.later(j, prog.queued_through))
            prog.outstanding += 1
            prog.waiting += 1

    def skip_rest(j: int) -> None:
        """Once given up, record the planned pages of j past those queued as failed pages, up to
        `NOT_ASKED_ROWS`, the last naming any past it."""
        nonlocal held
        prog = progress[j]
        first, last = prog.queued_through + 1, prog.last_page
        named = min(last, first + NOT_ASKED_ROWS - 1)
        # The caller's page is still outstanding, so `settle` runs once, after it. The plan ends
        # at the last row, so progress counts the pages recorded, not the total's.
        prog.queued_through = prog.planned_last = named
        for page in range(first, named + 1):
            prog.outstanding += 1
            held += 1
            url, params = prog.sub.request(page)
            url = str(httpx.URL(url, params=params))
            error = str(gave_up)
            if page == named < last:
                error += f": pages {page} to {last} of {prog.sub.key} were not asked"
            on_failure(j, page, url, params, 0, error)

    def take() -> QueuedPage:
        """The next page to fetch, queueing the page after it."""
        taken = heapq.heappop(queue)
        if not taken.again and taken.page > 1:
            progress[taken.sub].waiting -= 1
            top_up(taken.sub)
        return taken

    def settle_probe(j: int, page_entries: int | None) -> None:
        """Plan the pages after page 2 of a short page 1, which held `page_entries` (None: it
        failed; 0: it added no record)."""
        prog = progress[j]
        size, prog.probe = prog.probe, None
        if size is None or page_entries == 0:
            # Page 1 was not short, or page 2 added nothing: the total had drifted up, or the
            # whole list was page 1.
            return
        if page_entries is not None:
            prog.served_page_size = size
        prog.planning_size = size
        plan(j, max(2, math.ceil(prog.wanted / size)))

    def keep_failed(j: int, raw: RawPage, error: str) -> None:
        """Keep a page that failed for good in its place; a failed page 2 still plans the rest,
        and one after a whole list's page 1 is dropped (module docstring)."""
        prog = progress[j]
        page = raw.page_number
        if page == 2 and prog.whole:
            prog.pages[2] = None
            prog.end_unconfirmed = error
            prog.outstanding -= 1
            settle(j)
            return
        prog.pages[page] = raw
        prog.failed[page] = error
        if page == 2:
            settle_probe(j, None)
        if raw.status in NO_SUCH_PAGE and prog.newest < page < prog.planned_last:
            prog.add_blank(page)
        prog.outstanding -= 1
        settle(j)

    def on_failure(
        j: int, page: int, url: str, params: Mapping[str, str | int], status: int, error: str
    ) -> None:
        nonlocal last_progress
        now = dt.datetime.now(dt.UTC)
        raw = RawPage(page, redact_url(url), redact_params(params), status, b"", now, error)
        keep_failed(j, raw, error)
        last_progress = time.monotonic()

    def settle(j: int) -> None:
        """Once every page of a sub-resource is in, fetch again the pages where the listing
        moved, while rounds remain and the pages fetched again stay within the first pass's."""
        prog = progress[j]
        if not prog.done:
            return
        # Unconfirmed until a new copy arrives (`on_again`).
        prog.blank_unconfirmed |= prog.emptied
        moved = sorted({*prog.moved(), *prog.emptied})
        prog.emptied.clear()
        if not moved:
            return
        room = prog.queued_through - prog.pages_again - prog.again_failed
        if gave_up is not None or prog.rounds >= MAX_AGAIN_ROUNDS or room < len(moved):
            prog.unsettled = prog.boundaries()
            return
        prog.rounds += 1
        prog.next_slot = max(prog.next_slot, prog.queued_through + 1)
        for page in moved:
            heapq.heappush(queue, QueuedPage.later(j, page, prog.next_slot))
            prog.next_slot += 1
            prog.outstanding += 1

    def on_again(j: int, queued: QueuedPage, response: JsonResponse | None) -> None:
        """Keep a new copy that arrived and reads; one that did not leaves its slot empty."""
        nonlocal last_progress
        last_progress = time.monotonic()
        prog = progress[j]
        prog.outstanding -= 1
        try:
            content = prog.sub.read(response.data) if response is not None else None
        except Exception:  # the first copy stands
            content = None
        if response is None or content is None:
            prog.pages[queued.slot] = None
            prog.again_failed += 1
        else:
            prog.pages[queued.slot] = _as_raw(queued.page, response)
            prog.count(queued.page, response, content)
            prog.pages_again += 1
            prog.blank_unconfirmed.discard(queued.page)
            # Its failed first copy stays stored; the check and downstream read it as fetched.
            if prog.failed.pop(queued.page, None) is not None:
                prog.recovered += 1
        settle(j)

    def on_page(j: int, page: int, response: JsonResponse) -> None:
        nonlocal last_progress
        last_progress = time.monotonic()
        prog = progress[j]
        sub = prog.sub
        try:
            content = sub.read(response.data)
        except Exception as exc:  # kept verbatim, marked unreadable, and the day goes on
            error = f"{sub.label(page)}: unreadable page ({type(exc).__name__}: {exc})"
            prog.retries += response.attempts - 1
            keep_failed(j, _as_raw(page, response, error), error)
            return
        prog.pages[page] = _as_raw(page, response)
        prog.count(page, response, content)
        entries = content.entries
        # Whether the page holds a record not seen before it: page 1's records for any list,
        # every page's for a whole list (a server that ignores the page number repeats them).
        adds = page == 1 or not prog.seen.issuperset(content.record_keys)
        if page == 1 or content.total is None:
            prog.seen.update(content.record_keys)
        if page == 1:
            total = content.total
            if total is not None:
                prog.wanted = total if sub.max_records is None else min(total, sub.max_records)
            asked = sub.page_size if total is None else min(sub.page_size, prog.wanted)
            if not sub.numbered_pages:
                pass  # there is only page 1
            elif 0 < entries < asked:
                # The server's page size, a total that drifted up, or a whole list: page 2 tells.
                prog.whole = total is None
                prog.probe = entries
                prog.planned_last = 2
            elif total is not None:
                prog.planned_last = max(1, math.ceil(prog.wanted / prog.page_size))
            top_up(j)
        elif page == 2:
            settle_probe(j, entries if adds else 0)
        if 1 < page < prog.planned_last and (entries == 0 or (content.record_keys and not adds)):
            # A page past the end answers empty, and a page of page 1's records alone comes from
            # a server that ignores the page number: the planned pages after a run of them would
            # hold nothing more, however large the total said the listing was. One before a page
            # that brought new records was not the end, and is asked again once the pass is in.
            if page < prog.newest:
                prog.emptied.add(page)
            else:
                prog.add_blank(page)
        elif page > 1 and adds:
            prog.newest = max(prog.newest, page)
            if early := {p for p in prog.blank if p < page}:
                prog.blank -= early
                prog.emptied |= early - prog.failed.keys()
                prog.find_cut()
                top_up(j)
        capped = sub.max_records is not None and page * prog.page_size >= sub.max_records
        more = entries >= prog.page_size and adds and sub.numbered_pages and not capped
        if page >= prog.last_page and more:
            plan(j, page + 1)
        prog.outstanding -= 1
        settle(j)

    async def worker() -> None:
        """`work`, with an error of its own handed to the consumer: a worker that ended
        silently would leave the others waiting for its page for ever."""
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            async with changed:
                failure.append(exc)
                changed.notify_all()

    async def work() -> None:
        nonlocal held
        while True:
            async with changed:
                while True:
                    if failure:
                        return
                    # Pages of the sub-resource being emitted always go: the consumer waits for
                    # them, so the budget must not. A first page is one small page; letting it
                    # past too keeps the next page count known however far the writer lags.
                    head = queue[0] if queue else None
                    if head and (head.page == 1 or head.sub == current or held < budget):
                        taken = take()
                        j, page = taken.sub, taken.page
                        held += 1
                        break
                    if not queue and all(p.done for p in progress):
                        return
                    await changed.wait()
            sub = progress[j].sub
            url, params = sub.request(page)
            in_flight[taken] = (url, params)
            try:
                response = await client.get_json(
                    url, params, validate=sub.validate, label=sub.label(page), shape=sub.page_shape
                )
            except FetchError as exc:
                async with changed:
                    if in_flight.pop(taken, None) is not None:
                        if taken.again:
                            on_again(j, taken, None)
                        else:
                            on_failure(j, page, exc.url, params, exc.status or 0, str(exc))
                    changed.notify_all()
                continue
            async with changed:
                # Absent when the watchdog has already given this page up.
                if in_flight.pop(taken, None) is not None:
                    if taken.again:
                        on_again(j, taken, response)
                    else:
                        on_page(j, page, response)
                changed.notify_all()

    def give_up(reason: str) -> None:
        """Record every page in flight, queued or planned as failed (`skip_rest`), so the day can
        be written."""
        nonlocal gave_up, held
        gave_up = reason
        unfinished = list(in_flight.items())
        in_flight.clear()
        # Failing a page 2 plans the pages after it, which `skip_rest` records.
        while unfinished or queue:
            if unfinished:
                queued, (url, params) = unfinished.pop(0)
            else:
                queued = take()
                held += 1  # as a worker taking it would
                url, params = progress[queued.sub].sub.request(queued.page)
            if queued.again:  # the first copy stands
                on_again(queued.sub, queued, None)
            else:
                url = str(httpx.URL(url, params=params))
                on_failure(queued.sub, queued.page, url, params, 0, reason)

    def snapshot() -> FetchProgress:
        return FetchProgress(
            pages_done=sum(
                len(p.failed)
                + p.recovered
                + p.fetched
                + p.again_failed
                + (p.end_unconfirmed is not None)
                for p in progress
            ),
            pages_known=sum(
                max(p.last_page, p.queued_through) + p.pages_again + p.again_failed
                for p in progress
            ),
            failed_pages=sum(len(p.failed) for p in progress),
            sub_resources_done=sum(p.done for p in progress),
            sub_resources=len(progress),
            retries=sum(client.stats.retries.values()),
            elapsed_s=time.monotonic() - started,
        )

    async def watch() -> None:
        """Report progress, and give up on every open page when nothing finishes for a while."""
        tick = min(1.0, progress_every_s, stall_s or 1.0)
        reported = time.monotonic()
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            if on_progress is not None and now - reported >= progress_every_s:
                reported = now
                on_progress(snapshot())
            # A throttled host is answering (429s), not stalled; `max_throttled_s` bounds it.
            quiet_since = max(last_progress, client.last_429_at)
            if stall_s is not None and in_flight and now - quiet_since > stall_s:
                async with changed:
                    give_up(f"no page of the fetch finished within {stall_s:g} s (stalled)")
                    changed.notify_all()
                for task in tasks:
                    task.cancel()

    for j, sub in enumerate(subs):
        if isinstance(sub, Unobservable):
            queue.remove(QueuedPage.first(j))
            held += 1  # its failed page waits to be emitted like any other
            on_failure(j, 1, "", {}, 0, sub.reason)
    heapq.heapify(queue)
    tasks = [asyncio.create_task(worker()) for _ in range(max(1, workers))]
    watcher = asyncio.create_task(watch())
    try:
        while current < len(progress):
            async with changed:
                while True:
                    if failure:
                        raise failure[0]
                    prog = progress[current]
                    run = prog.ready_run(chunk_pages)
                    if run or (prog.done and not prog.pages):
                        break
                    await changed.wait()
                result = prog.emit(run) if run else None
                held -= run
                if prog.done and not prog.pages:
                    current += 1
                changed.notify_all()
            if result is not None:
                yield result
        # Workers end once every page is done; one cancelled by the watchdog ends with that.
        await asyncio.gather(*tasks, return_exceptions=True)
        if failure:
            raise failure[0]
    finally:
        for task in [*tasks, watcher]:
            task.cancel()
        await asyncio.gather(*tasks, watcher, return_exceptions=True)
