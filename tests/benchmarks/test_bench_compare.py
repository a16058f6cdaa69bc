"""compare.py: two summaries side by side with ratios, and a PNG chart of both."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.compare import compare
from benchmarks.runner import REPO_ROOT

Run = tuple[Path, dict[str, Any]]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _candidate(summary: dict[str, Any], path: Path) -> Path:
    """A copy of the run where `codes` took twice as long and `allocate` half the memory."""
    candidate = copy.deepcopy(summary)
    candidate["label"] = "candidate"
    for stage in candidate["stages"]:
        if stage["name"] == "codes":
            stage["wall_s"] = summary_stage(summary, "codes")["wall_s"] * 2
        if stage["name"] == "allocate":
            stage["peak_rss_mb"] = summary_stage(summary, "allocate")["peak_rss_mb"] / 2
    candidate["stages"] = [s for s in candidate["stages"] if s["name"] != "broken"]
    path.mkdir(parents=True)
    out = path / "summary.json"
    out.write_text(json.dumps(candidate))
    return out


def summary_stage(summary: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in summary["stages"] if s["name"] == name)


def test_compare_script_prints_ratios_and_writes_chart(tiny_run: Run, tmp_path: Path) -> None:
    baseline_path, summary = tiny_run
    candidate_path = _candidate(summary, tmp_path / "cand")
    chart = tmp_path / "chart.png"
    done = subprocess.run(
        [
            sys.executable,
            "benchmarks/compare.py",
            str(baseline_path),
            str(candidate_path),
            "--out",
            str(chart),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = done.stdout.splitlines()
    codes = next(x for x in lines if x.startswith("codes "))
    assert "x2.00" in codes.split()
    allocate = next(x for x in lines if x.startswith("allocate "))
    assert "x0.50" in allocate.split()
    broken = next(x for x in lines if x.startswith("broken "))
    assert broken.split()[1:4] == ["failed", "/", "absent"]
    assert "baselines in the baseline run (baseline / stage):" in done.stdout
    assert "baselines in the candidate run (baseline / stage):" in done.stdout
    assert f"chart: {chart}" in done.stdout
    data = chart.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 5_000


def test_chart_goes_beside_the_candidate_by_default(tiny_run: Run, tmp_path: Path) -> None:
    baseline_path, summary = tiny_run
    candidate_path = _candidate(summary, tmp_path / "cand")
    text, chart = compare(baseline_path, candidate_path)
    assert chart == candidate_path.parent / f"compare-vs-{baseline_path.parent.name}.png"
    assert chart.read_bytes().startswith(PNG_MAGIC)
    assert "ratios are candidate / baseline" in text
