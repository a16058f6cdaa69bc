"""The paging scheduler over a toy shop: order, chunks, pages that fail, parts never observed."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import orjson
import pytest

from ai_core.http.client import AsyncHttpClient
from ai_core.raw.paging import (
    BLANK_RUN,
    NOT_ASKED_ROWS,
    FetchProgress,
    PagedSubResource,
    Unobservable,
    fetch_paged,
)
from ai_core.raw.result import RawFetchResult
from ai_core.raw.stream import RawFetchStream
from tests.ai_core.raw.shop import CATALOGUE, ShopCategory, ShopServer, fast_http, iter_skus, skus


@pytest.fixture
def shop() -> Iterator[ShopServer]:
    with ShopServer(CATALOGUE) as server:
        yield server


def fetch(
    subs: Sequence[PagedSubResource],
    chunk_pages: int = 100,
    workers: int = 4,
    stall_s: float | None = None,
) -> list[RawFetchResult]:
    async def collect() -> list[RawFetchResult]:
        async with AsyncHttpClient(fast_http()) as client:
            pages = fetch_paged(
                client, subs, workers=workers, chunk_pages=chunk_pages, stall_s=stall_s
            )
            return [r async for r in pages]

    async def bounded() -> list[RawFetchResult]:
        return await asyncio.wait_for(collect(), timeout=20)  # a hang fails, not waits

    return asyncio.run(bounded())


def categories(shop: ShopServer, *names: str) -> list[ShopCategory]:
    return [ShopCategory(shop.base_url, name) for name in names]


def test_pages_come_in_order_in_bounded_chunks_and_hold_every_record(shop: ShopServer) -> None:
    results = fetch(categories(shop, "bolts", "nuts", "washers"), chunk_pages=2)

    chunks = [(r.sub_resource, [p.page_number for p in r.pages]) for r in results]
    # A last page that is exactly full costs one more, empty, page: nuts has 3 of 3.
    assert chunks == [
        ("shop/bolts", [1, 2]),
        ("shop/bolts", [3]),
        ("shop/nuts", [1, 2]),
        ("shop/washers", [1]),
    ]
    for name, count in CATALOGUE.items():
        bodies = [
            p.body.decode() for r in results if r.sub_resource == f"shop/{name}" for p in r.pages
        ]
        assert list(iter_skus(bodies)) == skus(name, count)
    assert all(p.status == 200 and p.error is None for r in results for p in r.pages)
    assert results[0].pages[1].params == {"category": "bolts", "page": 2, "size": 3}


def test_a_page_that_keeps_failing_is_kept_in_its_place_and_the_rest_goes_on(
    shop: ShopServer,
) -> None:
    shop.failing.add(("bolts", 2))
    results = fetch(categories(shop, "bolts", "nuts"))

    bolts = [p for r in results if r.sub_resource == "shop/bolts" for p in r.pages]
    assert [p.page_number for p in bolts] == [1, 2, 3]
    failed = bolts[1]
    assert failed.body == b""
    assert failed.error is not None and "shop_items page 2 of shop/bolts" in failed.error
    assert list(iter_skus([p.body.decode() for p in bolts])) == ["bolts-001", "bolts-002",
        "bolts-003", "bolts-007"]  # fmt: skip
    assert shop.requests.count(("bolts", 2)) == 2  # the first try and one retry
    nuts = [p for r in results if r.sub_resource == "shop/nuts" for p in r.pages]
    assert list(iter_skus([p.body.decode() for p in nuts])) == skus("nuts", 3)


def test_a_page_past_the_end_that_reports_a_total_of_0_is_not_a_moved_listing() -> None:
    # 3 nuts fill page 1, so page 2 is asked for and answers none, with a total of 0.
    with ShopServer({"nuts": 3, "bolts": 7}, past_end_total=0) as shop:
        results = fetch(categories(shop, "nuts", "bolts"))
        requests = sorted(shop.requests)

    assert requests == [("bolts", 1), ("bolts", 2), ("bolts", 3), ("nuts", 1), ("nuts", 2)]
    nuts = [p for r in results if r.sub_resource == "shop/nuts" for p in r.pages]
    assert [p.page_number for p in nuts] == [1, 2]
    assert list(iter_skus([p.body.decode() for p in nuts])) == skus("nuts", 3)
    (summary,) = [r.summary for r in results if r.sub_resource == "shop/nuts" and r.summary]
    assert summary.pages_again == 0


def test_a_server_that_pages_by_fewer_than_asked_is_paged_by_its_own_size() -> None:
    catalogue = {"bolts": 7, "nuts": 3, "washers": 0, "boxes": 8, "rivets": 20}
    # The client asks for 3 a page; rivets' page 2, which tells a cap from a drifted total, fails.
    with ShopServer(catalogue, failing={("rivets", 2)}, max_size=2) as shop:
        results = fetch(categories(shop, *catalogue))
        capped = fetch([ShopCategory(shop.base_url, "bolts", max_records=5)])

    def fetched(name: str) -> list[int]:
        return [p.page_number for r in results if r.sub_resource == f"shop/{name}" for p in r.pages]

    # 7 bolts are four pages of two, 3 nuts two; 8 boxes fill four, so a fifth, empty, is asked,
    # as is an eleventh of rivets, planned by page 1's two items though page 2 failed.
    assert [fetched(name) for name in catalogue] == [
        [1, 2, 3, 4], [1, 2], [1], [1, 2, 3, 4, 5], list(range(1, 12))
    ]  # fmt: skip
    for name, count in catalogue.items():
        bodies = [
            p.body.decode() for r in results if r.sub_resource == f"shop/{name}" for p in r.pages
        ]
        lost = {"rivets-003", "rivets-004"} if name == "rivets" else set()
        assert list(iter_skus(bodies)) == [s for s in skus(name, count) if s not in lost]
    served = {r.sub_resource: r.summary.served_page_size for r in results if r.summary}
    assert served == {"shop/bolts": 2, "shop/nuts": 2, "shop/washers": None, "shop/boxes": 2,
        "shop/rivets": None}  # fmt: skip
    assert [p.page_number for r in capped for p in r.pages] == [1, 2, 3]


def test_a_whole_list_the_server_cuts_short_is_paged_to_its_end() -> None:
    # Lists without a total, asked for 5 a page, from a server that serves 2.
    catalogue = {"bolts": 7, "nuts": 3, "washers": 0}
    with ShopServer(catalogue, max_size=2) as shop:
        subs = [ShopCategory(shop.base_url, name, page_size=5, whole=True) for name in catalogue]
        results = fetch(subs)

    for name, count in catalogue.items():
        bodies = [
            p.body.decode() for r in results if r.sub_resource == f"shop/{name}" for p in r.pages
        ]
        assert list(iter_skus(bodies)) == skus(name, count)
    assert sorted(shop.requests) == [("bolts", 1), ("bolts", 2), ("bolts", 3), ("bolts", 4),
        ("nuts", 1), ("nuts", 2), ("washers", 1)]  # fmt: skip
    served = {r.sub_resource: r.summary.served_page_size for r in results if r.summary}
    assert served == {"shop/bolts": 2, "shop/nuts": 2, "shop/washers": None}


def test_a_whole_list_whose_page_2_fails_stands_as_page_1_gave_it_if_that_was_short() -> None:
    # Asked 10 a page: 7 bolts and 3 nuts are short of it, 12 screws fill page 1.
    catalogue = {"bolts": 7, "nuts": 3, "screws": 12}
    with ShopServer(catalogue, failing={("bolts", 2), ("screws", 2)}) as shop:
        results = fetch(
            [ShopCategory(shop.base_url, n, page_size=10, whole=True) for n in catalogue]
        )

    pages = [(r.sub_resource, p.page_number, p.error is None) for r in results for p in r.pages]
    assert pages == [("shop/bolts", 1, True), ("shop/nuts", 1, True), ("shop/nuts", 2, True),
        ("shop/screws", 1, True), ("shop/screws", 2, False)]  # fmt: skip
    bolts, nuts, screws = (r.summary for r in results if r.summary)
    assert screws is not None and screws.failed_pages == 1 and screws.end_unconfirmed is None
    assert bolts is not None and bolts.failed_pages == 0 and bolts.records == 7
    assert bolts.end_unconfirmed is not None
    assert "shop_items page 2 of shop/bolts" in bolts.end_unconfirmed
    assert nuts is not None and nuts.end_unconfirmed is None
    assert shop.requests.count(("bolts", 2)) == 2  # the first try and one retry


@pytest.mark.parametrize(
    ("ignores_page", "page_size", "numbered_pages", "requests"),
    [
        # Shorter than the size asked: page 2 answers none.
        (False, 10, True, 2),
        # Page 2 answers page 1 again, whether page 1 was short or full.
        (True, 10, True, 2),
        (True, 7, True, 2),
        # A list whose request names no page has no page 2 to ask for, short or full.
        (False, 10, False, 1),
        (True, 7, False, 1),
    ],
)
def test_a_whole_list_ends_at_a_page_that_adds_nothing(
    ignores_page: bool, page_size: int, numbered_pages: bool, requests: int
) -> None:
    with ShopServer({"bolts": 7}, ignores_page=ignores_page) as shop:
        sub = ShopCategory(
            shop.base_url, "bolts", page_size=page_size, whole=True, numbered_pages=numbered_pages
        )
        results = fetch([sub])

    assert len(shop.requests) == requests
    bodies = [p.body.decode() for r in results for p in r.pages]
    assert set(iter_skus(bodies)) == set(skus("bolts", 7))
    assert [r.summary.served_page_size for r in results if r.summary] == [None]


def test_a_record_without_a_key_still_fills_its_page() -> None:
    # 7 bolts, 3 a page; page 2 is full, though one of its records has no key.
    with ShopServer({"bolts": 7}, unkeyed={"bolts-005"}) as shop:
        results = fetch([ShopCategory(shop.base_url, "bolts", page_size=3, whole=True)])

    assert sorted(shop.requests) == [("bolts", 1), ("bolts", 2), ("bolts", 3)]
    held = [len(orjson.loads(p.body)["items"]) for r in results for p in r.pages]
    assert held == [3, 3, 1]
    (summary,) = [r.summary for r in results if r.summary]
    assert summary is not None and summary.served_page_size is None


def test_a_full_page_1_without_keys_still_goes_on() -> None:
    with ShopServer({"bolts": 5}, unkeyed={"bolts-001", "bolts-002", "bolts-003"}) as shop:
        results = fetch([ShopCategory(shop.base_url, "bolts", page_size=3, whole=True)])

    assert sorted(shop.requests) == [("bolts", 1), ("bolts", 2)]
    assert [len(orjson.loads(p.body)["items"]) for r in results for p in r.pages] == [3, 2]


@pytest.mark.parametrize(("max_size", "requests"), [(None, 3), (2, 2)])
def test_a_listing_with_a_total_from_a_server_that_ignores_the_page_number_ends(
    max_size: int | None, requests: int
) -> None:
    # Every page answers page 1: asked 3 a page, pages 2 and 3 repeat it (or, cut to 2 a page,
    # page 2 tells no page size); nothing asks past them.
    with ShopServer({"bolts": 7}, ignores_page=True, max_size=max_size) as shop:
        results = fetch([ShopCategory(shop.base_url, "bolts")])

    assert len(shop.requests) == requests
    (summary,) = [r.summary for r in results if r.summary]
    assert summary is not None and summary.served_page_size is None


@pytest.mark.parametrize("drift", [30, 10**15])
def test_a_total_past_the_listing_ends_after_a_run_of_empty_pages(drift: int) -> None:
    # 7 bolts, 3 a page, reported as 37 (13 pages) or as 10^15 (a third of that in pages): the
    # pass ends once pages 4 to 8 answer empty, with at most the pages then in flight and the one
    # queued asked past them; a slow page inside the run lets each other worker form a run of
    # its own first.
    workers = 2
    with ShopServer({"bolts": 7, "nuts": 3}, drift=drift) as shop:
        results = fetch(categories(shop, "bolts", "nuts"), workers=workers)
        # A retry on a slow machine may ask a page twice.
        bolts_asked = sorted({p for c, p in shop.requests if c == "bolts"})

    assert bolts_asked[: 3 + BLANK_RUN] == list(range(1, 4 + BLANK_RUN))
    assert bolts_asked == list(range(1, len(bolts_asked) + 1))
    assert len(bolts_asked) <= 3 + workers * (BLANK_RUN + 1)
    for name, count in {"bolts": 7, "nuts": 3}.items():
        pages = [p for r in results if r.sub_resource == f"shop/{name}" for p in r.pages]
        assert [p.page_number for p in pages] == list(range(1, len(pages) + 1))
        assert list(iter_skus([p.body.decode() for p in pages])) == skus(name, count)
        assert all(p.error is None for p in pages)
    (summary,) = [r.summary for r in results if r.sub_resource == "shop/bolts" and r.summary]
    assert summary.pages == len(bolts_asked) and summary.records == 7


@pytest.mark.parametrize("status", [400, 404])
def test_a_total_past_the_listing_ends_after_a_run_of_pages_refused_as_no_such_page(
    status: int,
) -> None:
    # 7 bolts under a total of 10^15, and pages past them refused as no such page: the pass ends
    # once pages 4 to 8 are refused, as a run of empty pages does (above), and each refused page
    # is stored as failed.
    workers = 2
    with ShopServer({"bolts": 7}, drift=10**15, past_end_status=status) as shop:
        results = fetch(categories(shop, "bolts"), workers=workers)
        asked = sorted(set(p for _, p in shop.requests))

    assert asked[: 3 + BLANK_RUN] == list(range(1, 4 + BLANK_RUN))
    assert len(asked) <= 3 + workers * (BLANK_RUN + 1)
    pages = [p for r in results for p in r.pages]
    assert [p.page_number for p in pages] == asked
    assert list(iter_skus([p.body.decode() for p in pages])) == skus("bolts", 7)
    assert [p.status for p in pages[3:]] == [status] * (len(asked) - 3)
    assert all(p.error is not None for p in pages[3:])


def test_a_run_of_server_errors_does_not_end_the_pass() -> None:
    # A 503 says nothing of the listing: under a total of 37 (13 pages of 3) over 7 bolts, every
    # planned page is asked, as an outage of five pages inside a listing must be ridden out.
    with ShopServer({"bolts": 7}, drift=30, past_end_status=503) as shop:
        results = fetch(categories(shop, "bolts"), workers=2)
        asked = sorted(set(p for _, p in shop.requests))

    assert asked == list(range(1, 14))
    pages = [p for r in results for p in r.pages]
    assert [p.page_number for p in pages] == asked
    assert list(iter_skus([p.body.decode() for p in pages])) == skus("bolts", 7)


def test_a_short_run_of_empty_answers_does_not_end_the_pass() -> None:
    # Pages 3 and 4 of 20 answer empty once, as a glitch would, one page at a time: the pass goes
    # on, and the two are asked again once it is in.
    with ShopServer({"bolts": 60}, empty_once={("bolts", 3), ("bolts", 4)}) as shop:
        results = fetch(categories(shop, "bolts"), workers=1)

    assert [p.page_number for r in results for p in r.pages] == [*range(1, 22), 3, 4]
    stored = iter_skus([p.body.decode() for r in results for p in r.pages])
    assert sorted(stored) == skus("bolts", 60)


def test_an_empty_answer_that_comes_after_later_pages_records_is_asked_again() -> None:
    # Page 7 of 20 answers empty once, and last of its neighbours: pages past it have already
    # brought new items, so it was not the end, and it is asked again once the pass is in.
    answered: list[int] = []

    def late(category: str, page: int) -> None:
        answered.append(page)
        if page == 7 and answered.count(7) == 1:
            time.sleep(1.0)

    with ShopServer({"bolts": 60}, empty_once={("bolts", 7)}) as shop:
        shop.on_answer = late
        results = fetch(categories(shop, "bolts"), workers=4)

    assert [p.page_number for r in results for p in r.pages] == [*range(1, 22), 7]
    stored = iter_skus([p.body.decode() for r in results for p in r.pages])
    assert sorted(stored) == skus("bolts", 60)


def test_an_empty_answer_that_cannot_be_asked_again_is_named() -> None:
    # Page 3 of 20 answers empty once and page 4 brings items, so page 3 was not the end; page 6
    # then stalls and the fetch is given up before page 3 can be asked again: the summary names
    # it, as items on it may be missing.
    # A watchdog of 1.5 s: a loaded machine once took 0.5 s between two quick pages.
    with ShopServer({"bolts": 60}, empty_once={("bolts", 3)}, stalling={("bolts", 6)}) as shop:
        results = fetch(categories(shop, "bolts"), workers=1, stall_s=1.5)

    (summary,) = [r.summary for r in results if r.summary]
    assert summary.blank_unconfirmed == (3,)
    pages = [p for r in results for p in r.pages]
    assert [p.page_number for p in pages] == list(range(1, 21))
    assert [p.page_number for p in pages if p.error is None] == [1, 2, 3, 4, 5]


def test_an_empty_answer_whose_new_copy_does_not_arrive_is_named() -> None:
    # Page 3 of 20 answers empty once, page 4 brings items, and page 3's new copy stalls until
    # the fetch is given up: its first copy stands, named as unconfirmed.
    asks: list[int] = []

    def stall_second_ask(category: str, page: int) -> None:
        asks.append(page)
        if page == 3 and asks.count(3) == 2:
            time.sleep(1.5)

    with ShopServer({"bolts": 60}, empty_once={("bolts", 3)}) as shop:
        shop.on_answer = stall_second_ask
        results = fetch(categories(shop, "bolts"), workers=1, stall_s=0.5)

    (summary,) = [r.summary for r in results if r.summary]
    assert asks.count(3) == 2
    assert summary.blank_unconfirmed == (3,) and summary.pages_again_failed == 1
    assert summary.failed_pages == 0


def test_an_empty_answer_whose_new_copy_fails_is_named() -> None:
    # Page 3 answers empty once, then 503 to every ask: its new copy fails after its retry.
    def fail_from_now(category: str, page: int) -> None:
        if page == 3:
            shop.failing.add(("bolts", 3))

    with ShopServer({"bolts": 60}, empty_once={("bolts", 3)}) as shop:
        shop.on_answer = fail_from_now
        results = fetch(categories(shop, "bolts"), workers=2)

    (summary,) = [r.summary for r in results if r.summary]
    assert summary.blank_unconfirmed == (3,) and summary.pages_again_failed == 1
    assert shop.requests.count(("bolts", 3)) == 3  # the empty answer, the copy and its retry
    stored = iter_skus([p.body.decode() for r in results for p in r.pages])
    assert sorted(stored) == sorted(
        set(skus("bolts", 60)) - {"bolts-007", "bolts-008", "bolts-009"}
    )


def test_a_stream_names_an_empty_answer_that_could_not_be_asked_again() -> None:
    # The day's fetch as a raw asset streams it: the log and the metadata name the sub-resource.
    notes: list[str] = []
    with ShopServer({"bolts": 60}, empty_once={("bolts", 3)}, stalling={("bolts", 6)}) as shop:
        http = fast_http().model_copy(update={"workers": 1, "stall_s": 0.5})
        stream = RawFetchStream(
            "shop",
            lambda: categories(shop, "bolts"),
            http,
            partition_date=dt.date(2026, 11, 20),
            on_progress=notes.append,
        )
        rows = sum(chunk.num_rows for chunk in stream.chunks())

    assert rows == 20
    assert stream.output_metadata()["blank_unconfirmed_sub_resources"] == ["shop/bolts"]
    assert any("shop/bolts page 3 answered empty" in note for note in notes)


def test_new_records_after_a_run_of_empty_pages_take_the_pass_back_to_its_plan() -> None:
    # Pages 3 to 7 of 20 answer empty at once, as a glitch would, while the others take 0.1 s:
    # the run ends the pass, page 8, already asked, comes back full, so the rest of the plan is
    # fetched as many at a time as before, and pages 3 to 7 are asked again once it is in.
    glitched = range(3, 3 + BLANK_RUN)
    answering: list[int] = []
    peak: dict[int, int] = {}
    lock = threading.Lock()

    def slow(category: str, page: int) -> None:
        with lock:
            answering.append(page)
            peak[page] = len(answering)
        if page not in glitched:
            time.sleep(0.1)
        with lock:
            answering.remove(page)

    with ShopServer({"bolts": 60}, empty_once={("bolts", p) for p in glitched}) as shop:
        shop.on_answer = slow
        results = fetch(categories(shop, "bolts"), workers=4)

    fetched = [p.page_number for r in results for p in r.pages]
    assert fetched == [*range(1, 22), *glitched]  # 20 pages of 3 and the empty one past them
    stored = iter_skus([p.body.decode() for r in results for p in r.pages])
    assert sorted(stored) == skus("bolts", 60)
    assert max(peak[p] for p in range(12, 21)) >= 3


def test_a_huge_total_from_a_server_ignoring_the_page_number_ends_after_a_run_of_repeats() -> None:
    # Every page answers page 1: the pass ends once pages 2 to 6 repeat it, with at most the
    # pages then in flight and the one queued asked past them (a slow page inside the run lets
    # each other worker form a run of its own first).
    workers = 4
    with ShopServer({"bolts": 7}, ignores_page=True, drift=10**15) as shop:
        results = fetch(categories(shop, "bolts"), workers=workers)

    assert len(set(shop.requests)) <= 1 + workers * (BLANK_RUN + 1)  # a retry's asks count once
    bodies = [p.body.decode() for r in results for p in r.pages]
    assert set(iter_skus(bodies)) == set(skus("bolts", 3))


def test_a_listing_whose_request_names_no_page_is_asked_page_1_alone(shop: ShopServer) -> None:
    results = fetch([ShopCategory(shop.base_url, "bolts", numbered_pages=False)])

    assert shop.requests == [("bolts", 1)]
    assert [p.page_number for r in results for p in r.pages] == [1]


@dataclass(frozen=True)
class _FaultySource:
    """A shop category whose own code fails once a page is in."""

    inner: ShopCategory

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @property
    def numbered_pages(self) -> bool:
        raise RuntimeError("a fault in the source's code")


def test_a_fault_in_a_source_s_code_is_raised_not_waited_for(shop: ShopServer) -> None:
    with pytest.raises(RuntimeError, match="a fault in the source's code"):
        fetch([_FaultySource(ShopCategory(shop.base_url, "bolts"))])  # type: ignore[list-item]


def test_a_total_above_a_short_first_page_costs_one_empty_page_and_no_page_size(
    shop: ShopServer,
) -> None:
    shop.drift = 2  # 3 nuts reported as 5: asked for 5 a page, page 1 holds 3 of them
    names = ("bolts", "nuts", "washers")
    results = fetch([ShopCategory(shop.base_url, name, page_size=5) for name in names])

    pages = [(r.sub_resource, p.page_number) for r in results for p in r.pages]
    assert pages == [
        ("shop/bolts", 1), ("shop/bolts", 2), ("shop/nuts", 1), ("shop/nuts", 2),
        ("shop/washers", 1),
    ]  # fmt: skip
    nuts = [p.body.decode() for r in results if r.sub_resource == "shop/nuts" for p in r.pages]
    assert list(iter_skus(nuts)) == skus("nuts", 3)
    assert all(r.summary.served_page_size is None for r in results if r.summary)


def test_an_unobservable_part_is_one_failed_page_and_costs_no_request(shop: ShopServer) -> None:
    subs: list[PagedSubResource] = [
        Unobservable("shop/screws", "the category list failed today"),
        *categories(shop, "nuts"),
    ]
    results = fetch(subs)

    (screws,) = [r for r in results if r.sub_resource == "shop/screws"]
    assert [(p.page_number, p.status, p.body, p.error) for p in screws.pages] == [
        (1, 0, b"", "the category list failed today")
    ]
    assert {category for category, _ in shop.requests} == {"nuts"}


def test_an_unobservable_part_s_page_counts_toward_the_pages_held() -> None:
    # Four unobservable parts wait behind bolts, whose one page takes a second: with chunks of 3
    # (6 pages held at most), those four, bolts' page and nuts' page 1 fill the budget, so no
    # other page of nuts is asked until bolts is emitted.
    asked_meanwhile: list[int] = []

    def slow_bolts(category: str, page: int) -> None:
        if category == "bolts":
            time.sleep(1.0)
            asked_meanwhile.append(sum(c == "nuts" for c, _ in shop.requests))

    with ShopServer({"bolts": 2, "nuts": 60}) as shop:
        shop.on_answer = slow_bolts
        unobservable = [Unobservable(f"shop/gone-{i}", "its list failed") for i in range(4)]
        subs: list[PagedSubResource] = [
            *categories(shop, "bolts"),
            *unobservable,
            *categories(shop, "nuts"),
        ]
        results = fetch(subs, chunk_pages=3, workers=8)

    assert asked_meanwhile == [1]
    nuts = [p for r in results if r.sub_resource == "shop/nuts" for p in r.pages]
    assert list(iter_skus([p.body.decode() for p in nuts])) == skus("nuts", 60)


def test_progress_after_a_give_up_counts_the_pages_recorded_not_the_total_s() -> None:
    # A total of 10^15 and every later page stalling: once the fetch is given up, progress
    # counts the pages stored, not the third of 10^15 the total planned.
    stalling = {("bolts", p) for p in range(2, 10)}
    reports: list[FetchProgress] = []

    async def collect() -> int:
        async with AsyncHttpClient(fast_http()) as client:
            pages = fetch_paged(
                client,
                categories(shop, "bolts"),
                workers=2,
                stall_s=0.5,
                on_progress=reports.append,
                progress_every_s=0.05,
            )
            stored = 0
            async for result in pages:
                stored += len(result.pages)
                await asyncio.sleep(0.02)  # a writer's pace, so progress reports after the give-up
            return stored

    with ShopServer({"bolts": 7}, drift=10**15, stalling=stalling) as shop:
        stored = asyncio.run(asyncio.wait_for(collect(), timeout=20))

    after = [r for r in reports if r.failed_pages > 0]
    assert after and stored == 4 + NOT_ASKED_ROWS
    assert all(r.pages_known == stored for r in after)


class _ShopItem(TypedDict, total=False):
    sku: Any


class _ShopPage(TypedDict, total=False):
    total: Any
    items: list[_ShopItem]


def test_pages_read_through_their_shape_give_the_same_fetch(shop: ShopServer) -> None:
    shop.failing.add(("bolts", 2))
    names = ("bolts", "nuts", "washers")
    whole = fetch(categories(shop, *names), chunk_pages=2)
    shaped = fetch(
        [ShopCategory(shop.base_url, name, page_shape=_ShopPage) for name in names], chunk_pages=2
    )

    def pages(results: list[RawFetchResult]) -> list[tuple[str, int, bytes, str | None]]:
        return [
            (r.sub_resource, p.page_number, p.body, p.error and p.error.split(" (")[0])
            for r in results
            for p in r.pages
        ]

    assert pages(shaped) == pages(whole)
    assert [r.summary for r in shaped] == [r.summary for r in whole]
    assert any(r.summary and r.summary.failed_pages for r in shaped)


def test_a_record_sold_while_paged_does_not_hide_the_one_it_shifts(shop: ShopServer) -> None:
    # One worker pages in order. bolts-002 sells once page 2 is answered: bolts-007 moves up to
    # page 2, already fetched, and page 3 is empty with a total of 6 against page 2's 7.
    shop.sells[("bolts", 2)] = "bolts-002"
    results = fetch(categories(shop, "bolts", "nuts"), chunk_pages=2, workers=1)

    bolts = [r for r in results if r.sub_resource == "shop/bolts"]
    pages = [p.page_number for r in bolts for p in r.pages]
    assert pages == [1, 2, 3, 2, 3]  # the second copies come with the last part
    assert set(iter_skus([p.body.decode() for r in bolts for p in r.pages])) == set(
        skus("bolts", 7)
    )
    summary = bolts[-1].summary
    assert summary is not None and summary.pages_again == 2 and summary.pages == 5
    assert shop.requests.count(("bolts", 2)) == 2 and shop.requests.count(("nuts", 1)) == 1
    assert all(r.summary is None or r.summary.pages_again == 0 for r in results[len(bolts) :])


def test_a_record_sold_while_paged_is_found_again_where_the_page_past_the_end_reports_0() -> None:
    # As above, on a server that answers an empty page with a total of 0: the planned page 3
    # comes back empty, which still sends the fetcher back over pages 2 and 3.
    with ShopServer({"bolts": 7}, sells={("bolts", 2): "bolts-002"}, past_end_total=0) as shop:
        results = fetch(categories(shop, "bolts"), workers=1)

    pages = [p.page_number for r in results for p in r.pages]
    assert pages == [1, 2, 3, 2, 3]
    assert set(iter_skus([p.body.decode() for r in results for p in r.pages])) == set(
        skus("bolts", 7)
    )
    summary = results[-1].summary
    assert summary is not None and summary.unsettled_boundaries == ()


def test_a_sale_that_empties_page_2_of_a_server_serving_fewer_than_asked_is_found_again() -> None:
    # Asked for 3, served 2: page 1 holds 2 of 3 bolts, and bolts-001 sells as it is answered,
    # so page 2 (the probe of the server's size) comes back empty, reporting 0.
    catalogue = {"bolts": 3}
    sale = {("bolts", 1): "bolts-001"}
    with ShopServer(catalogue, max_size=2, sells=sale, past_end_total=0) as shop:
        results = fetch(categories(shop, "bolts"), workers=1)

    assert "bolts-003" in set(iter_skus([p.body.decode() for r in results for p in r.pages]))


def test_a_page_that_failed_and_answers_when_fetched_again_is_not_missing() -> None:
    # The last bolt sells as page 1 is answered and another as page 4 is: the totals move on
    # both sides of page 3, which fails for good in the first pass and answers in the second.
    with ShopServer({"bolts": 14}, failing={("bolts", 3)}) as shop:
        shop.sells.update({("bolts", 1): "bolts-014", ("bolts", 4): "bolts-013"})

        def back_after_the_first_pass(category: str, page: int) -> None:
            if page == 5:
                shop.failing.clear()

        shop.on_answer = back_after_the_first_pass
        results = fetch(categories(shop, "bolts"), workers=1)

    pages = [(p.page_number, p.error is not None) for r in results for p in r.pages]
    # The failed first copy stays stored, in its place; its second copy comes with the rest.
    assert pages == [(1, False), (2, False), (3, True), (4, False), (5, False)] + [
        (n, False) for n in range(1, 6)
    ]
    assert set(iter_skus([p.body.decode() for r in results for p in r.pages])) == set(
        skus("bolts", 12)
    )
    summary = results[-1].summary
    assert summary is not None
    assert (summary.failed_pages, summary.failures, summary.pages_again) == (0, (), 5)
    # Ten copies stored: nine that answered and the failed one its later copy stands for.
    assert (summary.pages, summary.pages_recovered) == (9, 1)


def test_a_second_copy_that_fails_is_dropped_and_the_first_stands(shop: ShopServer) -> None:
    shop.sells[("bolts", 2)] = "bolts-002"

    def fail_from_now_on(category: str, page: int) -> None:
        if (category, page) == ("bolts", 3):  # the second copies of pages 2 and 3 fail
            shop.failing.update({("bolts", 2), ("bolts", 3)})

    shop.on_answer = fail_from_now_on
    results = fetch(categories(shop, "bolts"), workers=1)

    assert shop.requests.count(("bolts", 2)) == 3  # the first copy, the second and its retry
    pages = [(p.page_number, p.error) for r in results for p in r.pages]
    assert pages == [(1, None), (2, None), (3, None)]
    summary = results[-1].summary
    assert summary is not None and summary.pages_again == 0 and summary.failed_pages == 0


def test_a_listing_that_keeps_moving_is_fetched_again_at_most_a_pass_more(
    shop: ShopServer,
) -> None:
    # Each of the first four answers sells the first bolt left, so every copy disagrees.
    def sell_the_first(category: str, page: int) -> None:
        if len(shop.sold) < 4:
            shop.sold.add(min(s for s in skus("bolts", 7) if s not in shop.sold))

    shop.on_answer = sell_the_first
    results = fetch(categories(shop, "bolts"), workers=1)

    # The first pass answers 7, 6 and 5; the three pages again answer 4, 3 and 3, which leaves
    # pages 1 and 2 with no copies reporting one total, and no room for another round.
    assert [p.page_number for r in results for p in r.pages] == [1, 2, 3, 1, 2, 3]
    summary = results[-1].summary
    assert summary is not None
    assert (summary.pages_again, summary.unsettled_boundaries) == (3, (1,))
    stored = set(iter_skus([p.body.decode() for r in results for p in r.pages]))
    assert {"bolts-005", "bolts-006", "bolts-007"} <= stored  # the bolts never sold


def test_the_watchdog_gives_up_on_the_pages_a_failed_page_2_plans() -> None:
    # The server pages by 2 though 3 are asked; page 2, which would confirm it, stalls. Given up
    # on, page 2 still plans pages 3 and 4 by page 1's count, and they are given up on too.
    with ShopServer({"bolts": 7}, max_size=2, stalling={("bolts", 2)}) as shop:
        results = fetch(categories(shop, "bolts"), stall_s=0.5)

    pages = [(p.page_number, p.error is None) for r in results for p in r.pages]
    assert pages == [(1, True), (2, False), (3, False), (4, False)]


def test_the_watchdog_records_a_huge_plan_s_pages_never_asked_up_to_a_bound() -> None:
    # Page 1 reports a total of 10^15 and every later page stalls: given up on, the two pages in
    # flight and the one queued fail, then NOT_ASKED_ROWS planned pages, the last naming the rest.
    stalling = {("bolts", p) for p in range(2, 10)}
    with ShopServer({"bolts": 7}, drift=10**15, stalling=stalling) as shop:
        results = fetch(categories(shop, "bolts"), workers=2, stall_s=0.5)

    pages = [p for r in results for p in r.pages]
    assert [p.page_number for p in pages] == list(range(1, 5 + NOT_ASKED_ROWS))
    assert pages[0].error is None and all("(stalled)" in (p.error or "") for p in pages[1:])
    last = -(-(7 + 10**15) // 3)
    named = f"pages {4 + NOT_ASKED_ROWS} to {last} of shop/bolts were not asked"
    assert [p.page_number for p in pages if named in (p.error or "")] == [4 + NOT_ASKED_ROWS]
    (summary,) = [r.summary for r in results if r.summary]
    assert summary.failed_pages == 3 + NOT_ASKED_ROWS
