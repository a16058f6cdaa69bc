"""The snapshot hash: golden values for the pinned Polars, and the same in any process."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import polars as pl

from ai_core.transform.hashing import snapshot_hash_expr

COLUMNS = ["name", "price", "qty", "ok", "day", "tags", "parts"]
GOLDEN = [-6360686211398560273, 4390180404133552291, 7062020450351014973]
"""Hashes of `frame()` under polars 2.1.0. If an upgrade changes them, see the README."""


def frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "key": ["a", "b", "c"],
            "name": ["Sprocket", None, "é"],
            "price": [1299.5, None, -0.0],
            "qty": [1, 2, None],
            "ok": [True, None, False],
            "day": [dt.date(2026, 11, 20), None, dt.date(1999, 1, 1)],
            "tags": [["a", "b"], [], None],
            "parts": [[{"n": "x", "p": 1.0}], None, []],
        }
    )


def hashes(data: pl.DataFrame) -> list[int]:
    return data.select(snapshot_hash_expr(COLUMNS)).to_series().to_list()


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
    script = "from tests.transform.test_hashing import frame, hashes; print(hashes(frame()))"
    env = {**os.environ, "POLARS_MAX_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == str(GOLDEN)
