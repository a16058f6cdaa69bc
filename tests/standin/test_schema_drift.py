"""Schema drift over HTTP: new keys, keys left out and empty nested objects, the data unchanged."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import orjson
import pytest

from standin.stellantis.sites.catalog import BY_DOMAIN
from standin.stellantis.sites.process import UpstreamHandle
from standin.stellantis.sites.protocol import Response
from standin.stellantis.sites.schema_drift import drifted, drifts
from tests.standin.conftest import (
    DEALERS,
    DOMAINS,
    FILTERS,
    INVENTORY,
    SEED,
    dealer_params,
    inventory_params,
)

NEW_KEYS = {
    "requestId", "sortBy", "listingType", "currency", "warranty", "badges", "similarVehicles",
    "family", "version", "dealerType", "collision",
}  # fmt: skip


def _plain(value: Any) -> Any:
    """The value as a reader of the declared keys sees it: new keys gone, and a null, an empty
    object, an empty list and a missing key all the same."""
    if isinstance(value, dict):
        kept = {k: _plain(v) for k, v in value.items() if k not in NEW_KEYS}
        return {k: v for k, v in kept.items() if v is not None} or None
    if isinstance(value, list):
        return [_plain(v) for v in value] or None
    return value


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value).union(*(_keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_keys(v) for v in value))
    return set()


def _day(client: httpx.Client, upstream: UpstreamHandle) -> list[Any]:
    """Every answer of the national search: each site's codes, their pages and its dealers."""
    answers = []
    for domain in DOMAINS:
        base = upstream.url(domain)
        filters = client.get(base + FILTERS, params={"zip": "66952", "radius": 5000}).json()
        answers.append(filters)
        for listed in filters["result"]["data"]["modelYearCodes"]:
            for page in (1, 2):
                params = inventory_params(listed["code"], page, 20)
                answers.append(client.get(base + INVENTORY, params=params).json())
        locator = dealer_params(BY_DOMAIN[domain].letter)
        answers.append(client.get(base + DEALERS, params=locator).json())
    return answers


def test_drifted_answers_carry_new_keys_and_the_same_data(
    upstream: UpstreamHandle, client: httpx.Client
) -> None:
    clean = _day(client, upstream)
    assert not _keys(clean) & NEW_KEYS
    upstream.set_state(schema_drift=1.0)
    before = Counter(upstream.stats()["schema_drifted"])
    drifted_day = _day(client, upstream)
    counted = Counter(upstream.stats()["schema_drifted"]) - before
    assert counted == {"filters": 6, "inventory": len(clean) - 12, "dealers": 6}
    assert _keys(drifted_day) >= NEW_KEYS
    assert [_plain(a) for a in drifted_day] == [_plain(a) for a in clean]
    # Fetched again, each answer drifts the same way.
    assert _day(client, upstream) == drifted_day


def test_a_share_of_answers_drifts_the_same_ones_every_time(
    upstream: UpstreamHandle, client: httpx.Client
) -> None:
    upstream.set_state(schema_drift=0.5)
    first = [orjson.dumps(a) for a in _day(client, upstream)]
    again = [orjson.dumps(a) for a in _day(client, upstream)]
    assert first == again
    with_new = sum(b'"requestId"' in a or b'"version"' in a for a in first)
    assert 0.25 * len(first) < with_new < 0.75 * len(first)


@pytest.mark.parametrize("fault", ["failure", "html", "5xx", "truncated"])
def test_failures_and_cut_answers_do_not_drift(
    fault: str, upstream: UpstreamHandle, client: httpx.Client
) -> None:
    upstream.set_state(schema_drift=1.0, faults=f"{fault}:1")
    before = upstream.stats()["schema_drifted"]
    for endpoint, params in [
        (INVENTORY, inventory_params(None)),
        (FILTERS, {"zip": "66952", "radius": 5000}),
        (DEALERS, dealer_params("J")),
    ]:
        answer = client.get(upstream.url("jeep.com") + endpoint, params=params)
        if fault == "failure":
            assert b'"FAILURE"' in answer.content
        assert not {b"requestId", b"version", b"dealerType"} & set(answer.content.split(b'"'))
    assert upstream.stats()["schema_drifted"] == before


def test_each_rewrite_changes_what_it_names() -> None:
    body = (
        b'{"result":{"result":"SUCCESS","errors":[],"data":{"metadata":{"totalcount":2},'
        b'"vehicles":[{"vin":"A","trimDesc":null,"price":{"msrp":1},"incentives":null,'
        b'"attributes":null,"mackevisionData":null,"inventoryStatus":"In Stock"},'
        b'{"vin":"B","price":null,"inventoryStatus":"In Stock"}]}}}'
    )
    out = orjson.loads(drifted("inventory", Response(200, body)).body)
    first, second = out["result"]["data"]["vehicles"]
    assert out["result"]["requestId"] and out["result"]["data"]["metadata"]["sortBy"]
    assert first["listingType"] == second["listingType"] == "NEW"
    assert first["price"] == {"currency": "USD", "msrp": 1} and second["price"] == {}
    assert not {"trimDesc", "incentives", "attributes"} & set(first)
    assert first["mackevisionData"] == []
    assert first["warranty"]["basicMonths"] == 36 and first["badges"] == ["Great Deal"]
    # Related vehicles carry a `vin` of their own.
    assert [v["vin"] for v in second["similarVehicles"]] == ["1C4SIMILAR0000001"]


def test_the_share_is_drawn_per_code_and_page() -> None:
    def draws(code: str) -> list[bool]:
        return [drifts(0.5, SEED, 100, 0, "inventory", code, page) for page in range(400)]

    jeep = draws("IUJ202710")
    assert 150 < sum(jeep) < 250
    # Codes of other lines in the same year draw apart, page for page.
    for other in ("WLJ202710", "IUJ202610", "IUJ202720"):
        assert 100 < sum(a != b for a, b in zip(jeep, draws(other), strict=True)) < 300
    assert not any(drifts(0.0, SEED, 100, 0, "dealers", None, p) for p in range(50))
    assert all(drifts(1.0, SEED, 100, 0, "filters", None, p) for p in range(50))
