"""One harness run of a tiny scenario of callable stages, shared by the tests that read it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.runner import run_scenario
from benchmarks.scenario import Scenario

DAY = dt.date(2026, 11, 20)
STAGES = "tests.benchmarks.bench_stages"

TINY_SCENARIO: dict[str, Any] = {
    "name": "harness_tiny",
    "description": "Callable stages against the tiny upstream: fetch, allocate, baseline, fail.",
    "env": {"STELLANTIS_INVENTORY_PAGES_WORKERS": "4"},
    "upstream": {"scope": "tiny", "seed": 7, "date": DAY.isoformat(), "latency": 0.05},
    "partition": DAY.isoformat(),
    "stages": [
        {
            "name": "codes",
            "label": "fetch the model-year codes",
            "callable": f"{STAGES}:fetch_codes",
            "env": {"STELLANTIS_INVENTORY_PAGES_WORKERS": "2"},
        },
        {
            "name": "allocate",
            "callable": f"{STAGES}:allocate_in_child",
            "params": {"p": 3},
            "thresholds": {"memory_mb": [50, 100], "wall_s": [60, 120]},
        },
        {
            "name": "codes_again",
            "label": "the same fetch, as a baseline of codes",
            "callable": f"{STAGES}:fetch_codes",
            "baseline_of": "codes",
        },
        {"name": "broken", "callable": f"{STAGES}:fail"},
    ],
}


@pytest.fixture(scope="package")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The summary path and content of one run of `TINY_SCENARIO`."""
    results = tmp_path_factory.mktemp("results")
    scenario = Scenario.model_validate(TINY_SCENARIO)
    path = run_scenario(scenario, "tiny check", results_root=results, echo=lambda _: None)
    return path, json.loads(path.read_text())
