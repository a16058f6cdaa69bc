"""Paging: the union of all pages is the truth, in order; page size is capped; radius filters."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import polars as pl
import pytest

from standin.stellantis.sites.process import UpstreamHandle, serve_upstream
from standin.stellantis.sites.truth import GroundTruth
from tests.standin.conftest import DAY, DOMAINS, FILTERS, INVENTORY, SEED, inventory_params


def _pages(
    client: httpx.Client, upstream: UpstreamHandle, domain: str, code: str | None, size: int,
    zip: str = "66952", radius: float = 5000,
) -> list[list[str]]:  # fmt: skip
    pages: list[list[str]] = []
    number = 1
    while True:
        answer = client.get(
            upstream.url(domain) + INVENTORY,
            params=inventory_params(code, number, size, zip, radius),
        )
        vehicles = answer.json()["result"]["data"]["vehicles"]
        if not vehicles:
            return pages
        pages.append([orjson.dumps(v).decode() for v in vehicles])
        number += 1


def _flat(pages: list[list[str]]) -> list[str]:
    return [vehicle for page in pages for vehicle in page]


@pytest.mark.parametrize("size", [7, 50])
def test_union_of_pages_is_the_truth(
    size: int, upstream: UpstreamHandle, client: httpx.Client, truth: GroundTruth
) -> None:
    for domain in DOMAINS:
        listed = client.get(
            upstream.url(domain) + FILTERS, params={"func": "SALES", "zip": "66952", "radius": 5000}
        ).json()["result"]["data"]["modelYearCodes"]
        expected = truth.vehicles.filter(pl.col("domain") == domain)
        for code in (c["code"] for c in listed):
            pages = _pages(client, upstream, domain, code, size)
            want = expected.filter(pl.col("modelYearCode") == code).sort("position")
            assert _flat(pages) == want["json"].to_list(), (domain, code)
            if size == 50:
                assert [p for p, page in enumerate(pages, 1) for _ in page] == want[
                    "page"
                ].to_list()


def test_without_a_code_every_vehicle_of_the_brand_is_paged(
    upstream: UpstreamHandle, client: httpx.Client, truth: GroundTruth
) -> None:
    pages = _pages(client, upstream, "ramtrucks.com", None, 40)
    want = truth.vehicles.filter(pl.col("domain") == "ramtrucks.com").sort("position")
    assert _flat(pages) == want["json"].to_list()


def test_radius_filtered_paging_matches_its_truth(
    upstream: UpstreamHandle, client: httpx.Client, truth: GroundTruth
) -> None:
    ny = upstream.truth("10001", 50, date=DAY)
    assert 0 < ny.vehicles.height < truth.vehicles.height / 2
    got = []
    for domain in DOMAINS:
        got += _flat(_pages(client, upstream, domain, None, 50, "10001", 50))
    assert sorted(got) == sorted(ny.vehicles["json"].to_list())
    assert all(orjson.loads(j)["distance"] <= 50 for j in got)


@pytest.fixture(scope="module")
def small_server() -> Iterator[UpstreamHandle]:
    with serve_upstream(scope="small", seed=SEED, date=DAY) as handle:
        yield handle


def test_page_size_is_capped_at_500(small_server: UpstreamHandle) -> None:
    truth = small_server.truth(date=DAY, brands=["jeep.com"], page_size=500)
    with httpx.Client(timeout=10) as client:
        answer = client.get(
            small_server.url("jeep.com") + INVENTORY, params=inventory_params(None, 1, 2000)
        )
        second = client.get(
            small_server.url("jeep.com") + INVENTORY, params=inventory_params(None, 2, 2000)
        )
    vehicles = answer.json()["result"]["data"]["vehicles"]
    assert truth.vehicles.height > 1000
    assert len(vehicles) == 500
    assert [v["vin"] for v in second.json()["result"]["data"]["vehicles"]] == truth.vehicles[
        500:1000
    ]["vin"].to_list()
