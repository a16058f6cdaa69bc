"""Raw batches are regrouped by body bytes without reordering, splitting or losing a page."""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from ai_core.transform.batching import body_bytes, grouped


def _batch(start: int, n: int, size: int) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict(
        {
            "_page_number": pa.array(range(start, start + n), pa.int32()),
            "_response_body": pa.array(["x" * size] * n, pa.large_string()),
        }
    )


def test_groups_hold_the_target_bytes_in_order() -> None:
    batches = [_batch(i * 4, 4, 10) for i in range(5)]
    groups = list(grouped(batches, target_bytes=100))
    assert [g.num_rows for g in groups] == [12, 8]
    assert [body_bytes(g) for g in groups] == [120, 80]
    pages = [p for g in groups for p in g["_page_number"].to_pylist()]
    assert pages == list(range(20))


def test_a_batch_of_another_schema_starts_a_group_and_frames_are_accepted() -> None:
    other = pl.DataFrame({"_page_number": [99], "_response_body": ["y"], "extra": [1]})
    groups = list(grouped([_batch(0, 2, 5), other, _batch(2, 1, 5)], target_bytes=10**6))
    assert [g.num_rows for g in groups] == [2, 1, 1]
    assert groups[1].column_names == ["_page_number", "_response_body", "extra"]


def test_nothing_in_nothing_out() -> None:
    assert list(grouped([])) == []
