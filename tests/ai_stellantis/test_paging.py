"""The paging scheduler over the real endpoints: order, chunk bounds, exact ground truth."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import httpx
import orjson
import polars as pl

from ai_core.http.client import AsyncHttpClient
from ai_core.http.config import HttpClientConfig
from ai_core.http.errors import RetryableResponse
from ai_core.http.payload import parse_json
from ai_core.raw.checks import CompletenessTally
from ai_core.raw.paging import FetchProgress, fetch_paged
from ai_core.raw.result import RawFetchResult, RawPage
from ai_stellantis.brands import BY_DOMAIN
from ai_stellantis.settings import StellantisApiResource
from ai_stellantis.sources.public_sites import INVENTORY, DealerLocator, InventoryCode
from standin.stellantis.sites.truth import GroundTruth
from tests.ai_stellantis.conftest import UpstreamEnv
from tests.ai_stellantis.raw_vehicles import RADIUS, ZIP


async def _collect(settings: StellantisApiResource, codes: list[str], chunk: int) -> list:
    subs = [InventoryCode(BY_DOMAIN["jeep.com"], code, settings) for code in codes]
    async with AsyncHttpClient(settings.http()) as client:
        return [
            r
            async for r in fetch_paged(
                client, subs, workers=settings.inventory_pages_workers, chunk_pages=chunk
            )
        ]


def test_chunks_come_in_order_bounded_and_complete(stellantis_env: UpstreamEnv) -> None:
    settings = StellantisApiResource(
        base_url_template=stellantis_env.upstream.base_url_template,
        page_size=5,
        inventory_pages_workers=4,
    )
    truth = stellantis_env.upstream.truth(ZIP, RADIUS, brands=["jeep.com"], page_size=5)
    codes = truth.codes.sort("code")["code"].to_list()
    results: list[RawFetchResult] = asyncio.run(_collect(settings, codes, chunk=2))

    assert all(1 <= len(r.pages) <= 2 for r in results)
    order = [(r.sub_resource, p.page_number) for r in results for p in r.pages]
    assert order == sorted(order, key=lambda x: (codes.index(x[0].split("/")[1]), x[1]))
    assert len(order) == len(set(order))

    finals = [r for r in results if r.summary is not None]
    assert [r.sub_resource for r in finals] == [f"jeep.com/{c}" for c in codes]
    expected = dict(truth.codes.select("code", "count").iter_rows())
    for r in finals:
        assert r.summary is not None
        assert r.summary.records == expected[r.sub_resource.split("/")[1]]
    # The check derived from the page layout finds in the bodies what the stand-in served.
    tally = CompletenessTally(INVENTORY.completeness())
    for r in results:
        tally.add(r.to_arrow(dt.date(2026, 11, 20)))
    table = tally.table()
    assert table["distinct_records"].to_list() == table["expected_records"].to_list()
    found = {
        sub.split("/")[1]: n
        for sub, n in table.select("_sub_resource", "distinct_records").iter_rows()
    }
    assert found == {code: expected[code] for code in codes}

    pages_per_code = dict(truth.codes.select("code", "pages").iter_rows())
    got_pages = pl.DataFrame(order, schema=["sub", "page"], orient="row").group_by("sub").len()
    for sub, n in got_pages.iter_rows():
        # A code whose last page is exactly full costs one more, empty, page.
        assert n in (pages_per_code[sub.split("/")[1]], pages_per_code[sub.split("/")[1]] + 1)


async def _collect_with(
    settings: StellantisApiResource,
    codes: list[str],
    config: HttpClientConfig,
    progress: list[FetchProgress],
) -> list[RawFetchResult]:
    subs = [InventoryCode(BY_DOMAIN["jeep.com"], code, settings) for code in codes]
    async with AsyncHttpClient(config) as client:
        return [
            r
            async for r in fetch_paged(
                client,
                subs,
                workers=config.workers,
                chunk_pages=3,
                stall_s=config.stall_s,
                on_progress=progress.append,
                progress_every_s=0.2,
            )
        ]


def _jeep(env: UpstreamEnv, min_pages: int) -> tuple[StellantisApiResource, GroundTruth, list[str]]:
    """Settings for pages of 5, the truth at that size, and Jeep's codes of `min_pages` or more."""
    settings = StellantisApiResource(base_url_template=env.upstream.base_url_template, page_size=5)
    truth = env.upstream.truth(ZIP, RADIUS, brands=["jeep.com"], page_size=5)
    codes = truth.codes.filter(pl.col("pages") >= min_pages).sort("code")["code"].to_list()
    return settings, truth, codes


