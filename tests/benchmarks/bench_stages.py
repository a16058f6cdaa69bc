"""Small callable stages that exercise the benchmark harness: fetch, allocate, fail, hang."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx

from benchmarks.context import StageContext

CHILD_MB = 160


def fetch_codes(context: StageContext) -> dict[str, Any]:
    """Fetch Jeep's model-year codes from the run's upstream server."""
    base = context.env["STELLANTIS_BASE_URL_TEMPLATE"].format(domain="jeep.com")
    response = httpx.get(
        f"{base}/hostd/inventory/getinventoryfilters.json",
        params={"func": "SALES", "zip": "66952", "radius": "5000"},
        timeout=10,
    )
    response.raise_for_status()
    codes = response.json()["result"]["data"]["modelYearCodes"]
    (context.out_dir / "codes.json").write_bytes(response.content)
    return {"rows": len(codes), "bytes": len(response.content), "pages": 1, "retries": 0}


def allocate_in_child(context: StageContext) -> dict[str, Any]:
    """Hold `CHILD_MB` in a child process, so only a tree-wide measure sees it."""
    script = f"b = bytearray({CHILD_MB} * 2**20); b[::4096] = b'x' * len(b[::4096])"
    script += "; import time; time.sleep(0.4)"
    subprocess.run([sys.executable, "-c", script], check=True)
    return {"rows": 0, "partition": context.partition.isoformat(), "param": context.params["p"]}


def fail(context: StageContext) -> dict[str, Any]:
    raise RuntimeError(f"stage {context.stage_name} failed on purpose")


def hang(context: StageContext) -> dict[str, Any]:
    """Start a child that would outlive the stage, record its pid, then never return."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    (context.out_dir / "hang-child.pid").write_text(str(child.pid))
    time.sleep(3600)
    return {}


@contextlib.contextmanager
def server_that_cannot_start(**settings: Any) -> Iterator[None]:
    """An upstream factory whose server fails before serving, as a broken build would."""
    raise RuntimeError(f"cannot build the served day for {settings}")
    yield
