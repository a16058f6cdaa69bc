"""The drift benchmark: pages with keys added to every vehicle, or with empty objects sent as
lists, are extracted to the same rows as the pages as served, and the added keys are reported
with every vehicle counted."""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow.parquet as pq

from ai_stellantis.brands import BY_DOMAIN
from benchmarks.drift import DAYS, compare
from tests.ai_core.transform.payloads import inventory_pages, raw_rows


def test_the_drifted_days_keep_the_same_rows_and_report_every_added_key(tmp_path: Path) -> None:
    pages = inventory_pages(
        2, brands=[BY_DOMAIN["jeep.com"]], codes_per_brand=2, vehicles_per_code=30, page_size=20
    )
    source = tmp_path / "raw.parquet"
    rows = []
    for sub, number, body in pages:
        page = orjson.loads(body)
        # Empty objects the drifted day sends as lists.
        for vehicle in page["result"]["data"]["vehicles"][::3]:
            vehicle["price"] = None
        rows.append((sub, number, orjson.dumps(page)))
    pq.write_table(raw_rows(rows), source)

    report = compare(source, new_keys=3, repeats=2)

    counts = report["distinct_rows"]
    assert isinstance(counts, dict)
    assert counts["new_keys"] == counts["empty_as_list"] == counts["as_served"] > 60
    assert report["same_rows_as_served"] == {"new_keys": True, "empty_as_list": True}
    assert report["unknown_keys"] == {
        f"result.data.vehicles[].driftKey{i:02d}": 60 for i in range(3)
    }
    sizes = report["body_bytes"]
    assert isinstance(sizes, dict)
    # `null` is two characters longer than `[]`.
    assert sizes["new_keys"] > sizes["as_served"] > sizes["empty_as_list"]
    for day in DAYS:
        figures = report[day]
        assert isinstance(figures, dict)
        assert 0 < figures["best_s"] <= figures["median_s"]
        assert 0 < figures["best_cpu_s"] <= figures["median_cpu_s"]
