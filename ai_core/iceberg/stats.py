"""How full each column of one day is, from the table's file statistics where they suffice.

Every data file's manifest entry records its row count and each primitive column's null count,
so the non-null share of a top-level primitive column costs no data read. Nested columns (lists,
structs), columns a file has no statistics for, and days with delete files are counted from the
data, reading only those columns.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl
from pyiceberg.table import Table

from ai_core.iceberg.reader import lazy_frame
from ai_core.iceberg.tables import day_filter


@dataclass(frozen=True)
class ColumnCounts:
    """A day's row count and each column's count of non-null values."""

    day: dt.date
    rows: int
    non_null: dict[str, int]

    def share(self, column: str) -> float | None:
        """The column's non-null share, or None when the day has no rows or not the column."""
        if self.rows == 0 or column not in self.non_null:
            return None
        return self.non_null[column] / self.rows


def day_column_counts(
    table: Table, day: dt.date, columns: Sequence[str] | None = None
) -> ColumnCounts:
    """Non-null counts of the top-level `columns` (all when None) on `day`."""
    wanted = {f.name: f for f in table.schema().fields if columns is None or f.name in set(columns)}
    tasks = list(table.scan(row_filter=day_filter([day])).plan_files())
    with_deletes = any(task.delete_files for task in tasks)
    to_read = (
        set(wanted)
        if with_deletes
        else {n for n, f in wanted.items() if not f.field_type.is_primitive}
    )
    rows = 0
    nulls: Counter[str] = Counter()
    for task in tasks:
        rows += task.file.record_count
        counts = task.file.null_value_counts or {}
        for name in set(wanted) - to_read:
            found = counts.get(wanted[name].field_id)
            if found is None:
                to_read.add(name)
            else:
                nulls[name] += found
    non_null = {name: rows - nulls[name] for name in set(wanted) - to_read}
    if to_read and tasks:
        read = (
            lazy_frame(table, [day])
            .select(pl.len().alias("__rows"), *(pl.col(c).is_not_null().sum() for c in to_read))
            .collect()
            .row(0, named=True)
        )
        read_rows = int(read.pop("__rows"))
        rows = read_rows if with_deletes else rows
        non_null.update({name: int(n) for name, n in read.items()})
    elif to_read:
        non_null.update(dict.fromkeys(to_read, 0))
    return ColumnCounts(day, rows, dict(sorted(non_null.items())))
