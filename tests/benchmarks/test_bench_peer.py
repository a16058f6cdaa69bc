"""The peer stages: command stages, stage environments, stored-against-served checks, dlt's config.

dlt itself is not run here (it lives in a venv of its own, built from the registry); its
`rest_api` configuration is a plain dict, checked as built.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
import pytest

from benchmarks import environment
from benchmarks.peer.dagster_run import run_timings
from benchmarks.peer.dlt_config import TOTAL_PATH, source_config
from benchmarks.peer.stored import facts
from benchmarks.report import run_report
from benchmarks.runner import REPO_ROOT, expand, run_scenario, stage_command
from benchmarks.scenario import Scenario, StageConfig, load_scenario
from standin.stellantis.sites.truth import ground_truth

DAY = dt.date(2026, 11, 20)
PEER_SCENARIOS = ("stellantis_jeep_peer", "stellantis_jeep_inventory_peer")


@pytest.mark.parametrize("name", PEER_SCENARIOS)
def test_peer_scenarios_set_dlt_beside_ours(name: str) -> None:
    scenario = load_scenario(name)
    stages = {s.name: s for s in scenario.stages}
    assert set(stages) - {"ours_forked"} == {"ours", "dlt_parquet", "dlt_iceberg"}
    ours = stages["ours"]
    assert ours.command is not None and ours.command[:5] == [
        "{python}", "-m", "dagster", "asset", "materialize",
    ]  # fmt: skip
    selected = ours.command[ours.command.index("--select") + 1].split(",")
    assert selected == [
        "stellantis/raw/public_model_year_codes",
        "stellantis/raw/public_inventory",
        "stellantis/transformed/inventory_vehicles",
    ]
    assert ours.verify is not None and ours.verify.callable == "benchmarks.peer.stored:ours"
    assert ours.env["DAGSTER_HOME"] == ours.verify.params["dagster_home"] == "{stage_dir}"
    for table_format in ("parquet", "iceberg"):
        peer = stages[f"dlt_{table_format}"]
        assert peer.baseline_of == "ours"
        assert peer.environment == "benchmarks/peer/dlt.txt"
        assert peer.command is not None and peer.command[0] == "{env_python}"
        args = peer.command[peer.command.index("--workers") :]
        assert args[:6] == ["--workers", "10", "--page-size", "100", "--table-format", table_format]
        assert peer.verify is not None
        assert peer.verify.params == {
            "path": "{stage_dir}/data/stellantis/inventory",
            "format": table_format,
        }
    # Both sides ask for 100 vehicles a page.
    assert scenario.env["STELLANTIS_PAGE_SIZE"] == "100"
    if "ours_forked" in stages:
        # The same run twice: steps in the run's process, then each forked as the daily job runs.
        forked = stages["ours_forked"]
        assert forked.command is not None and forked.baseline_of is None
        config = ["--config-json", '{"execution": {"config": {"steps": "in_process"}}}']
        assert ours.command == forked.command + config
        assert [s.name for s in scenario.stages][-1] == "ours_forked"


def test_dlt_requirements_are_pinned() -> None:
    lines = (REPO_ROOT / "benchmarks/peer/dlt.txt").read_text().split()
    assert "dlt==1.31.0" in lines
    assert all("==" in line for line in lines), [line for line in lines if "==" not in line]
    assert {"pyarrow", "pyiceberg"} <= {line.split("==")[0] for line in lines}


def test_dlt_source_config_pages_each_code_as_a_child() -> None:
    pages = itertools.count()
    config = source_config("http://127.0.0.1:9/jeep.com", "10001", 293, 100, pages)
    assert config["client"]["base_url"] == "http://127.0.0.1:9/jeep.com/"
    parent, child = config["resources"]
    assert parent["name"] == "model_year_codes"
    assert parent["endpoint"]["data_selector"] == "result.data.modelYearCodes"
    assert parent["endpoint"]["params"] == {"func": "SALES", "zip": "10001", "radius": 293}
    assert child["name"] == "inventory"
    assert child["parallelized"] is True
    endpoint = child["endpoint"]
    assert endpoint["params"]["modelYearCode"] == "{resources.model_year_codes.code}"
    assert endpoint["params"]["pageSize"] == 100
    assert endpoint["data_selector"] == "result.data.vehicles"
    assert endpoint["paginator"] == {
        "type": "page_number",
        "page_param": "pageNumber",
        "base_page": 1,
        "total_path": TOTAL_PATH,
    }
    assert "totalcount" in TOTAL_PATH and "totalCount" in TOTAL_PATH
    # The response hook counts pages and hands the response on untouched.
    (hook,) = endpoint["response_actions"]
    response = object()
    assert hook(response) is response and hook(response) is response
    assert next(pages) == 2


def test_facts_count_repeats_gaps_and_text_prices() -> None:
    served = pl.Series("vin", ["A", "B", "C", "D"])
    stored = pl.DataFrame(
        {
            "vin": ["A", "B", "B", "E"],
            "price__msrp": [100, None, 300, 400],
            "price__msrp__v_text": [None, "$200", None, None],
        }
    )
    assert facts(stored, served) == {
        "served": 4,
        "stored_rows": 4,
        "duplicate_rows": 1,
        "missing": 2,
        "unexpected": 1,
        "every_vehicle_once": False,
        "msrp_columns": {"price__msrp": "Int64", "price__msrp__v_text": "String"},
        "msrp_text_rows": 1,
    }
    typed = pl.DataFrame({"vin": ["A", "B", "C", "D"], "msrp": [1.0, 2.0, None, 4.0]})
    assert facts(typed, served) == {
        "served": 4,
        "stored_rows": 4,
        "duplicate_rows": 0,
        "missing": 0,
        "unexpected": 0,
        "every_vehicle_once": True,
        "msrp_columns": {"msrp": "Float64"},
        "msrp_text_rows": 0,
    }


def test_command_placeholders_expand_and_leave_other_braces() -> None:
    stage = StageConfig(
        name="peer",
        command=["{env_python}", "-m", "x", "--out", "{out}", "--url", "http://h/{domain}"],
        environment="benchmarks/peer/dlt.txt",
    )
    values = {"env_python": "/venv/bin/python", "out": "/run/stages/01-peer.json"}
    assert stage_command(stage, DAY, Path("/unused"), placeholders=values) == [
        "/venv/bin/python", "-m", "x", "--out", "/run/stages/01-peer.json",
        "--url", "http://h/{domain}",
    ]  # fmt: skip
    assert expand("{stage_dir}/data", {"stage_dir": "/s"}) == "/s/data"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"command": ["x"], "callable": "a:b"}, "exactly one of asset_key, callable or command"),
        ({"command": []}, "command is empty"),
        ({"command": ["{env_python}", "x"]}, "names no environment"),
    ],
)
def test_stage_config_rejects_unclear_commands(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StageConfig.model_validate({"name": "peer", **fields})


def test_venv_is_named_after_the_pins(tmp_path: Path) -> None:
    first = tmp_path / "tool.txt"
    first.write_text("tool==1.0\n")
    named = environment.venv_dir(first, tmp_path / "envs")
    assert named.parent == tmp_path / "envs" and named.name.startswith("tool-")
    first.write_text("tool==1.1\n")
    assert environment.venv_dir(first, tmp_path / "envs") != named


def test_command_stage_with_verify_runs_through_the_harness(tmp_path: Path) -> None:
    scenario = Scenario.model_validate(
        {
            "name": "peer_tiny",
            "env": {"STELLANTIS_BRANDS": "jeep.com", "STELLANTIS_INVENTORY_PAGES_WORKERS": "2"},
            "upstream": {"scope": "tiny", "seed": 7, "date": DAY.isoformat(), "latency": 0.01},
            "partition": DAY.isoformat(),
            "stages": [
                {
                    "name": "stores_like_dlt",
                    "command": [
                        "{python}",
                        "-m",
                        "tests.benchmarks.peer_command",
                        "{out}",
                        "{stage_dir}",
                    ],
                    "env": {"PEER_MARKER": "{partition}"},
                    "verify": {
                        "callable": "benchmarks.peer.stored:dlt_table",
                        "params": {"path": "{stage_dir}/inventory", "format": "parquet"},
                    },
                },
                {
                    "name": "no_environment",
                    "command": ["{env_python}", "-c", "pass"],
                    "environment": "benchmarks/peer/absent.txt",
                },
            ],
        }
    )
    path = run_scenario(scenario, "peer", results_root=tmp_path, echo=lambda _: None)
    summary = json.loads(path.read_text())
    stored_like_dlt, no_environment = summary["stages"]

    assert stored_like_dlt["status"] == "ok"
    assert stored_like_dlt["kind"] == "command"
    assert stored_like_dlt["metrics"]["marker"] == DAY.isoformat()
    stage_dir = path.parent / "stages" / "01-stores_like_dlt"
    rows = pl.read_parquet(stage_dir / "inventory" / "part.parquet").height
    assert rows > 2
    assert stored_like_dlt["rows"] == rows and stored_like_dlt["pages"] == 2
    # The server's own waits for the stage's answers, 2 workers at a time.
    paced = stored_like_dlt["upstream_stats_delta"]["paced_seconds"]
    assert stored_like_dlt["latency_bound_s"] == pytest.approx(paced / 2, abs=0.0005)
    assert stored_like_dlt["cpu_s"] > 0 and stored_like_dlt["peak_rss_mb"] > 10
    truth = ground_truth(7, DAY, "tiny", "66952", 5000, brands=["jeep.com"])
    served = truth.vehicles.get_column("vin").n_unique()
    assert (path.parent / "truth-66952-5000-jeep.com.parquet").is_file()
    assert stored_like_dlt["stored"] == {
        "path": str(stage_dir / "inventory"),
        "format": "parquet",
        "served": served,
        "stored_rows": rows,
        "duplicate_rows": 1,
        "missing": served - (rows - 1),
        "unexpected": 0,
        "every_vehicle_once": False,
        "msrp_columns": {"price__msrp": "Int64", "price__msrp__v_text": "String"},
        "msrp_text_rows": 1,
    }

    assert no_environment["status"] == "failed"
    assert "benchmarks/peer/absent.txt does not exist" in no_environment["error"]
    assert summary["status"] == "failed"
    report = run_report(summary)
    assert "stored against served:" in report
    assert "price__msrp__v_text String" in report


def test_run_timings_read_the_last_run_of_an_instance(tmp_path: Path) -> None:
    @dg.asset
    def pause() -> int:
        time.sleep(0.2)
        return 1

    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert dg.materialize([pause], instance=instance).success
    timings = run_timings(tmp_path)
    assert set(timings["steps_s"]) == {"pause"}
    assert 0.2 <= timings["steps_s"]["pause"] <= timings["run_s"]
    assert timings["steps_total_s"] == timings["steps_s"]["pause"]


def test_run_timings_name_an_empty_instance(tmp_path: Path) -> None:
    with pytest.raises(LookupError, match=f"instance at {tmp_path} holds no run"):
        run_timings(tmp_path)
