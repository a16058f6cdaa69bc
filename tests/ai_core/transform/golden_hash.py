"""The frame whose snapshot hashes are pinned, shared by the test and the process it starts."""

from __future__ import annotations

import datetime as dt

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
