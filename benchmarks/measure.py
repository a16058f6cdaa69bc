"""Run one command in its own process group and measure its whole process tree.

Peak memory is taken two ways and the larger is reported. A psutil sampler sums the RSS of the
process and its descendants every ~50 ms (descendants are looked up every ~0.5 s), which sees
children that are never waited for (and so never reach any rusage) but can miss a spike shorter
than a sample or a child that lives less than half a second. The kernel's rusage of the
reaped child, read with `wait4`, is exact for the child and every descendant it waited for, but
blind to the rest. `getrusage(RUSAGE_CHILDREN)` would report the same figure, except that its
`ru_maxrss` is a running maximum over every child this harness ever had: once one stage peaked
high, a later stage's delta is zero. `wait4` gives that same kernel figure for this child alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

SAMPLE_INTERVAL_S = 0.05
DISCOVER_EVERY = 10
"""Descendants are listed every this many samples: listing scans every process on the machine
(about 3 ms, against 0.1 ms to read the known ones' RSS), and stages start children rarely."""


@dataclass(frozen=True, slots=True)
class ProcessFigures:
    """What one stage process cost, and how it ended."""

    status: str
    """`ok` (exit 0), `failed` (non-zero exit) or `killed` (by the watchdog)."""
    returncode: int | None
    wall_s: float
    user_cpu_s: float
    sys_cpu_s: float
    peak_rss_sampled_mb: float
    peak_rss_rusage_mb: float
    samples: int

    @property
    def peak_rss_mb(self) -> float:
        return max(self.peak_rss_sampled_mb, self.peak_rss_rusage_mb)


def _rss(procs: Sequence[psutil.Process]) -> int:
    """Summed RSS of some processes; one that has exited holds no memory."""
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total


def _descendants(root: psutil.Process) -> list[psutil.Process] | None:
    """The root's descendants now, or None once the root is gone."""
    try:
        return root.children(recursive=True)
    except psutil.Error:
        return None


def _kill_tree(pgid: int, descendants: Sequence[psutil.Process]) -> None:
    """SIGKILL the process group, and any descendant that left it with `setsid`."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    for proc in descendants:
        try:
            proc.kill()
        except psutil.Error:
            continue


def run_measured(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log_path: Path,
    timeout_s: float,
) -> ProcessFigures:
    """Run `cmd` to completion (or until `timeout_s`) and return what its process tree cost.

    stdout and stderr go to `log_path`. The process leads a new session, so the watchdog can kill
    the whole tree with one signal without touching this harness.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd),
            env=dict(env),
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        root = psutil.Process(proc.pid)
        peak_sampled = 0
        samples = 0
        killed = False
        descendants: list[psutil.Process] = []
        try:
            while True:
                pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
                if pid == proc.pid:
                    break
                if samples % DISCOVER_EVERY == 0:
                    descendants = _descendants(root) or descendants
                peak_sampled = max(peak_sampled, _rss([root, *descendants]))
                samples += 1
                if not killed and time.perf_counter() - started > timeout_s:
                    _kill_tree(proc.pid, descendants)
                    killed = True
                time.sleep(SAMPLE_INTERVAL_S)
        except BaseException:
            # The stage leads its own session, so Ctrl-C on the harness never reaches it.
            _kill_tree(proc.pid, descendants)
            proc.wait()
            raise
        wall = time.perf_counter() - started
        # Descendants orphaned by the stage would outlive it; never leave them running. Only the
        # ones seen are killed: the group's pid is reaped now and could belong to another process.
        for orphan in descendants:
            try:
                orphan.kill()
            except psutil.Error:
                continue
    returncode = os.waitstatus_to_exitcode(status)
    # Popen must not try to reap the pid again: it is gone and may be reused.
    proc.returncode = returncode
    outcome = "killed" if killed else "ok" if returncode == 0 else "failed"
    return ProcessFigures(
        status=outcome,
        returncode=returncode,
        wall_s=wall,
        user_cpu_s=rusage.ru_utime,
        sys_cpu_s=rusage.ru_stime,
        peak_rss_sampled_mb=peak_sampled / 2**20,
        # Linux reports ru_maxrss in KiB.
        peak_rss_rusage_mb=rusage.ru_maxrss / 1024,
        samples=samples,
    )
