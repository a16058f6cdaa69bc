"""The drift benchmark: the same pages with keys added to every vehicle are extracted to the same
rows, and the added keys are reported with every vehicle counted."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from ai_stellantis.brands import BY_DOMAIN
from benchmarks.drift import compare
from tests.ai_core.transform.payloads import inventory_pages, raw_rows


def test_the_drifted_day_keeps_the_same_rows_and_reports_every_added_key(tmp_path: Path) -> None:
    pages = inventory_pages(
        2, brands=[BY_DOMAIN["jeep.com"]], codes_per_brand=2, vehicles_per_code=30, page_size=20
    )
    source = tmp_path / "raw.parquet"
    pq.write_table(raw_rows(list(pages)), source)

    report = compare(source, new_keys=3, repeats=2)

    rows = report["rows"]
    assert isinstance(rows, dict)
    assert rows["drifted"] == rows["as_served"] > 60
    assert report["unknown_keys"] == {
        f"result.data.vehicles[].driftKey{i:02d}": 60 for i in range(3)
    }
    sizes = report["body_bytes"]
    assert isinstance(sizes, dict)
    assert sizes["drifted"] > sizes["as_served"]
    for day in ("as_served", "drifted"):
        figures = report[day]
        assert isinstance(figures, dict)
        assert 0 < figures["best_s"] <= figures["median_s"]
        assert 0 < figures["best_cpu_s"] <= figures["median_cpu_s"]
