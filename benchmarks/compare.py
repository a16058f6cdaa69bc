"""`python benchmarks/compare.py BASELINE.json CANDIDATE.json [--out CHART.png]`.

Prints both runs stage by stage with candidate / baseline ratios, then each run's baseline stages
against the stage they stand for, and writes a PNG of wall time and peak memory per stage (beside
the candidate summary unless `--out` says where).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a script: make the `benchmarks` package importable from the checkout.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.chart import comparison_chart
from benchmarks.report import (
    baseline_comparisons,
    baseline_table,
    fmt,
    fmt_ratio,
    ratio,
    table,
)

Stage = Mapping[str, Any]


def load_summary(path: Path) -> dict[str, Any]:
    """A `summary.json`, with an error that names the file when it is not one."""
    try:
        summary = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SystemExit(f"cannot read benchmark summary {path}: {exc}") from None
    if not isinstance(summary, dict) or "stages" not in summary:
        raise SystemExit(f"{path} is not a benchmark summary.json (no 'stages')")
    return summary


def stage_order(baseline: Sequence[Stage], candidate: Sequence[Stage]) -> list[str]:
    """Candidate stages in run order, then stages only the baseline has."""
    names = [s["name"] for s in candidate]
    return names + [s["name"] for s in baseline if s["name"] not in names]


def run_name(summary: Mapping[str, Any], path: Path) -> str:
    """A run's short name for tables and legends: its label and commit."""
    sha = ((summary.get("git") or {}).get("sha") or "?")[:10]
    return f"{summary.get('label') or path.parent.name} ({sha})"


def comparison_table(
    names: Sequence[str], baseline: Mapping[str, Stage], candidate: Mapping[str, Stage]
) -> str:
    """Per stage: both runs' wall, CPU and peak memory, and candidate / baseline ratios.

    Status and grade read `baseline / candidate`; memory is the peak RSS of the stage's tree.
    """
    headers = [
        "stage", "status", "base wall s", "cand wall s", "wall x", "base cpu s", "cand cpu s",
        "cpu x", "base MB", "cand MB", "memory x", "grade",
    ]  # fmt: skip
    rows = []
    for name in names:
        b, c = baseline.get(name) or {}, candidate.get(name) or {}
        rows.append(
            [
                name,
                f"{b.get('status', 'absent')} / {c.get('status', 'absent')}",
                fmt(b.get("wall_s")),
                fmt(c.get("wall_s")),
                fmt_ratio(ratio(c.get("wall_s"), b.get("wall_s"))),
                fmt(b.get("cpu_s")),
                fmt(c.get("cpu_s")),
                fmt_ratio(ratio(c.get("cpu_s"), b.get("cpu_s"))),
                fmt(b.get("peak_rss_mb"), 0),
                fmt(c.get("peak_rss_mb"), 0),
                fmt_ratio(ratio(c.get("peak_rss_mb"), b.get("peak_rss_mb"))),
                f"{fmt(b.get('grade'))} / {fmt(c.get('grade'))}",
            ]
        )
    return table(headers, rows)


def compare(baseline_path: Path, candidate_path: Path, out: Path | None = None) -> tuple[str, Path]:
    """The comparison report's text and the chart's path."""
    base, cand = load_summary(baseline_path), load_summary(candidate_path)
    base_stages = {s["name"]: s for s in base["stages"]}
    cand_stages = {s["name"]: s for s in cand["stages"]}
    names = stage_order(base["stages"], cand["stages"])
    base_label, cand_label = run_name(base, baseline_path), run_name(cand, candidate_path)
    scenario = (cand.get("scenario") or {}).get("name", "?")
    lines = [
        f"baseline:  {base_label}  {baseline_path}",
        f"candidate: {cand_label}  {candidate_path}",
        "ratios are candidate / baseline (under x1.00 means the candidate costs less)",
        "",
        comparison_table(names, base_stages, cand_stages),
    ]
    if (base.get("scenario") or {}).get("name") != scenario:
        lines.insert(2, "warning: the two summaries are of different scenarios")
    if base.get("machine") != cand.get("machine"):
        lines.insert(2, "warning: the two runs were on different machines or Pythons")
    for title, summary in (("baseline", base), ("candidate", cand)):
        pairs = baseline_comparisons(summary["stages"])
        if pairs:
            lines += [
                "",
                f"baselines in the {title} run (baseline / stage):",
                baseline_table(pairs),
            ]
    if out is None:
        out = candidate_path.parent / f"compare-vs-{baseline_path.parent.name or 'baseline'}.png"
    chart = comparison_chart(
        names,
        [(f"baseline {base_label}", base_stages), (f"candidate {cand_label}", cand_stages)],
        out,
        title=f"{scenario}: baseline vs candidate",
    )
    lines += ["", f"chart: {chart}"]
    return "\n".join(lines), chart


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/compare.py", description=__doc__)
    parser.add_argument("baseline", type=Path, help="the reference run's summary.json")
    parser.add_argument("candidate", type=Path, help="the run to judge, its summary.json")
    parser.add_argument("--out", type=Path, help="where to write the PNG chart")
    args = parser.parse_args(argv)
    text, _ = compare(args.baseline, args.candidate, args.out)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
