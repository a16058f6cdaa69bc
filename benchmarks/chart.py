"""A PNG of two runs side by side: wall time and peak memory per stage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

# No display on servers and CI; Agg renders straight to files.
matplotlib.use("Agg")
import matplotlib.pyplot as plt


def comparison_chart(
    stage_names: Sequence[str],
    runs: Sequence[tuple[str, Mapping[str, Mapping[str, Any]]]],
    out: Path,
    title: str,
) -> Path:
    """Grouped bars, one group per stage and one bar per run, for wall seconds and peak MB.

    `runs` is `(legend label, stages by name)`; a stage missing from a run has no bar.
    """
    panels = (("wall_s", "wall (s)"), ("peak_rss_mb", "peak RSS (MB)"))
    width = 0.8 / max(len(runs), 1)
    fig, axes = plt.subplots(1, 2, figsize=(max(8.0, 1.6 * len(stage_names) + 4), 4.5))
    positions = range(len(stage_names))
    for ax, (field, ylabel) in zip(axes, panels, strict=True):
        for i, (run_label, stages) in enumerate(runs):
            values = [float((stages.get(n) or {}).get(field) or 0.0) for n in stage_names]
            offsets = [p - 0.4 + width * (i + 0.5) for p in positions]
            bars = ax.bar(offsets, values, width, label=run_label if ax is axes[0] else None)
            # A stage that did not finish is hatched: its figures are not comparable costs.
            for bar, name in zip(bars, stage_names, strict=True):
                if (stages.get(name) or {}).get("status", "ok") != "ok":
                    bar.set_hatch("//")
            ax.bar_label(bars, fmt="%.0f" if field == "peak_rss_mb" else "%.1f", fontsize=7)
        ax.set_xticks(list(positions), list(stage_names), rotation=30, ha="right", fontsize=8)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", alpha=0.3)
        ax.margins(y=0.12)
    fig.legend(loc="lower center", ncol=len(runs), fontsize=8, frameon=False)
    fig.suptitle(title + " (hatched: stage did not finish)", fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
