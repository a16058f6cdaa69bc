"""The compiler benchmark: both forms on the same raw pages give the same frame, and are timed."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ai_stellantis.brands import BY_DOMAIN
from benchmarks.compiler import compare
from tests.ai_core.transform.payloads import inventory_pages, raw_rows


def test_both_forms_compute_the_same_frame_on_the_same_records(tmp_path: Path) -> None:
    pages = inventory_pages(
        3, brands=[BY_DOMAIN["jeep.com"]], codes_per_brand=2, vehicles_per_code=60, page_size=20
    )
    source = tmp_path / "raw.parquet"
    pq.write_table(raw_rows(list(pages)), source)

    report = compare(source, repeats=2)

    assert report["records"] == 120
    assert report["equal"] is True
    for form in ("staged", "composed"):
        figures = report[form]
        assert isinstance(figures, dict)
        assert 0 < figures["best_s"] <= figures["median_s"]
        assert figures["peak_mb"] > 0
        assert figures["added_mb"] >= 0


def test_a_source_that_is_no_run_is_named(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="neither a Parquet file nor a benchmark run"):
        compare(tmp_path, repeats=1)
