"""The snapshot hash: golden values for the pinned Polars, and the same in any process."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal

import polars as pl

from ai_core.transform.hashing import snapshot_hash_expr
from ai_core.transform.rules import MONEY_DTYPE

COLUMNS = ["name", "price", "weight", "qty", "ok", "day", "tags", "parts"]
GOLDEN = [-3024376852830062787, -9127081323114378721, 7098079560039924951]
"""Hashes of `frame()` (prices as decimals, as money is stored) under polars 2.1.0. If an upgrade
changes them, see the README."""


def frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "key": ["a", "b", "c"],
            "name": ["Sprocket", None, "é"],
            "price": pl.Series([Decimal("1299.50"), None, Decimal("-0.00")], dtype=MONEY_DTYPE),
            "weight": [12.5, None, -0.0],
            "qty": [1, 2, None],
            "ok": [True, None, False],
            "day": [dt.date(2026, 11, 20), None, dt.date(1999, 1, 1)],
            "tags": [["a", "b"], [], None],
            "parts": pl.Series(
                [[{"n": "x", "p": Decimal("1.00")}], None, []],
                dtype=pl.List(pl.Struct({"n": pl.String, "p": MONEY_DTYPE})),
            ),
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
