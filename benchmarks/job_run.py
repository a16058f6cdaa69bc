"""One whole Dagster job run for a partition, with each step's wall and peak memory.

`python -m benchmarks.job_run --job JOB --partition DAY --home DIR --out FILE` runs
`dagster job execute` for the job and the day, with `DAGSTER_HOME=DIR`, as a deployment runs it:
the job's own executor, a process per step. While it runs, the run's whole process tree is
sampled every `SAMPLE_INTERVAL_S`, and each process's peak RSS is kept. Afterwards the run's
record in the instance gives each step's wall (its step stats, start to end) and the process it
ran in: every event a step logs carries the pid of the process that logged it, and a step's
events come from its own process. A step's peak is its process's peak plus the peaks of that
process's descendants (summed peaks: never less than the true peak of the subtree), and its CPU
the CPU seconds those processes had used when last sampled.

A child caught between its fork and its exec (Dagster starts `tail` to capture a step's output)
still runs its parent's command, and its RSS counts every page it shares with the parent. Such
a sample is kept apart and only stands for the child if the child was never seen after an exec,
so a step's peak does not count its own pages twice.

The outcome (`{"status", "metrics", "error"}`) goes to `--out`, as a command stage's does.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

SAMPLE_INTERVAL_S = 0.1
MB = 2**20


@dataclass(frozen=True, slots=True)
class Sighting:
    """One process as one sample saw it."""

    parent: int
    rss: int
    cpu_s: float
    command: list[str]


@dataclass(slots=True)
class ProcessPeaks:
    """Each process seen in a tree: its parent, its peak RSS and the CPU it had used when last
    seen (user and system). `forked` holds the peak of a process while it ran its parent's
    command line: a fork that may yet exec another program."""

    parent: dict[int, int] = field(default_factory=dict)
    peak: dict[int, int] = field(default_factory=dict)
    forked: dict[int, int] = field(default_factory=dict)
    cpu: dict[int, float] = field(default_factory=dict)

    def sample(self, root: psutil.Process) -> None:
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        seen: dict[int, Sighting] = {}
        for proc in procs:
            try:
                with proc.oneshot():
                    times = proc.cpu_times()
                    seen[proc.pid] = Sighting(
                        parent=proc.ppid(),
                        rss=proc.memory_info().rss,
                        cpu_s=times.user + times.system,
                        command=proc.cmdline(),
                    )
            except psutil.Error:
                continue
        for pid, now in seen.items():
            self.parent.setdefault(pid, now.parent)
            self.cpu[pid] = now.cpu_s
            if not now.command:
                continue  # exiting: its memory, and the command line in it, are already gone
            parent = seen.get(now.parent)
            peaks = (
                self.forked if parent is not None and parent.command == now.command else self.peak
            )
            peaks[pid] = max(peaks.get(pid, 0), now.rss)

    def process_peak(self, pid: int) -> int | None:
        """The process's peak: as itself once it ran a command of its own, else as a fork."""
        return self.peak.get(pid, self.forked.get(pid))

    def subtree(self, pid: int) -> list[int]:
        """`pid` and every descendant seen."""
        found, stack = [], [pid]
        while stack:
            current = stack.pop()
            found.append(current)
            stack += [p for p, parent in self.parent.items() if parent == current and p != current]
        return found

    def subtree_peak(self, pid: int) -> int | None:
        """The peak of `pid` plus its descendants' peaks, or None if `pid` was never seen.

        `pid` itself counts whatever it ran: a step forked from a server runs the server's
        command line all its life."""
        if pid not in self.peak and pid not in self.forked:
            return None
        own = max(self.peak.get(pid, 0), self.forked.get(pid, 0))
        return own + sum(self.process_peak(p) or 0 for p in self.subtree(pid) if p != pid)

    def subtree_cpu(self, pid: int) -> float | None:
        """The CPU seconds `pid` and its descendants had used when last sampled."""
        if pid not in self.cpu:
            return None
        return sum(self.cpu.get(p, 0.0) for p in self.subtree(pid))


def dagster_command(module: str, job: str, partition: str) -> list[str]:
    """`dagster job execute` of `job` in the code location `module` for one daily partition."""
    tags = json.dumps({"dagster/partition": partition})
    return [
        sys.executable,
        "-m",
        "dagster",
        "job",
        "execute",
        "-m",
        module,
        "-j",
        job,
        "--tags",
        tags,
    ]


@contextmanager
def sampled(root: psutil.Process) -> Iterator[ProcessPeaks]:
    """`root`'s process tree sampled every `SAMPLE_INTERVAL_S` on a thread, while the block runs."""
    peaks = ProcessPeaks()
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peaks.sample(root)
            done.wait(SAMPLE_INTERVAL_S)

    sampler = threading.Thread(target=sample, name="process-peaks", daemon=True)
    sampler.start()
    try:
        yield peaks
    finally:
        done.set()
        sampler.join()


