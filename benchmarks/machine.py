"""Where a run happened: the checkout's git state and the machine's size."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil


def _git(repo: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, check=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_state(repo: Path) -> dict[str, Any]:
    """Commit, branch and whether tracked or untracked files differ from it (None outside git)."""
    status = _git(repo, "status", "--porcelain")
    return {
        "sha": _git(repo, "rev-parse", "HEAD"),
        "branch": _git(repo, "rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": None if status is None else bool(status),
    }


def machine_info() -> dict[str, Any]:
    """Cores, memory, Python and platform: enough to tell whether two runs are comparable."""
    return {
        "cores_logical": os.cpu_count(),
        "cores_physical": psutil.cpu_count(logical=False),
        "memory_total_mb": round(psutil.virtual_memory().total / 2**20),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "hostname": platform.node(),
    }


def extraneous_packages(repo: Path) -> list[str]:
    """Installed distributions that `uv.lock` does not name, such as one the lock has dropped.

    `scripts/bootstrap.sh` syncs without removing packages, so an environment made before a
    dependency was dropped still imports it, and a package that pyarrow or Dagster picks up when
    present changes every process's start-up and memory.
    """
    lock = repo / "uv.lock"
    if not lock.is_file():
        return []
    locked = {_canonical(p["name"]) for p in tomllib.loads(lock.read_text())["package"]}
    installed = {_canonical(d.metadata["Name"]) for d in metadata.distributions()}
    return sorted(installed - locked)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
