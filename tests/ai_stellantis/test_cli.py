"""The real Dagster CLIs load the code location; `dagster dev` serves its assets."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ai_core.iceberg.catalog import load_catalog
from tests.ai_stellantis.conftest import DAY, UpstreamEnv

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_dg_lists_the_raw_assets(stellantis_env: UpstreamEnv) -> None:
    out = subprocess.run(
        [str(BIN / "dg"), "list", "defs", "--json"],
        cwd=ROOT,
        env=stellantis_env.environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    listed = json.loads(out.stdout)
    keys = {a["asset_key"] for a in listed["assets"]}
    assert "stellantis/raw/public_inventory" in keys
    assert "stellantis_daily_schedule" in {s["name"] for s in listed["schedules"]}


def test_dagster_cli_materialises_a_partition(stellantis_env: UpstreamEnv) -> None:
    out = subprocess.run(
        [
            str(BIN / "dagster"),
            "asset",
            "materialize",
            "-m",
            "ai_stellantis.definitions",
            "--select",
            "stellantis/raw/public_model_year_codes",
            "--partition",
            DAY,
        ],
        cwd=ROOT,
        env=stellantis_env.environ,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    table = load_catalog(stellantis_env.data_dir).load_table(
        "stellantis_raw.public_model_year_codes"
    )
    rows = table.scan().to_arrow()
    assert rows.num_rows == len(stellantis_env.brands)
    assert {str(d) for d in rows.column("_partition_date").to_pylist()} == {DAY}


def test_dagster_dev_serves_the_assets(stellantis_env: UpstreamEnv) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-p", str(port)],
        cwd=ROOT,
        env=stellantis_env.environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    query = "{ assetNodes { assetKey { path } } }"
    try:
        deadline = time.monotonic() + 90
        paths: list[list[str]] = []
        while time.monotonic() < deadline:
            try:
                r = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": query}, timeout=5)
                nodes = r.json().get("data", {}).get("assetNodes") or []
                paths = [n["assetKey"]["path"] for n in nodes]
                if paths:
                    break
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.5)
        assert ["stellantis", "raw", "public_inventory"] in paths
        assert ["stellantis", "sources", "public_inventory"] in paths
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
