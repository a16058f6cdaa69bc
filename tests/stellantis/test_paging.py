"""The paging scheduler over the real endpoints: order, chunk bounds, exact ground truth."""

from __future__ import annotations

import asyncio

import polars as pl

from ai_core.http.client import AsyncHttpClient
from ai_core.raw.paging import fetch_paged
from ai_core.raw.result import RawFetchResult
from ai_stellantis.brands import BY_DOMAIN
from ai_stellantis.settings import StellantisSettings
from ai_stellantis.sources.endpoints import InventoryCode
from tests.stellantis.conftest import UpstreamEnv
from tests.stellantis.test_raw_tier import RADIUS, ZIP


async def _collect(settings: StellantisSettings, codes: list[str], chunk: int) -> list:
    subs = [InventoryCode(BY_DOMAIN["jeep.com"], code, settings) for code in codes]
    async with AsyncHttpClient(settings.http()) as client:
        return [
            r
            async for r in fetch_paged(
                client, subs, workers=settings.inventory_pages_workers, chunk_pages=chunk
            )
        ]


def test_chunks_come_in_order_bounded_and_complete(stellantis_env: UpstreamEnv) -> None:
    settings = StellantisSettings(
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

    finals = [r for r in results if r.stats["last_part"]]
    assert [r.sub_resource for r in finals] == [f"jeep.com/{c}" for c in codes]
    expected = dict(truth.codes.select("code", "count").iter_rows())
    for r in finals:
        code = r.sub_resource.split("/")[1]
        assert r.stats["distinct_records"] == r.stats["expected_records"] == expected[code]

    pages_per_code = dict(truth.codes.select("code", "pages").iter_rows())
    got_pages = pl.DataFrame(order, schema=["sub", "page"], orient="row").group_by("sub").len()
    for sub, n in got_pages.iter_rows():
        # A code whose last page is exactly full costs one more, empty, page.
        assert n in (pages_per_code[sub.split("/")[1]], pages_per_code[sub.split("/")[1]] + 1)