def _pages(results: list[RawFetchResult]) -> dict[tuple[str, int], RawPage]:
    return {(r.sub_resource, p.page_number): p for r in results for p in r.pages}


def test_a_page_that_fails_for_good_is_kept_in_its_place_and_the_rest_goes_on(
    stellantis_env: UpstreamEnv,
) -> None:
    settings, truth, codes = _jeep(stellantis_env, min_pages=3)
    failing = codes[0]
    stellantis_env.upstream.set_state(faults=f"5xx@jeep.com/inventory/{failing}/2x99")
    config = settings.http().model_copy(update={"max_retries": 0, "workers": 4})
    results = asyncio.run(_collect_with(settings, codes, config, []))

    pages = _pages(results)
    failed = [key for key, page in pages.items() if page.error is not None]
    assert failed == [(f"jeep.com/{failing}", 2)]
    page = pages[failed[0]]
    assert page.body == b"" and page.status >= 500
    assert f"public_inventory page 2 of jeep.com/{failing}" in (page.error or "")
    expected = dict(truth.codes.select("code", "pages").iter_rows())
    for code in codes:
        numbers = sorted(n for s, n in pages if s == f"jeep.com/{code}")
        assert numbers[: expected[code]] == list(range(1, expected[code] + 1))
    summary = next(r.summary for r in results if r.summary and failing in r.sub_resource)
    assert summary.failed_pages == 1
    assert summary.failures[0].page == 2


def test_the_watchdog_gives_up_on_a_stalled_fetch_and_progress_is_reported(
    stellantis_env: UpstreamEnv,
) -> None:
    settings, _, codes = _jeep(stellantis_env, min_pages=2)
    codes = codes[:3]
    stalled = codes[-1]
    stellantis_env.upstream.set_state(
        faults=f"stall@jeep.com/inventory/{stalled}/2x99", stall_seconds=60, latency=0.05
    )
    # Page deadlines far off: only the watchdog can end this fetch early.
    config = settings.http().model_copy(
        update={"timeout_s": 30, "page_deadline_s": 120, "stall_s": 1.5, "workers": 2}
    )
    progress: list[FetchProgress] = []
    started = time.monotonic()
    results = asyncio.run(_collect_with(settings, codes, config, progress))
    assert time.monotonic() - started < 30

    pages = _pages(results)
    failed = {key: page.error for key, page in pages.items() if page.error is not None}
    assert failed and {s for s, _ in failed} == {f"jeep.com/{stalled}"}
    assert all("stalled" in (e or "") for e in failed.values())
    assert (f"jeep.com/{stalled}", 1) in pages and pages[(f"jeep.com/{stalled}", 1)].error is None
    for code in codes[:-1]:
        assert all(p.error is None for (s, _), p in pages.items() if s == f"jeep.com/{code}")
    assert progress, "no progress was reported during the stall"
    last = progress[-1]
    assert last.sub_resources == len(codes) and last.pages_known >= last.pages_done > 0
    assert "pages known" in last.describe()


def test_a_rate_limit_block_past_every_deadline_loses_no_page(stellantis_env: UpstreamEnv) -> None:
    """A site answering nothing but 429 for longer than a page's deadline and the watchdog, but
    not `max_throttled_s`: the pages wait, one request a pause asks, and every page comes in."""
    settings, truth, codes = _jeep(stellantis_env, min_pages=2)
    codes = codes[:3]
    config = settings.http().model_copy(
        update={"page_deadline_s": 1.0, "stall_s": 2.5, "workers": 4, "max_throttled_s": 60}
    )
    block_s = 4.0
    before = stellantis_env.upstream.stats()["faults"].get("block", 0)
    stellantis_env.upstream.set_state(
        latency=0.05, blocked_until=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=block_s)
    )
    started = time.monotonic()
    results = asyncio.run(_collect_with(settings, codes, config, []))
    assert time.monotonic() - started >= block_s - 0.5

    assert [key for key, page in _pages(results).items() if page.error is not None] == []
    expected = dict(truth.codes.select("code", "count").iter_rows())
    finals = [r.summary for r in results if r.summary is not None]
    assert [s.records for s in finals] == [expected[c] for c in codes]
    # The block's Retry-After is 1 s: two rounds of the pages waiting (each code's page 1; the
    # second ends when its first 429 comes back), then one probe a second. Each page asking
    # after each pause would be three a second.
    blocked = stellantis_env.upstream.stats()["faults"]["block"] - before
    assert len(codes) + 2 < blocked <= 2 * len(codes) + block_s


