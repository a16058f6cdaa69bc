"""Whether the vectorised extractor agrees with the per-record path on one batch of raw rows.

The per-record path gives every accepted record a row. The extractor does too, except for an
entity with `repeated_records`, whose copies of one record it counts in `collapsed` instead; the
rows then agree once both are collapsed as the partition collapses them.
"""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from ai_core.transform import Extraction
from ai_core.transform.entity import Entity
from ai_core.transform.keys import collapse_identical
from ai_core.transform.schema import HASH_COLUMN


def _distinct(rows: pl.DataFrame, entity: type[Entity]) -> pl.DataFrame:
    key = list(entity.entity_key)
    return collapse_identical(rows, key).sort(*key, HASH_COLUMN, "_sub_resource", "_page_number")


def assert_same(got: Extraction, want: Extraction, entity: type[Entity]) -> None:
    """Same rows, the same rejected records in the same order, the same page facts."""
    if entity.repeated_records:
        assert got.rows.height + got.collapsed == want.rows.height, entity.__name__
        assert_frame_equal(_distinct(got.rows, entity), _distinct(want.rows, entity))
    else:
        assert got.collapsed == 0, entity.__name__
        assert_frame_equal(got.rows, want.rows)
    key = ["_sub_resource", "_page_number", "_record_index"]
    assert got.rejected.select(key).equals(want.rejected.select(key)), entity.__name__
    assert_frame_equal(got.pages, want.pages)
    assert got.unreadable == want.unreadable, entity.__name__
