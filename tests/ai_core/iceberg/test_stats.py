"""A day's non-null counts from file statistics agree with counting the rows themselves."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pyarrow as pa

from ai_core.iceberg.catalog import load_catalog
from ai_core.iceberg.reader import lazy_frame
from ai_core.iceberg.stats import day_column_counts
from ai_core.iceberg.writer import write_partition

DAY = dt.date(2026, 11, 20)
ROWS = pa.table(
    {
        "a": pa.array([1, None, 3, None, 5], pa.int64()),
        "b": pa.array(["x", None, None, None, None], pa.large_string()),
        "l": pa.array([[1], None, [], [2], None], pa.list_(pa.int64())),
        "s": pa.array([{"x": 1}, None, {"x": None}, None, None], pa.struct([("x", pa.int64())])),
    }
)


def test_counts_match_the_rows_for_primitive_and_nested_columns(tmp_path: Path) -> None:
    catalog = load_catalog(tmp_path)
    write_partition(catalog, "t_raw.x", DAY, [ROWS.slice(0, 2), ROWS.slice(2)])
    write_partition(catalog, "t_raw.x", DAY + dt.timedelta(days=1), [ROWS.slice(0, 1)])
    table = catalog.load_table("t_raw.x")

    counts = day_column_counts(table, DAY, ["a", "b", "l", "s"])

    truth = (
        lazy_frame(table, [DAY])
        .select(pl.all().exclude("_partition_date").is_not_null().sum())
        .collect()
    )
    assert counts.rows == 5
    assert counts.non_null == truth.row(0, named=True) == {"a": 3, "b": 1, "l": 3, "s": 2}
    assert counts.share("a") == 0.6 and counts.share("missing") is None
    empty = day_column_counts(table, DAY + dt.timedelta(days=5), ["a"])
    assert empty.rows == 0 and empty.share("a") is None
