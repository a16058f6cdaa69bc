"""The frame whose snapshot hashes are pinned, shared by the test and the process it starts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl

from ai_core.transform.hashing import snapshot_hash_expr
from ai_core.transform.scalars import MONEY_DTYPE

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
