"""Every fault kind over HTTP at rate 1, pinned faults, and retries that still get the truth."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import httpx
import orjson
import pytest

from standin.stellantis.sites.process import UpstreamError, UpstreamHandle
from standin.stellantis.sites.truth import GroundTruth
from tests.standin.conftest import (
    DEALERS,
    DOMAINS,
    FILTERS,
    INVENTORY,
    dealer_params,
    inventory_params,
)

CODE = "IUJ202710"


def _inventory(client: httpx.Client, upstream: UpstreamHandle, page: int = 2) -> httpx.Response:
    return client.get(upstream.url("jeep.com") + INVENTORY, params=inventory_params(CODE, page, 5))


def _faults(upstream: UpstreamHandle) -> dict[str, int]:
    return upstream.stats()["faults"]


@pytest.mark.parametrize(
    ("kind", "status"), [("429", 429), ("429_retry_after", 429), ("html", 200), ("5xx", None)]
)
def test_answer_faults(
    kind: str, status: int | None, upstream: UpstreamHandle, client: httpx.Client
) -> None:
    before = _faults(upstream)[kind]
    upstream.set_state(faults=f"{kind}:1")
    requests: list[tuple[str, dict[str, Any]]] = [
        (INVENTORY, inventory_params(CODE)),
        (FILTERS, {"zip": "66952", "radius": 5000}),
        (DEALERS, dealer_params("J")),
    ]
    for endpoint, params in requests:
        answer = client.get(upstream.url("jeep.com") + endpoint, params=params)
        if status is None:
            assert answer.status_code in (500, 502, 503, 504)
        else:
            assert answer.status_code == status
        if kind == "429_retry_after":
            assert answer.headers["retry-after"] == "1"
        if kind == "429":
            assert "retry-after" not in answer.headers
        if kind == "html":
            assert answer.headers["content-type"].startswith("text/html")
            assert answer.text.lstrip().startswith("<!DOCTYPE html>")
    assert _faults(upstream)[kind] == before + 3


def test_failure_payloads(upstream: UpstreamHandle, client: httpx.Client) -> None:
    upstream.set_state(faults="failure:1")
    inventory = _inventory(client, upstream).json()["result"]
    assert inventory["result"] == "FAILURE" and inventory["errors"]
    dealers = client.get(upstream.url("jeep.com") + DEALERS, params=dealer_params("J")).json()
    assert dealers["status"] == "FAILURE" and dealers["error"]


def test_truncated_bodies_keep_a_consistent_length(
    upstream: UpstreamHandle, client: httpx.Client
) -> None:
    upstream.set_state(faults="truncated:1")
    answer = _inventory(client, upstream)
    assert answer.status_code == 200
    assert int(answer.headers["content-length"]) == len(answer.content) > 0
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(answer.content)
    # The connection stays usable after a short body.
    upstream.set_state(faults="")
    assert _inventory(client, upstream).json()["result"]["result"] == "SUCCESS"


def test_reset_breaks_the_connection_mid_body(
    upstream: UpstreamHandle, client: httpx.Client
) -> None:
    before = _faults(upstream)["reset"]
    upstream.set_state(faults="reset:1")
    with pytest.raises(httpx.TransportError):
        _inventory(client, upstream)
    assert _faults(upstream)["reset"] == before + 1


def test_a_block_answers_every_site_request_429_until_it_lifts(
    upstream: UpstreamHandle, client: httpx.Client
) -> None:
    before = _faults(upstream).get("block", 0)
    until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1.5)
    upstream.set_state(blocked_until=until)
    for domain in ("jeep.com", "ramtrucks.com"):
        answer = client.get(upstream.url(domain) + DEALERS, params=dealer_params("J"))
        assert (answer.status_code, answer.headers["retry-after"]) == (429, "1")
    assert _faults(upstream)["block"] == before + 2
    with pytest.raises(UpstreamError, match="blocked_until"):  # a time without its zone
        upstream.set_state(blocked_until=until.replace(tzinfo=None))
    time.sleep(max(0.0, (until - dt.datetime.now(dt.UTC)).total_seconds()) + 0.1)
    assert _inventory(client, upstream).status_code == 200
    assert _faults(upstream)["block"] == before + 2


def test_stall_holds_the_answer(upstream: UpstreamHandle) -> None:
    upstream.set_state(faults="stall:1", stall_seconds=0.4)
    with httpx.Client(timeout=0.15) as impatient, pytest.raises(httpx.ReadTimeout):
        _inventory(impatient, upstream)
    with httpx.Client(timeout=5) as patient:
        started = time.perf_counter()
        answer = _inventory(patient, upstream)
        assert time.perf_counter() - started >= 0.4
    assert answer.json()["result"]["result"] == "SUCCESS"


def test_drift_changes_only_the_total(
    upstream: UpstreamHandle, client: httpx.Client, truth: GroundTruth
) -> None:
    clean = _inventory(client, upstream).json()["result"]["data"]
    upstream.set_state(faults="drift:1")
    drifted = _inventory(client, upstream).json()["result"]["data"]
    key = "totalcount" if "totalcount" in clean["metadata"] else "totalCount"
    assert 1 <= abs(drifted["metadata"][key] - clean["metadata"][key]) <= 5
    assert drifted["vehicles"] == clean["vehicles"]


def test_repeat_adds_a_vehicle_of_the_previous_page(
    upstream: UpstreamHandle, client: httpx.Client
) -> None:
    first = _inventory(client, upstream, 1).json()["result"]["data"]["vehicles"]
    second = _inventory(client, upstream, 2).json()["result"]["data"]["vehicles"]
    upstream.set_state(faults="repeat:1")
    repeated = _inventory(client, upstream, 2).json()["result"]["data"]["vehicles"]
    assert repeated == [first[-1], *second]


def test_skip_starts_the_page_one_vehicle_late_and_counts_one_fewer(
    upstream: UpstreamHandle, client: httpx.Client
) -> None:
    clean = _inventory(client, upstream, 2).json()["result"]["data"]
    third = _inventory(client, upstream, 3).json()["result"]["data"]["vehicles"]
    upstream.set_state(faults="skip:1")
    skipped = _inventory(client, upstream, 2).json()["result"]["data"]
    key = "totalcount" if "totalcount" in clean["metadata"] else "totalCount"
    assert skipped["metadata"][key] == clean["metadata"][key] - 1
    assert skipped["vehicles"] == [*clean["vehicles"][1:], third[0]]
    # Page 1 has no vehicle ahead of it to leave.
    first = _inventory(client, upstream, 1).json()["result"]["data"]["vehicles"]
    upstream.set_state(faults="")
    assert first == _inventory(client, upstream, 1).json()["result"]["data"]["vehicles"]


def test_pinned_faults_fire_exactly_n_times(upstream: UpstreamHandle, client: httpx.Client) -> None:
    before = _faults(upstream)
    upstream.set_state(faults=f"html@jeep.com/inventory/{CODE}/2x2,failure@jeep.com/dealers/1x1")
    kinds = []
    for _ in range(4):
        answer = _inventory(client, upstream)
        kinds.append("html" if answer.headers["content-type"].startswith("text/html") else "ok")
    assert kinds == ["html", "html", "ok", "ok"]
    assert _inventory(client, upstream, 1).json()["result"]["result"] == "SUCCESS"
    statuses = [
        client.get(upstream.url("jeep.com") + DEALERS, params=dealer_params("J")).json()["status"]
        for _ in range(3)
    ]
    assert statuses == ["FAILURE", "SUCCESS", "SUCCESS"]
    after = _faults(upstream)
    assert after["html"] - before["html"] == 2
    assert after["failure"] - before["failure"] == 1
    # Setting the faults again starts the counts afresh.
    upstream.set_state(faults=f"html@jeep.com/inventory/{CODE}/2x1")
    assert _inventory(client, upstream).headers["content-type"].startswith("text/html")


def _fetch(client: httpx.Client, url: str, params: dict[str, Any]) -> Any:
    """GET until a well-formed successful answer comes back."""
    for _ in range(60):
        try:
            answer = client.get(url, params=params)
            data = orjson.loads(answer.content) if answer.status_code == 200 else None
        except (httpx.TransportError, orjson.JSONDecodeError):
            continue
        if isinstance(data, dict):
            status = data.get("status") or data.get("result", {}).get("result")
            if status == "SUCCESS":
                return data
    raise AssertionError(f"no clean answer from {url} {params}")


def test_random_faults_never_change_the_data(upstream: UpstreamHandle, truth: GroundTruth) -> None:
    upstream.set_state(
        faults="429:0.05,429_retry_after:0.05,5xx:0.05,reset:0.05,stall:0.03,html:0.05,"
        "truncated:0.05,failure:0.05,drift:0.1,repeat:0.1",
        stall_seconds=0.3,
    )
    seen: dict[str, str] = {}
    with httpx.Client(timeout=0.2) as client:
        for domain in DOMAINS:
            codes = _fetch(client, upstream.url(domain) + FILTERS, {"zip": "66952", "radius": 5000})
            for code in codes["result"]["data"]["modelYearCodes"]:
                page = 1
                while True:
                    data = _fetch(
                        client,
                        upstream.url(domain) + INVENTORY,
                        inventory_params(code["code"], page, 10),
                    )
                    vehicles = data["result"]["data"]["vehicles"]
                    if not vehicles:
                        break
                    for vehicle in vehicles:
                        seen[vehicle["vin"]] = orjson.dumps(vehicle).decode()
                    page += 1
    expected = dict(truth.vehicles.select("vin", "json").iter_rows())
    assert seen == expected
    injected = upstream.stats()["faults"]
    assert all(injected[k] > 0 for k in ("429", "5xx", "html", "truncated", "drift", "repeat"))
