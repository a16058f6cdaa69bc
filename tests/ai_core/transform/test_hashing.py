"""The snapshot hash: golden values for the pinned Polars, and the same in any process."""

from __future__ import annotations

import os
import subprocess
import sys

import polars as pl

from tests.ai_core.transform.golden_hash import GOLDEN, frame, hashes


def test_the_hash_is_the_golden_value_of_the_pinned_polars() -> None:
    assert hashes(frame()) == GOLDEN, (
        f"polars {pl.__version__} hashes rows differently from 2.1.0: every stored "
        "_snapshot_hash would change; follow the README before upgrading"
    )


def test_the_hash_ignores_chunking_and_order_of_rows() -> None:
    chunked = pl.concat([frame().slice(0, 1), frame().slice(1)], rechunk=False)
    assert hashes(chunked) == GOLDEN
    assert hashes(frame().reverse()) == GOLDEN[::-1]


def test_the_hash_is_the_same_in_another_process_with_one_thread() -> None:
    script = "from tests.ai_core.transform.golden_hash import frame, hashes; print(hashes(frame()))"
    env = {**os.environ, "POLARS_MAX_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == str(GOLDEN)
