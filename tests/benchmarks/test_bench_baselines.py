"""The per-record baseline: run as a stage after the raw day it reads, on a real catalog."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl
import pytest
from pydantic import BaseModel

from ai_core.iceberg.catalog import load_catalog
from benchmarks.baselines.per_record import concat_pages, page_frames, row_hashes
from benchmarks.report import baseline_comparisons, baseline_table
from benchmarks.runner import run_scenario
from benchmarks.scenario import Scenario
from tests.benchmarks.conftest import DAY
from tests.benchmarks.raw_seed import SEED_PAGES, Vehicle, inventory_page, vehicles

SEED = "tests.benchmarks.raw_seed"


def _md5(*values: object) -> str:
    return hashlib.md5("|".join(str(v) for v in values).encode()).hexdigest()


def test_per_record_stage_writes_its_own_table(tmp_path: Path) -> None:
    params = {"entity": f"{SEED}:Vehicle", "records": f"{SEED}:vehicles"}
    scenario = Scenario.model_validate(
        {
            "name": "baseline",
            "upstream": None,
            "partition": DAY.isoformat(),
            "stages": [
                {"name": "raw", "callable": f"{SEED}:seed_raw"},
                {
                    "name": "per_record",
                    "callable": "benchmarks.baselines.per_record:run",
                    "baseline_of": "raw",
                    "params": params,
                },
            ],
        }
    )
    path = run_scenario(scenario, "per-record", results_root=tmp_path, echo=lambda _: None)
    summary = json.loads(path.read_text())
    raw, per_record = summary["stages"]
    assert raw["status"] == "ok", raw["error"]
    assert per_record["status"] == "ok", per_record["error"]
    assert per_record["rows"] == 3
    assert per_record["bytes"] > 0
    assert per_record["metrics"]["pages_read"] == 3
    assert per_record["metrics"]["target_table"] == "benchmarks_baseline.per_record"
    metrics = per_record["metrics"]
    assert per_record["extract_seconds"] == pytest.approx(
        metrics["read_validate_s"] + metrics["hash_s"], abs=0.002
    )
    [pair] = summary["baseline_comparisons"]
    assert pair["baseline"] == "per_record"
    # The seeded raw stage reports no extraction, so there is nothing to compare it with.
    assert pair["extract_s"] == [per_record["extract_seconds"], None]
    assert pair["extract_ratio"] is None

    table = load_catalog(path.parent / "data").load_table("benchmarks_baseline.per_record")
    rows = pl.DataFrame(table.scan().to_arrow()).sort("vin").to_dicts()
    assert [r["vin"] for r in rows] == [f"1C4HJXEN5RW00000{i}" for i in (1, 2, 3)]
    assert [r["modelYear"] for r in rows] == [2026, 2026, 2025]
    assert [r["_partition_date"] for r in rows] == [DAY] * 3
    assert "extra" not in rows[0]
    assert rows[0]["never_set"] is None
    assert rows[0]["_snapshot_hash"] == _md5(
        "1C4HJXEN5RW000001", 2026, {"msrp": 52345.0}, ["A"], None
    )
    assert rows[2]["_snapshot_hash"] == _md5("1C4HJXEN5RW000003", 2025, None, [], None)


def test_pages_with_different_inferred_types_concatenate() -> None:
    bodies = [inventory_page(p) for p in SEED_PAGES]
    frames = list(page_frames(bodies, Vehicle, vehicles))
    assert len(frames) == 2  # the empty page makes no frame
    frame = concat_pages(frames, Vehicle)
    assert frame.height == 3
    assert frame["price"].to_list() == [{"msrp": 52345.0}, None, None]
    assert frame.schema["never_set"] == pl.String
    hashes = row_hashes(frame)
    assert hashes.name == "_snapshot_hash"
    assert hashes.n_unique() == 3


def test_no_records_is_an_error_that_names_the_entity() -> None:
    class Nothing(BaseModel):
        x: int

    with pytest.raises(ValueError, match="no Nothing records"):
        concat_pages([], Nothing)


def test_extraction_ratio_compares_the_reported_extraction_walls() -> None:
    def stage(name: str, wall: float, extract: float, baseline_of: str | None = None) -> dict:
        return {
            "name": name,
            "status": "ok",
            "baseline_of": baseline_of,
            "wall_s": wall,
            "cpu_s": wall,
            "peak_rss_mb": 100.0,
            "extract_seconds": extract,
        }

    stages = [stage("fast", 20.0, 10.0), stage("slow", 150.0, 140.0, baseline_of="fast")]
    [pair] = baseline_comparisons(stages)
    assert pair["extract_s"] == [140.0, 10.0]
    assert pair["extract_ratio"] == pytest.approx(14.0)
    assert pair["wall_ratio"] == pytest.approx(7.5)
    line = baseline_table([pair]).splitlines()[-1]
    assert line.rstrip().endswith("x14.00")
