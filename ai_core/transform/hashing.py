"""The snapshot hash: one 64-bit value per record over its non-key columns.

`pl.struct(...).hash()` is identical across processes, thread counts and chunkings for one Polars
version and changes between versions, so the hash is comparable only within a pinned Polars. The
golden-value test (`tests/ai_core/transform/test_hashing.py`) fails when an upgrade changes it;
the README says what to do then.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from ai_core.transform.schema import HASH_COLUMN


def snapshot_hash_expr(columns: Sequence[str]) -> pl.Expr:
    """The hash of `columns` as a struct, reinterpreted as a signed integer for Iceberg.

    An entity that is all key has one version per key: its hash is 0.
    """
    if not columns:
        return pl.lit(0, pl.Int64).alias(HASH_COLUMN)
    return pl.struct(*columns).hash().reinterpret(signed=True).alias(HASH_COLUMN)
