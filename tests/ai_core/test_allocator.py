"""A process that imports `ai_core` allocates Arrow's buffers with jemalloc, unless told not to."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = (
    "import ai_core, pyarrow as pa; "
    "values = pa.array(range(100_000), pa.int64()); "
    "pool = pa.default_memory_pool(); "
    "print(pool.backend_name, pool.bytes_allocated() >= values.nbytes)"
)
"""Which pool the process uses, and whether the buffers Arrow builds come from it."""


def _pool(env_pool: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if env_pool is not None:
        env["ARROW_DEFAULT_MEMORY_POOL"] = env_pool
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_importing_the_library_switches_arrow_to_jemalloc() -> None:
    assert _pool(None) == "jemalloc True"


@pytest.mark.parametrize("chosen", ["system", "mimalloc"])
def test_a_pool_named_in_the_environment_is_kept(chosen: str) -> None:
    assert _pool(chosen) == f"{chosen} True"
