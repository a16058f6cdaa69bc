"""The `column_drift` check: a column that empties from one day to the next, and declared keys
the upstream no longer sends.

An upstream field that disappears or changes type does not fail extraction: its column just
becomes null in every row. Comparing each column's non-null share with the latest earlier day
catches that; the declared keys absent from every sampled record say which field went.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
import polars as pl
from pydantic import Field

from ai_core.iceberg.stats import ColumnCounts
from ai_core.markdown import markdown_table

COLUMN_DRIFT = "column_drift"


class ColumnDriftRule(dg.Model, dg.Resolvable):
    """When a column counts as emptied: its non-null share was at least `was_at_least` on the
    previous day and is below `now_below` today. Columns and key paths in `ignore` are skipped."""

    was_at_least: float = Field(default=0.5, ge=0.0, le=1.0)
    now_below: float = Field(default=0.05, ge=0.0, le=1.0)
    ignore: list[str] = []


@dataclass(frozen=True)
class EmptiedColumn:
    column: str
    previous_share: float
    share: float


def emptied_columns(
    today: ColumnCounts, previous: ColumnCounts | None, rule: ColumnDriftRule
) -> list[EmptiedColumn]:
    """Columns whose share fell from at least `was_at_least` to below `now_below`; none when
    either day has no rows. Bookkeeping columns (`_*`) are never null and are left out."""
    if previous is None or today.rows == 0 or previous.rows == 0:
        return []
    out: list[EmptiedColumn] = []
    for column in today.non_null:
        if column.startswith("_") or column in rule.ignore:
            continue
        before, now = previous.share(column), today.share(column)
        if before is None or now is None:
            continue
        if before >= rule.was_at_least and now < rule.now_below:
            out.append(EmptiedColumn(column, before, now))
    return out


def _percent(share: float) -> str:
    return f"{share:.1%}"


def column_drift_result(
    today: ColumnCounts,
    previous: ColumnCounts | None,
    missing_keys: Sequence[str],
    rule: ColumnDriftRule,
    asset_key: dg.AssetKey | None = None,
) -> dg.AssetCheckResult:
    """A warning naming each emptied column with both shares, and each missing declared key."""
    emptied = emptied_columns(today, previous, rule)
    missing = [k for k in missing_keys if k not in rule.ignore]
    lines = [
        f"{e.column}: {_percent(e.previous_share)} non-null on {previous.day if previous else ''}, "
        f"{_percent(e.share)} on {today.day}"
        for e in emptied
    ]
    lines += [f"declared key {k} is absent from every sampled record" for k in missing]
    samples = pl.DataFrame(
        {
            "column": [e.column for e in emptied],
            "previous_share": [_percent(e.previous_share) for e in emptied],
            "share": [_percent(e.share) for e in emptied],
        },
        schema={"column": pl.String, "previous_share": pl.String, "share": pl.String},
    )
    metadata: dict[str, Any] = {
        "previous_day": str(previous.day) if previous else "none",
        "rows": today.rows,
        "previous_rows": previous.rows if previous else 0,
        "emptied_columns": len(emptied),
        "missing_keys": len(missing),
        "problem_count": len(lines),
        "samples": dg.MetadataValue.md(markdown_table(samples)),
        "missing_key_paths": dg.MetadataValue.md("\n".join(f"- `{k}`" for k in missing) or "none"),
        "thresholds": f"from >= {_percent(rule.was_at_least)} to < {_percent(rule.now_below)}",
    }
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=COLUMN_DRIFT,
        passed=not lines,
        severity=dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description="; ".join(lines) if lines else None,
    )
