"""Plain-text tables of a run's stages, and of baseline stages against the stage they stand for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Stage = Mapping[str, Any]


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """`numerator / denominator`, or None when either is missing or the denominator is zero."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def fmt(value: Any, digits: int = 1) -> str:
    """A cell: numbers rounded, missing values as a dash."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"x{value:.2f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; the first column left-aligned, the others right."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        first, *rest = cells
        parts = [first.ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def stage_table(stages: Sequence[Stage]) -> str:
    """One row per stage: outcome, cost, output and, for fetches, wall against the latency bound."""
    headers = [
        "stage", "status", "grade", "wall s", "cpu s", "peak MB",
        "rows", "bytes", "pages", "retries", "bound s", "wall/bound",
    ]  # fmt: skip
    rows = [
        [
            s["name"],
            s["status"],
            fmt(s.get("grade")),
            fmt(s.get("wall_s")),
            fmt(s.get("cpu_s")),
            fmt(s.get("peak_rss_mb"), 0),
            fmt(_int(s.get("rows"))),
            fmt(_int(s.get("bytes"))),
            fmt(_int(s.get("pages"))),
            fmt(_int(s.get("retries"))),
            fmt(s.get("latency_bound_s"), 2),
            fmt(s.get("wall_over_bound"), 2),
        ]
        for s in stages
    ]
    return table(headers, rows)


def baseline_comparisons(stages: Sequence[Stage]) -> list[dict[str, Any]]:
    """Each `baseline_of` stage against its target in the same run; ratios are baseline / target."""
    by_name = {s["name"]: s for s in stages}
    pairs = []
    for baseline in stages:
        target = by_name.get(baseline.get("baseline_of") or "")
        if target is None:
            continue
        pairs.append(
            {
                "baseline": baseline["name"],
                "stage": target["name"],
                "both_ok": baseline["status"] == "ok" and target["status"] == "ok",
                "wall_s": [baseline.get("wall_s"), target.get("wall_s")],
                "wall_ratio": ratio(baseline.get("wall_s"), target.get("wall_s")),
                "cpu_s": [baseline.get("cpu_s"), target.get("cpu_s")],
                "cpu_ratio": ratio(baseline.get("cpu_s"), target.get("cpu_s")),
                "peak_rss_mb": [baseline.get("peak_rss_mb"), target.get("peak_rss_mb")],
                "memory_ratio": ratio(baseline.get("peak_rss_mb"), target.get("peak_rss_mb")),
                "extract_s": [baseline.get("extract_seconds"), target.get("extract_seconds")],
                "extract_ratio": ratio(
                    baseline.get("extract_seconds"), target.get("extract_seconds")
                ),
            }
        )
    return pairs


def baseline_table(pairs: Sequence[Mapping[str, Any]]) -> str:
    """Baseline stages against their targets; wall `x3.00`: the baseline took 3 times longer."""
    headers = [
        "baseline", "vs stage", "wall s", "stage wall s", "wall x",
        "peak MB", "stage peak MB", "memory x", "cpu x", "extract x",
    ]  # fmt: skip
    rows = [
        [
            p["baseline"] + ("" if p["both_ok"] else " (failed)"),
            p["stage"],
            fmt(p["wall_s"][0]),
            fmt(p["wall_s"][1]),
            fmt_ratio(p["wall_ratio"]),
            fmt(p["peak_rss_mb"][0], 0),
            fmt(p["peak_rss_mb"][1], 0),
            fmt_ratio(p["memory_ratio"]),
            fmt_ratio(p["cpu_ratio"]),
            fmt_ratio(p["extract_ratio"]),
        ]
        for p in pairs
    ]
    return table(headers, rows)


def stored_table(stages: Sequence[Stage]) -> str:
    """What each verified stage stored against what the upstream served (its `stored`)."""
    headers = [
        "stage", "served", "stored rows", "duplicates", "missing", "unexpected",
        "once", "msrp stored as", "msrp text rows",
    ]  # fmt: skip
    rows = []
    for s in stages:
        stored = s.get("stored")
        if not stored or not ("served" in stored or stored.get("error")):
            continue
        if stored.get("error"):
            rows.append([s["name"], "-", "-", "-", "-", "-", "-", stored["error"][:60], "-"])
            continue
        types = ", ".join(f"{n} {t}" for n, t in (stored.get("msrp_columns") or {}).items())
        rows.append(
            [
                s["name"],
                fmt(stored.get("served")),
                fmt(stored.get("stored_rows")),
                fmt(stored.get("duplicate_rows")),
                fmt(stored.get("missing")),
                fmt(stored.get("unexpected")),
                "yes" if stored.get("every_vehicle_once") else "no",
                types or "-",
                fmt(stored.get("msrp_text_rows")),
            ]
        )
    return table(headers, rows) if rows else ""


def step_table(stage: Stage) -> str:
    """The steps of a whole-job stage (`benchmarks.job_run`): each one's wall (also from the
    launch of its process, when it had one), peak and, for a step with a bound of its own
    (`step_waits`), that bound and its wall from its launch against it."""
    steps = (stage.get("metrics") or {}).get("steps") or {}
    bounds = stage.get("step_bounds") or {}
    rows = [
        [
            key,
            fmt(step.get("status")),
            fmt(step.get("wall_s")),
            fmt(step.get("launched_wall_s")),
            fmt(step.get("cpu_s")),
            fmt(step.get("peak_rss_mb"), 0),
            fmt((bounds.get(key) or {}).get("bound_s"), 2),
            fmt((bounds.get(key) or {}).get("launched_over_bound"), 2),
        ]
        for key, step in steps.items()
    ]
    headers = [
        "step", "status", "wall s", "from launch s", "cpu s", "peak MB", "bound s",
        "launch/bound",
    ]  # fmt: skip
    return table(headers, rows) if rows else ""


def run_report(summary: Mapping[str, Any]) -> str:
    """The console report of one run."""
    git = summary.get("git") or {}
    lines = [
        f"scenario {summary['scenario']['name']} ({summary['label']}), "
        f"partition {summary['scenario'].get('partition')}: {summary['status']}, "
        f"grade {summary.get('grade')}",
        f"commit {git.get('sha') or '?'} on {git.get('branch') or '?'}"
        + (" (dirty)" if git.get("dirty") else ""),
        "",
        stage_table(summary["stages"]),
    ]
    pairs = summary.get("baseline_comparisons") or []
    if pairs:
        lines += ["", "baselines in this run:", baseline_table(pairs)]
    for stage in summary["stages"]:
        steps = step_table(stage)
        if steps:
            chains = ", ".join(
                f"{k} {v:.1f} s" for k, v in (stage.get("latency_chains_s") or {}).items()
            )
            run_s = (stage.get("metrics") or {}).get("run_s")
            lines += ["", f"steps of {stage['name']} (run {fmt(run_s)} s; chains of waits: "
                      f"{chains or '-'}):", steps]  # fmt: skip
    stored = stored_table(summary["stages"])
    if stored:
        lines += ["", "stored against served:", stored]
    if summary.get("error"):
        lines += ["", f"run stopped: {summary['error']}"]
    failed = [s for s in summary["stages"] if s["status"] not in ("ok", "skipped")]
    for stage in failed:
        error = (stage.get("error") or "").strip().splitlines()
        lines += [
            "",
            f"{stage['name']} {stage['status']}: {error[-1] if error else 'no error text'}",
        ]
    return "\n".join(lines)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)
