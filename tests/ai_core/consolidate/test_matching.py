"""Match groups over alternative keys: chains, composite keys, missing and empty values."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from ai_core.consolidate.matching import match_groups


def _groups(rows: list[dict], match_on: list[list[str]]) -> list[set[int]]:
    frame = pl.DataFrame(
        rows,
        schema={"vin": pl.String, "order": pl.String, "dealer": pl.String, "stock": pl.Int64},
        orient="row",
    )
    labels = match_groups(frame, match_on, "test").to_list()
    by_label: dict[int, set[int]] = {}
    for row, label in enumerate(labels):
        if label is not None:
            by_label.setdefault(label, set()).add(row)
    return sorted(by_label.values(), key=min)


def test_long_chains_through_alternating_keys_are_one_group() -> None:
    # Row i shares its vin with row i+1 when i is even, its order number when i is odd.
    n = 40
    rows = [{"vin": f"V{i // 2}", "order": f"O{(i + 1) // 2}"} for i in range(n)]
    rows.reverse()
    assert _groups(rows, [["vin"], ["order"]]) == [set(range(n))]


def test_composite_keys_need_every_part_and_empty_strings_link_nothing() -> None:
    rows: list[dict[str, Any]] = [
        {"dealer": "D1", "stock": 1},
        {"dealer": "D1", "stock": 1},
        {"dealer": "D1", "stock": None},
        {"dealer": "D1", "stock": None},
        {"vin": "", "dealer": "D2", "stock": 2},
        {"vin": ""},
    ]
    assert _groups(rows, [["vin"], ["dealer", "stock"]]) == [{0, 1}, {4}]


def test_rows_without_any_key_get_no_group() -> None:
    frame = pl.DataFrame({"vin": [None, "V", "", "V"]})
    assert match_groups(frame, [["vin"]], "test").to_list() == [None, 1, None, 1]


def test_unknown_match_field_is_named() -> None:
    frame = pl.DataFrame({"vin": ["V"]})
    with pytest.raises(KeyError, match=r"consolidated acme/US/vehicles.*\['order_number'\]"):
        match_groups(frame, [["vin"], ["order_number"]], "consolidated acme/US/vehicles")
