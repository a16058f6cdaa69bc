"""The three endpoints over real HTTP, for every brand: contract shape and agreement with truth."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import orjson
import polars as pl
import pytest

from standin.stellantis.sites.catalog import BY_DOMAIN
from standin.stellantis.sites.process import UpstreamHandle
from standin.stellantis.sites.truth import GroundTruth
from tests.standin.conftest import (
    DEALERS,
    DOMAINS,
    FILTERS,
    INVENTORY,
    dealer_params,
    inventory_params,
)


@pytest.mark.parametrize("domain", DOMAINS)
def test_filters_list_the_codes_of_the_day(
    domain: str, upstream: UpstreamHandle, client: httpx.Client, truth: GroundTruth
) -> None:
    answer = client.get(
        upstream.url(domain) + FILTERS, params={"func": "SALES", "zip": "66952", "radius": 5000}
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    result = answer.json()["result"]
    assert result["result"] == "SUCCESS" and result["errors"] == []
    listed = result["data"]["modelYearCodes"]
    expected = truth.codes.filter(pl.col("domain") == domain)
    assert [c["code"] for c in listed] == expected["code"].to_list()
    assert [c["count"] for c in listed] == expected["count"].to_list()
    brand = BY_DOMAIN[domain]
    for code in listed:
        assert code["label"] == f"{code['year']} {brand.name} {code['vehicleLine']}"
        assert code["code"][2] == brand.code_letter and code["code"][3:7] == code["year"]


@pytest.mark.parametrize("domain", DOMAINS)
def test_inventory_pages_hold_the_truth(
    domain: str, upstream: UpstreamHandle, client: httpx.Client, truth: GroundTruth
) -> None:
    expected = truth.vehicles.filter(pl.col("domain") == domain)
    code = expected["modelYearCode"][0]
    answer = client.get(upstream.url(domain) + INVENTORY, params=inventory_params(code, 1, 5))
    assert answer.status_code == 200
    result = answer.json()["result"]
    assert result["result"] == "SUCCESS"
    meta = result["data"]["metadata"]
    total = meta.get("totalcount", meta.get("totalCount"))
    assert total == expected.filter(pl.col("modelYearCode") == code).height
    page_one = expected.filter((pl.col("modelYearCode") == code) & (pl.col("position") < 5))
    served = [orjson.dumps(v).decode() for v in result["data"]["vehicles"]]
    assert served == page_one["json"].to_list()
    assert answer.content.count(b'"vin"') == min(5, total)


@pytest.mark.parametrize("domain", DOMAINS)
def test_dealer_locator_lists_the_brands_dealers(
    domain: str, upstream: UpstreamHandle, client: httpx.Client, truth: GroundTruth
) -> None:
    brand = BY_DOMAIN[domain]
    answer = client.get(upstream.url(domain) + DEALERS, params=dealer_params(brand.letter))
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "SUCCESS"
    expected = truth.dealers.filter(pl.col("domain") == domain)
    assert [orjson.dumps(d).decode() for d in body["dealer"]] == expected["json"].to_list()
    first = body["dealer"][0]
    assert set(first) >= {
        "dealerCode", "dealerName", "dealerAddress1", "dealerAddress2", "dealerCity",
        "dealerState", "dealerZipCode", "phoneNumber", "website", "dealerShowroomLatitude",
        "dealerShowroomLongitude", "departments",
    }  # fmt: skip
    monday = first["departments"]["sales"]["hours"]["monday"]
    assert monday["closed"] in ("Y", "N") and set(monday["open"]) == {"time", "ampm"}


@pytest.mark.parametrize(
    ("path", "params", "says"),
    [
        (INVENTORY, inventory_params("IUJ202610", zip="12345"), "INVALID_ZIP"),
        (INVENTORY, inventory_params("IUX202610"), "INVALID_MODEL_YEAR_CODE"),
        (INVENTORY, inventory_params("ZZJ202610"), "INVALID_MODEL_YEAR_CODE"),
        (INVENTORY, inventory_params("IUJ2026"), "INVALID_MODEL_YEAR_CODE"),
        (INVENTORY, inventory_params("IUJ202610", page=0), "INVALID_PARAMETER"),
        (INVENTORY, {**inventory_params("IUJ202610"), "radius": "far"}, "INVALID_RADIUS"),
        (FILTERS, {"func": "SALES", "zip": "99999", "radius": 10}, "INVALID_ZIP"),
    ],
)
def test_bad_parameters_get_a_failure_answer(
    path: str, params: dict[str, Any], says: str, upstream: UpstreamHandle, client: httpx.Client
) -> None:
    answer = client.get(upstream.url("jeep.com") + path, params=params)
    assert answer.status_code == 200
    result = answer.json()["result"]
    assert result["result"] == "FAILURE"
    assert result["errors"][0]["code"] == says


def test_dealer_locator_failure_shape(upstream: UpstreamHandle, client: httpx.Client) -> None:
    wrong_brand = client.get(upstream.url("jeep.com") + DEALERS, params=dealer_params("R"))
    assert wrong_brand.json()["status"] == "FAILURE"
    assert "ramtrucks.com" in wrong_brand.json()["error"]
    bad_zip = client.get(upstream.url("jeep.com") + DEALERS, params=dealer_params("J", "00000"))
    assert bad_zip.json() == {
        "status": "FAILURE",
        "error": "zipCode='00000' is not a known US zip code",
        "dealer": [],
    }


@pytest.mark.parametrize(
    "path",
    [
        "/toyota.com/hostd/inventory/getinventoryresults.json",
        "/jeep.com/hostd/inventory/nothing.json",
        "/jeep.com/mediaserver/iris?client=fcaus&brand=J",
        "/",
    ],
)
def test_unknown_paths_are_not_found(
    path: str, upstream: UpstreamHandle, client: httpx.Client
) -> None:
    assert client.get(upstream.base_url + path).status_code == 404


def test_a_page_past_the_end_is_empty(
    upstream: UpstreamHandle, client: httpx.Client, truth: GroundTruth
) -> None:
    answer = client.get(
        upstream.url("jeep.com") + INVENTORY, params=inventory_params("IUJ202710", page=99)
    )
    data = answer.json()["result"]["data"]
    assert data["vehicles"] == []
    assert data["metadata"].get("totalcount", data["metadata"].get("totalCount")) > 0


def test_connections_are_kept_alive(upstream: UpstreamHandle) -> None:
    request = f"GET /_sim/health HTTP/1.1\r\nHost: 127.0.0.1:{upstream.port}\r\n\r\n".encode() * 3
    with socket.create_connection(("127.0.0.1", upstream.port), timeout=5) as conn:
        conn.sendall(request)
        received = b""
        while received.count(b'"ready"') < 3:
            chunk = conn.recv(65536)
            assert chunk, "the server closed a keep-alive connection"
            received += chunk
    assert received.count(b"HTTP/1.1 200 OK") == 3
    assert b"Connection: keep-alive" in received
