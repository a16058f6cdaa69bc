"""The report of a run of several days: one row per day, and each day against the second.

It reads what `benchmarks.daily_job` measured (per tier: the steps' wall and peak, and the
medians of the tier's repeated runs on the days that have them) and what `benchmarks.iceberg_reads`
found (per tier: the largest table's metadata and the files opened to read one day), so it shows
whether a day costs more as the days kept add up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from benchmarks.report import fmt, fmt_ratio, ratio, table

Stage = Mapping[str, Any]
TIER = "consolidated"
BASE_DAY = 2
"""Day 1 has no history to read; the second day is the first that reads the day before it."""


def day_stages(stages: Sequence[Stage]) -> list[Stage]:
    """The stages that ran a whole day (they report `day_number`), in day order."""
    found = [s for s in stages if (s.get("metrics") or {}).get("day_number") is not None]
    return sorted(found, key=lambda s: s["metrics"]["day_number"])


def days_table(stages: Sequence[Stage], tier: str = TIER) -> str:
    """Per day: how it ran, the tier's steps and the metadata of its largest table."""
    headers = [
        "day", "executor", "run s", f"{tier} s", f"{tier} peak MB", "snapshots",
        "metadata KB", "manifests", "opened", "data files", "plan ms", "expired",
    ]  # fmt: skip
    rows = []
    for s in day_stages(stages):
        metrics, stored = s["metrics"], s.get("stored") or {}
        size = stored.get(f"{tier}.metadata_json_bytes")
        plan = stored.get(f"{tier}.plan_s")
        rows.append(
            [
                str(metrics["day_number"]),
                str(metrics.get("executor", "-")),
                fmt(metrics.get("run_s")),
                fmt(metrics.get(f"{tier}_wall_s"), 2),
                fmt(metrics.get(f"{tier}_peak_mb"), 0),
                fmt(stored.get(f"{tier}.snapshots")),
                fmt(None if size is None else size / 1024),
                fmt(stored.get(f"{tier}.manifests_listed")),
                fmt(opened(stored)),
                fmt(stored.get(f"{tier}.plan_data_files")),
                fmt(None if plan is None else plan * 1000),
                fmt(metrics.get("upkeep_snapshots_expired")),
            ]
        )
    return table(headers, rows)


def opened(stored: Mapping[str, Any]) -> int | None:
    """The most manifests any table's listing of its days or planning of one day's read opened
    (pyiceberg's planner or Polars')."""
    counts = [
        v
        for k, v in stored.items()
        if k.endswith(
            (".plan_manifests_read", ".partition_dates_manifests_read", ".polars_manifests_read")
        )
    ]
    return max(counts) if counts else None


def figure(metrics: Mapping[str, Any], tier: str, name: str) -> float | None:
    """The tier's figure of a day: the median of its repeated samples when the day has them,
    else the day's run's own."""
    median = metrics.get(f"{tier}_median_{name}")
    return median if median is not None else metrics.get(f"{tier}_{name}")


def samples(metrics: Mapping[str, Any], tier: str) -> int:
    """How many runs of the tier's steps the day's figures come from."""
    return len(metrics.get(f"{tier}_repeats") or ()) or 1


def against_base(stages: Sequence[Stage], tier: str = TIER) -> str:
    """Each day whose steps ran in processes of their own against the second day, likewise:
    medians of the repeated runs of the tier's steps where the day has them."""
    measured = [s for s in day_stages(stages) if s["metrics"].get(f"{tier}_peak_mb") is not None]
    base = next((s for s in measured if s["metrics"]["day_number"] == BASE_DAY), None)
    if base is None:
        return ""
    headers = ["day", "runs", f"{tier} s", "x day 2", "cpu s", "x day 2", "peak MB", "x day 2"]
    rows = []
    for s in measured:
        m, b = s["metrics"], base["metrics"]
        rows.append([str(m["day_number"]), str(samples(m, tier))])
        for name, digits in (("wall_s", 2), ("cpu_s", 2), ("peak_mb", 0)):
            value = figure(m, tier, name)
            rows[-1] += [fmt(value, digits), fmt_ratio(ratio(value, figure(b, tier, name)))]
    return table(headers, rows)


def days_report(stages: Sequence[Stage]) -> str:
    """Both tables, or nothing when no stage ran a whole day."""
    if not day_stages(stages):
        return ""
    lines = ["days:", days_table(stages)]
    compared = against_base(stages)
    if compared:
        lines += [
            "",
            "against day 2 (steps in processes of their own; medians where run again):",
            compared,
        ]
    return "\n".join(lines)
