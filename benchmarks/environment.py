"""A stage's own Python environment: a uv venv built from a pinned requirements file.

A peer tool's pins may clash with the project's, so its stages run in a venv of their own. The
venv is named after the file's content, built once with the project's interpreter and uv, and
reused by later runs; a build that did not finish is redone.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
COMPLETE = ".complete"
"""Written last, so a venv without it is one whose build was cut short."""


class StageEnvironmentError(RuntimeError):
    """The stage's environment could not be built."""


def uv_binary() -> str:
    """The repository's uv (`.tools/bin/uv`, as `scripts/bootstrap.sh` installs it), else PATH's."""
    local = REPO_ROOT / ".tools" / "bin" / "uv"
    if local.is_file():
        return str(local)
    found = shutil.which("uv")
    if found is None:
        raise StageEnvironmentError("uv is not installed: run scripts/bootstrap.sh first")
    return found


def venv_dir(requirements: Path, root: Path) -> Path:
    """`<root>/<file stem>-<first 12 hex digits of the file's SHA-256>`."""
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    return root / f"{requirements.stem}-{digest}"


def ensure(requirements: Path, root: Path) -> Path:
    """The interpreter of the venv for `requirements`, built under `root` when missing."""
    if not requirements.is_file():
        raise StageEnvironmentError(f"stage environment {requirements} does not exist")
    target = venv_dir(requirements, root)
    python = target / "bin" / "python"
    if (target / COMPLETE).is_file():
        return python
    shutil.rmtree(target, ignore_errors=True)
    uv = uv_binary()
    steps = [
        [uv, "venv", "--quiet", "--python", sys.executable, str(target)],
        [uv, "pip", "install", "--quiet", "--python", str(python), "-r", str(requirements)],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise StageEnvironmentError(
                f"building the stage environment {target} from {requirements} failed at "
                f"`{' '.join(step)}`: {done.stderr.strip()[-2000:]}"
            )
    (target / COMPLETE).write_text(requirements.read_text())
    return python