def _outcome(sub: InventoryCode, data: Any) -> tuple[str, Any]:
    """What the raw tier makes of a page: the retryable failure `validate` names, or `read`'s."""
    try:
        sub.validate(data)
    except RetryableResponse as exc:
        return "retry", str(exc)
    try:
        return "read", sub.read(data)
    except Exception as exc:
        return "unreadable", f"{type(exc).__name__}: {exc}"


ODD_PAGES: list[object] = [
    {"result": {"result": "FAILURE", "errors": ["search index rebuilding"]}},
    {"result": "SUCCESS"},
    {"result": {"result": "SUCCESS", "data": None}},
    {"result": {"result": "SUCCESS", "data": {"metadata": {"totalCount": "1,204"}}}},
    {"result": {"result": "SUCCESS", "data": {"metadata": {}, "vehicles": [{"vin": "A"}, 7]}}},
    {"result": {"result": "SUCCESS", "data": {"metadata": None, "vehicles": [{"vin": None}]}}},
    {"result": {"result": "SUCCESS", "data": {"metadata": {"totalcount": 2}, "vehicles": None}}},
    {"result": {"result": " Success ", "data": {"metadata": {"totalcount": 1}, "vehicles": []}}},
    {"result": {"data": {"metadata": {"totalcount": 1}, "vehicles": [{"vin": "A"}]}}},
    {"result": {"errors": ["timeout"], "data": {"vehicles": []}}},
    [],
]


def test_an_inventory_page_reads_the_same_from_its_shape_as_whole(
    stellantis_env: UpstreamEnv,
) -> None:
    settings = StellantisApiResource(base_url_template=stellantis_env.upstream.base_url_template)
    truth = stellantis_env.upstream.truth(ZIP, RADIUS, brands=["jeep.com"], page_size=5)
    sub = InventoryCode(BY_DOMAIN["jeep.com"], truth.codes["code"][0], settings)
    url, params = sub.request(1)
    served = [httpx.get(url, params={**params, "pageSize": 5}).content]
    bodies = served + [orjson.dumps(page) for page in ODD_PAGES]

    for body in bodies:
        shaped, problem = parse_json(body, InventoryCode.page_shape)
        assert problem is None
        assert _outcome(sub, shaped) == _outcome(sub, orjson.loads(body)), body[:200]
    kind, content = _outcome(sub, parse_json(served[0], InventoryCode.page_shape)[0])
    assert kind == "read" and len(content.record_keys) == 5


def test_an_answer_succeeds_in_any_case_or_without_an_outcome_and_fails_with_errors() -> None:
    """The contract spells success `SUCCESS`; keys may be missing, so an answer without an
    outcome and without errors is read, and one naming an error or another outcome is retried."""
    settings = StellantisApiResource()
    code = InventoryCode(BY_DOMAIN["jeep.com"], "IUJ202610", settings)
    data = {"metadata": {"totalcount": 1}, "vehicles": [{"vin": "A"}]}
    for outcome in ("SUCCESS", "success", " Success "):
        assert _outcome(code, {"result": {"result": outcome, "data": data}})[0] == "read"
    assert _outcome(code, {"result": {"data": data}})[0] == "read"
    assert _outcome(code, {"result": {"errors": [], "data": data}})[0] == "read"
    # Without an outcome, an answer without its list of records is no answer.
    assert _outcome(code, {"result": {"message": "down", "data": {}}})[0] == "retry"
    failures: list[dict[str, Any]] = [{"result": "FAILURE", "data": data}, {"errors": ["busy"]}]
    for failed in failures:
        assert _outcome(code, {"result": {**failed, "data": data}})[0] == "retry"
    locator = DealerLocator(BY_DOMAIN["jeep.com"], settings)
    dealers = [{"dealerCode": "60421"}]
    taken: list[dict[str, Any]] = [{"status": "success", "dealer": dealers}, {"dealer": dealers}]
    for page in taken:
        locator.validate(page)
    refused: list[dict[str, Any]] = [
        {"status": "FAILURE", "error": "down"},
        {"error": "down", "dealer": dealers},
        {"message": "down"},
    ]
    for page in refused:
        try:
            locator.validate(page)
        except RetryableResponse:
            continue
        raise AssertionError(f"{page} was taken as a success")


def test_the_total_is_totalcount_in_either_spelling_else_the_exact_match_count() -> None:
    def total(metadata: dict[str, Any]) -> int | None:
        return INVENTORY.read({"result": {"data": {"metadata": metadata, "vehicles": []}}}).total

    assert total({"totalcount": 12, "exactMatchCount": 11}) == 12
    assert total({"totalCount": "1,204", "exactMatchCount": 11}) == 1204
    assert total({"exactMatchCount": "11"}) == 11
    assert total({"totalcount": "", "exactMatchCount": 11}) == 11  # empty text is null
    assert total({}) is None
