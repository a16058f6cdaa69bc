"""Fixtures: one tiny upstream server per session, reset before each test, and its ground truth."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from standin.stellantis.sites.process import UpstreamHandle, serve_upstream
from standin.stellantis.sites.truth import GroundTruth
from standin.stellantis.sites.world import World

DAY = "2026-11-20"
NEXT_DAY = "2026-11-21"
MISLABEL_DAY = "2026-11-19"
SEED = 7
DOMAINS = [
    "jeep.com",
    "dodge.com",
    "ramtrucks.com",
    "chrysler.com",
    "fiatusa.com",
    "alfaromeousa.com",
]
INVENTORY = "/hostd/inventory/getinventoryresults.json"
FILTERS = "/hostd/inventory/getinventoryfilters.json"
DEALERS = "/bdlws/MDLSDealerLocator"


def inventory_params(
    code: str | None, page: int = 1, size: int = 50, zip: str = "66952", radius: float = 5000
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "func": "SALES",
        "includeIncentives": "N",
        "matchType": "X",
        "pageNumber": page,
        "pageSize": size,
        "radius": radius,
        "sortBy": 0,
        "zip": zip,
    }
    if code is not None:
        params["modelYearCode"] = code
    return params


def dealer_params(letter: str, zip: str = "66952", radius: float = 5000) -> dict[str, Any]:
    return {
        "brandCode": letter,
        "func": "SALES",
        "radius": radius,
        "resultsPage": 1,
        "resultsPerPage": 5000,
        "zipCode": zip,
    }


@pytest.fixture(scope="session")
def server() -> Iterator[UpstreamHandle]:
    with serve_upstream(scope="tiny", seed=SEED, date=DAY) as handle:
        yield handle


@pytest.fixture
def upstream(server: UpstreamHandle) -> UpstreamHandle:
    """The session server serving DAY without faults or latency."""
    server.set_state(
        date=DAY,
        faults="",
        latency=0.0,
        evening=False,
        stall_seconds=90.0,
        schema_drift=0.0,
        blocked_until=None,
    )
    return server


@pytest.fixture(scope="session")
def tiny_world() -> World:
    return World(SEED, "tiny")


@pytest.fixture(scope="session")
def truth(server: UpstreamHandle) -> GroundTruth:
    """What a fault-free national crawl of DAY returns."""
    return server.truth("66952", 5000, date=DAY)


@pytest.fixture
def client(upstream: UpstreamHandle) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0) as http:
        yield http