def run_steps(instance: Any, run_id: str, peaks: ProcessPeaks) -> dict[str, dict[str, Any]]:
    """Per step of the run, in the order they started: its status, its wall (its step stats,
    start to end), its wall from the executor's launch of its process to its end (a step run in
    the run's process has none), the pid it ran in and that process's (and its descendants')
    peak and CPU; None where the process was not seen."""
    import dagster as dg

    pids: dict[str, int] = {}
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START):
        event = entry.dagster_event
        if entry.step_key is not None and event is not None and event.pid is not None:
            pids[entry.step_key] = event.pid
    launched: dict[str, float] = {}
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_WORKER_STARTING):
        if entry.step_key is not None:
            launched.setdefault(entry.step_key, entry.timestamp)
    steps: dict[str, dict[str, Any]] = {}
    for stat in instance.get_run_step_stats(run_id):
        wall = None
        if stat.start_time is not None and stat.end_time is not None:
            wall = round(stat.end_time - stat.start_time, 3)
        from_launch = None
        if stat.end_time is not None and stat.step_key in launched:
            from_launch = round(stat.end_time - launched[stat.step_key], 3)
        pid = pids.get(stat.step_key)
        peak = peaks.subtree_peak(pid) if pid is not None else None
        cpu = peaks.subtree_cpu(pid) if pid is not None else None
        steps[stat.step_key] = {
            "status": stat.status.value if stat.status else None,
            "wall_s": wall,
            "launched_wall_s": from_launch,
            "start": stat.start_time,
            "pid": pid,
            "peak_rss_mb": None if peak is None else round(peak / MB, 1),
            "cpu_s": None if cpu is None else round(cpu, 2),
        }
    return dict(sorted(steps.items(), key=lambda kv: kv[1]["start"] or 0.0))


@dataclass(frozen=True, slots=True)
class Sampled:
    """How a sampled command ended: its exit code, its wall from start to exit, the peaks."""

    code: int
    wall_s: float
    peaks: ProcessPeaks


def run_sampled(cmd: Sequence[str], env: Mapping[str, str], log: Path) -> Sampled:
    """Run `cmd` to its end, sampling its process tree."""
    with log.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd), env=dict(env), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        with sampled(psutil.Process(proc.pid)) as peaks:
            proc.wait()
        wall = time.perf_counter() - started
    return Sampled(proc.returncode, wall, peaks)


def step_figures(home: Path, peaks: ProcessPeaks) -> dict[str, Any]:
    """The last run of the instance at `home`: its status and wall, and its steps' figures."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = instance.get_run_records(limit=1)
        if not records:
            raise LookupError(f"the Dagster instance at {home} holds no run")
        record = records[0]
        run_id = record.dagster_run.run_id
        steps = run_steps(instance, run_id, peaks)
    run_s = None
    if record.start_time is not None and record.end_time is not None:
        run_s = round(record.end_time - record.start_time, 3)
    peaks_mb = [s["peak_rss_mb"] for s in steps.values() if s["peak_rss_mb"] is not None]
    return {
        "run_id": run_id,
        "run_status": record.dagster_run.status.value,
        "run_s": run_s,
        "steps": steps,
        "steps_measured": len(peaks_mb),
        "largest_step_peak_mb": max(peaks_mb, default=None),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.job_run", description=__doc__)
    parser.add_argument("--job", required=True)
    parser.add_argument("--module", default="ai_stellantis.definitions")
    parser.add_argument("--partition", required=True, help="daily partition, YYYY-MM-DD")
    parser.add_argument("--home", required=True, help="DAGSTER_HOME of the run")
    parser.add_argument("--out", required=True, help="where to write the outcome as JSON")
    args = parser.parse_args(argv)
    home = Path(args.home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    outcome: dict[str, Any] = {"status": "failed", "metrics": {}, "error": None}
    run = run_sampled(
        dagster_command(args.module, args.job, args.partition), env, home / "dagster.log"
    )
    try:
        outcome["metrics"] = step_figures(home, run.peaks)
    except Exception as exc:  # the outcome must still say what happened
        outcome["error"] = f"reading the run at {home} failed: {type(exc).__name__}: {exc}"
    metrics = outcome["metrics"]
    # The CLI's wall, start to exit: what a deployment spends, without reading the run back.
    metrics["cli_wall_s"] = round(run.wall_s, 3)
    unmeasured = [k for k, s in metrics.get("steps", {}).items() if s["peak_rss_mb"] is None]
    if run.code != 0 or metrics.get("run_status") != "SUCCESS":
        outcome["error"] = outcome["error"] or (
            f"dagster job execute exited with {run.code}, run {metrics.get('run_status')}; "
            f"see {home / 'dagster.log'}"
        )
    elif unmeasured:
        outcome["error"] = f"no process sampled for steps {unmeasured}"
    else:
        outcome["status"] = "ok"
    Path(args.out).write_text(json.dumps(outcome, indent=2, default=str))
    if outcome["error"]:
        print(outcome["error"], file=sys.stderr)
    return 0 if outcome["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
