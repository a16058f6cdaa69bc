"""`summary.json`: the record of one run, rewritten after every stage."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from benchmarks.grading import worst
from benchmarks.machine import extraneous_packages, git_state, machine_info
from benchmarks.report import baseline_comparisons
from benchmarks.scenario import Scenario

SUMMARY_VERSION = 1


class RunSummary:
    """The summary of a run in progress; `write` keeps the file current, `finish` closes it."""

    def __init__(
        self,
        path: Path,
        scenario: Scenario,
        label: str,
        *,
        repo: Path,
        started: dt.datetime,
        harness: dict[str, Any],
    ) -> None:
        self.path = path
        self.started = started
        self.data: dict[str, Any] = {
            "summary_version": SUMMARY_VERSION,
            "label": label,
            "status": "running",
            "grade": None,
            "git": git_state(repo),
            "machine": machine_info(),
            "extraneous_packages": extraneous_packages(repo),
            "harness": harness,
            "scenario": scenario.model_dump(mode="json"),
            "run_dir": str(path.parent),
            "started_at": started.isoformat(),
            "finished_at": None,
            "wall_s": None,
            "error": None,
            "upstream": None,
            "stages": [],
            "baseline_comparisons": [],
        }

    @property
    def stages(self) -> list[dict[str, Any]]:
        return self.data["stages"]

    def add_stage(self, figures: dict[str, Any]) -> None:
        self.stages.append(figures)
        self.write()

    def write(self) -> None:
        self.data["baseline_comparisons"] = baseline_comparisons(self.stages)
        self.path.write_text(json.dumps(self.data, indent=2, default=str))

    def finish(
        self, finished: dt.datetime, *, status: str | None = None, error: str | None = None
    ) -> None:
        """Set the run's status, grade and end.

        The status is `ok` when every stage succeeded, else `failed`, unless the run itself
        ended early (`interrupted`, or `error` when the harness or the server failed).
        """
        statuses = {s["status"] for s in self.stages}
        self.data["status"] = status or ("ok" if statuses == {"ok"} else "failed")
        self.data["error"] = error
        self.data["grade"] = worst([s.get("grade") for s in self.stages])
        self.data["finished_at"] = finished.isoformat()
        self.data["wall_s"] = round((finished - self.started).total_seconds(), 3)
        self.write()
