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
from typing import Any

import httpx
import pytest

from ai_core.iceberg.catalog import load_catalog
from tests.ai_stellantis.conftest import DAY, UpstreamEnv
from tests.component_yaml import documents, schema_errors

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _materialize(
    env: UpstreamEnv, select: str, *extra: str, timeout: float
) -> subprocess.CompletedProcess[str]:
    """`dagster asset materialize` of `select` for the test day, with the CLI's own arguments."""
    argv = [str(BIN / "dagster"), "asset", "materialize", "-m", "ai_stellantis.definitions"]
    return subprocess.run(
        [*argv, "--select", select, "--partition", DAY, *extra],
        cwd=ROOT,
        env=env.environ,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


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


DOCUMENTS = documents(ROOT / "ai_stellantis" / "defs")

# On the path of a Python process, records the project modules it imported when it exits.
IMPORTS_PROBE = """
import atexit, os, sys
atexit.register(lambda: open(os.environ["AI_IMPORTS_LOG"], "a").write(
    " ".join(sorted(m for m in sys.modules if m.startswith("ai_"))) + "\\n"))
"""


def test_dg_lists_every_component_type_the_yaml_names_without_building_the_location(
    tmp_path: Path,
) -> None:
    (tmp_path / "sitecustomize.py").write_text(IMPORTS_PROBE)
    log = tmp_path / "imports.log"
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "AI_IMPORTS_LOG": str(log)}
    out = subprocess.run(
        [str(BIN / "dg"), "list", "components", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    listed = {item["key"] for item in json.loads(out.stdout)["items"]}
    named = {doc["type"] for _, _, doc in DOCUMENTS}
    assert len(named) >= 5
    assert named <= listed, sorted(named - listed)
    # Importing the location builds it, seconds of work for each `dg` command.
    imported = log.read_text().split()
    assert "ai_stellantis.components" in imported
    assert "ai_stellantis.definitions" not in imported


@pytest.mark.parametrize(
    ("path", "index", "doc"),
    DOCUMENTS,
    ids=[f"{Path(p).relative_to(ROOT)}#{i}" for p, i, _ in DOCUMENTS],
)
def test_each_yaml_document_matches_its_component_types_json_schema(
    path: str, index: int, doc: dict[str, Any]
) -> None:
    assert schema_errors(doc) == []


@pytest.mark.parametrize(
    ("check", "passed"),
    [("yaml", "All component YAML validated"), ("defs", "All definitions loaded")],
)
def test_dg_check_passes_on_the_shipped_location(check: str, passed: str) -> None:
    out = subprocess.run(
        [str(BIN / "dg"), "check", check],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, (out.stdout[-3000:], out.stderr[-3000:])
    assert passed in out.stdout + out.stderr


def test_dagster_cli_materialises_a_partition(stellantis_env: UpstreamEnv) -> None:
    out = _materialize(stellantis_env, "stellantis/raw/public_model_year_codes", timeout=180)
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


def _step_pids(home: Path) -> tuple[int, dict[str, int]]:
    """The last run's process and the process each of its steps started in."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = instance.get_run_records(limit=1)[0].dagster_run
        records = instance.get_records_for_run(run.run_id).records
    events = [r.event_log_entry.dagster_event for r in records]
    run_pid = next(
        e.pid for e in events if e is not None and e.event_type == dg.DagsterEventType.RUN_START
    )
    steps = {
        e.step_key: e.pid
        for e in events
        if e is not None
        and e.event_type == dg.DagsterEventType.STEP_START
        and e.step_key is not None
    }
    return run_pid, steps


@pytest.mark.parametrize("steps", ["forked", "in_process"])
def test_the_run_config_chooses_whether_steps_fork_and_either_way_writes_and_checks(
    stellantis_env: UpstreamEnv, steps: str
) -> None:
    out = _materialize(
        stellantis_env,
        "stellantis/raw/public_model_year_codes,stellantis/raw/public_inventory",
        "--config-json",
        json.dumps({"execution": {"config": {"steps": steps}}}),
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    home = Path(stellantis_env.environ["DAGSTER_HOME"])
    run_pid, step_pids = _step_pids(home)
    assert set(step_pids) >= {
        "stellantis__raw__public_model_year_codes",
        "stellantis__raw__public_inventory",
    }
    if steps == "in_process":
        assert set(step_pids.values()) == {run_pid}
    else:
        assert run_pid not in step_pids.values()
        assert len(set(step_pids.values())) == len(step_pids)
    catalog = load_catalog(stellantis_env.data_dir)
    inventory = catalog.load_table("stellantis_raw.public_inventory").scan().to_arrow()
    assert inventory.num_rows > 0
    assert {str(d) for d in inventory.column("_partition_date").to_pylist()} == {DAY}
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [
                dg.AssetCheckKey(
                    dg.AssetKey.from_user_string("stellantis/raw/public_inventory"), "completeness"
                )
            ]
        )
    (execution,) = check.values()
    assert execution.evaluation is not None and execution.evaluation.passed
