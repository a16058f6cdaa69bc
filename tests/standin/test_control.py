"""Control API, day switching, latency, concurrency, truth writers and the process life cycle."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import polars as pl
import pytest

from standin.stellantis.sites.process import UpstreamError, UpstreamHandle, serve_upstream
from standin.stellantis.sites.truth import GroundTruth
from tests.standin.conftest import (
    DAY,
    DOMAINS,
    FILTERS,
    INVENTORY,
    NEXT_DAY,
    SEED,
    inventory_params,
)

ROOT = Path(__file__).resolve().parents[2]


def test_health_and_state(upstream: UpstreamHandle) -> None:
    assert upstream.health() == {
        "status": "ok", "ready": True, "error": None, "date": DAY, "scope": "tiny", "seed": SEED,
    }  # fmt: skip
    state = upstream.set_state(latency=0.01, evening=True, faults={"html": 0.5})
    assert state["latency"] == 0.01 and state["evening"] is True
    assert state["faults"] == "html:0.5"
    assert upstream.state() == state


def test_bad_state_changes_are_refused(upstream: UpstreamHandle) -> None:
    with pytest.raises(UpstreamError, match=r"400.*unknown kind"):
        upstream.set_state(faults="nope:1")
    with pytest.raises(UpstreamError, match=r"400.*scope"):
        upstream.set_state(scope="national")
    assert upstream.state()["faults"] == ""


def test_stats_count_requests_pages_and_cpu(upstream: UpstreamHandle, client: httpx.Client) -> None:
    before = upstream.stats()
    for page in (1, 2):
        client.get(upstream.url("dodge.com") + INVENTORY, params=inventory_params(None, page, 10))
    client.get(upstream.url("dodge.com") + FILTERS, params={"zip": "66952", "radius": 5000})
    client.get(upstream.base_url + "/dodge.com/mediaserver/iris?x=1")
    after = upstream.stats()
    assert after["requests"]["inventory"] - before["requests"]["inventory"] == 2
    assert after["requests"]["filters"] - before["requests"]["filters"] == 1
    assert after["requests"]["image"] - before["requests"]["image"] == 1
    assert after["requests"]["total"] - before["requests"]["total"] == 4
    assert after["pages_served"] - before["pages_served"] == 2
    assert after["vehicles_served"] - before["vehicles_served"] == 20
    assert after["cpu_seconds"] >= before["cpu_seconds"] > 0
    assert after["rss_mb"] > 0 and after["builds"] >= 6


def test_switching_days_serves_the_other_day(
    upstream: UpstreamHandle, client: httpx.Client, truth: GroundTruth
) -> None:
    upstream.set_state(date=NEXT_DAY)
    tomorrow = upstream.truth(date=NEXT_DAY)
    served = []
    for domain in DOMAINS:
        page = client.get(upstream.url(domain) + INVENTORY, params=inventory_params(None, 1, 500))
        served += [orjson.dumps(v).decode() for v in page.json()["result"]["data"]["vehicles"]]
    assert sorted(served) == sorted(tomorrow.vehicles["json"].to_list())
    assert set(tomorrow.vehicles["vin"]) != set(truth.vehicles["vin"])
    assert upstream.health()["date"] == NEXT_DAY


def test_latency_and_evening(upstream: UpstreamHandle, client: httpx.Client) -> None:
    def timed() -> float:
        started = time.perf_counter()
        client.get(upstream.url("fiatusa.com") + FILTERS, params={"zip": "66952", "radius": 5000})
        return time.perf_counter() - started

    upstream.set_state(latency=0.1, jitter=0.0)
    assert 0.1 <= timed() < 0.19
    upstream.set_state(evening=True)
    assert 0.2 <= timed() < 0.29


def test_an_inventory_page_waits_longer_the_more_vehicles_it_carries(
    upstream: UpstreamHandle, client: httpx.Client, truth: GroundTruth
) -> None:
    upstream.set_state(latency=0.1, jitter=0.0, size_share=0.5)
    domain, code, count = (
        truth.codes.sort("count", descending=True).select("domain", "code", "count").row(0)
    )
    assert count > 10
    waited = []
    for size in (1, count):
        before = upstream.stats()
        answer = client.get(
            upstream.url(domain) + INVENTORY, params=inventory_params(code, 1, size)
        )
        served = len(answer.json()["result"]["data"]["vehicles"])
        after = upstream.stats()
        assert after["vehicles_served"] - before["vehicles_served"] == served
        waited.append(after["paced_seconds"] - before["paced_seconds"])
    # Half of a 50-vehicle page's 0.1 s is fixed, the other half grows with the vehicles.
    assert waited[0] == pytest.approx(0.05 + 0.05 / 50, abs=1e-3)
    assert waited[1] == pytest.approx(0.05 + 0.05 * count / 50, abs=1e-3)
    # Answers of other endpoints wait the mean latency.
    before = upstream.stats()
    client.get(upstream.url(domain) + FILTERS, params={"zip": "66952", "radius": 5000})
    after = upstream.stats()
    assert after["paced_seconds"] - before["paced_seconds"] == pytest.approx(0.1, abs=1e-3)
    # The waits are also kept by endpoint, so a run of several fetches can tell whose they were.
    by_endpoint = {
        k: v - before["paced_seconds_by_endpoint"].get(k, 0.0)
        for k, v in after["paced_seconds_by_endpoint"].items()
    }
    assert by_endpoint["filters"] == pytest.approx(0.1, abs=1e-3)
    assert by_endpoint["inventory"] == pytest.approx(0.0, abs=1e-9)


def test_twenty_five_concurrent_clients(upstream: UpstreamHandle, truth: GroundTruth) -> None:
    upstream.set_state(latency=0.05)
    codes = truth.codes.select("domain", "code").rows()

    async def one_client(i: int) -> list[str]:
        domain, code = codes[i % len(codes)]
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.get(
                upstream.url(domain) + INVENTORY, params=inventory_params(code, 1, 500)
            )
            return [orjson.dumps(v).decode() for v in answer.json()["result"]["data"]["vehicles"]]

    async def all_clients() -> list[list[str]]:
        return await asyncio.gather(*(one_client(i) for i in range(25)))

    started = time.perf_counter()
    results = asyncio.run(all_clients())
    assert time.perf_counter() - started < 5
    for i, got in enumerate(results):
        domain, code = codes[i % len(codes)]
        want = truth.vehicles.filter(
            (pl.col("domain") == domain) & (pl.col("modelYearCode") == code)
        )
        assert got == want["json"].to_list()


def test_truth_endpoint_writes_parquet(
    upstream: UpstreamHandle, truth: GroundTruth, tmp_path: Path
) -> None:
    files = upstream.write_truth(tmp_path / "truth")
    assert sorted(Path(f).name for f in files) == [
        "codes.parquet", "dealers.parquet", "meta.json", "vehicles.parquet",
    ]  # fmt: skip
    assert pl.read_parquet(tmp_path / "truth" / "vehicles.parquet").equals(truth.vehicles)
    assert pl.read_parquet(tmp_path / "truth" / "dealers.parquet").equals(truth.dealers)
    meta = orjson.loads((tmp_path / "truth" / "meta.json").read_bytes())
    assert meta["date"] == DAY and meta["vehicles"] == truth.vehicles.height


def test_truth_command_writes_parquet(truth: GroundTruth, tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable, "-m", "standin.stellantis.sites", "truth", "--date", DAY,
            "--scope", "tiny", "--seed", str(SEED), "--zip", "66952", "--radius", "5000",
            "--out", str(tmp_path),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert pl.read_parquet(tmp_path / "vehicles.parquet").equals(truth.vehicles)
    assert pl.read_parquet(tmp_path / "codes.parquet").equals(truth.codes)


def test_the_server_process_stops_cleanly() -> None:
    with serve_upstream(scope="tiny", seed=3, date="2026-01-05", faults="html:0.5") as handle:
        process = handle.process
        assert handle.state()["faults"] == "html:0.5"
        assert handle.base_url_template == f"http://127.0.0.1:{handle.port}/{{domain}}"
    assert process.returncode == 0


def test_a_bad_spec_stops_the_start_with_the_reason() -> None:
    with pytest.raises(ValueError, match="unknown kind"), serve_upstream(faults="nope:1"):
        pass
