"""Frames that cross module boundaries, Arrow or Polars, converted to each other in one place."""

from __future__ import annotations

from typing import TypeAlias

import polars as pl
import pyarrow as pa

Frame: TypeAlias = pa.Table | pa.RecordBatch | pl.DataFrame
"""Rows handed from one module to another, in whichever container the producer had."""


def as_arrow(frame: Frame) -> pa.Table:
    """The rows as an Arrow table, without copying where Arrow allows.

    Polars columns come out with the long-standing Arrow types (large strings rather than string
    views), which Iceberg stores and every Arrow consumer reads.
    """
    if isinstance(frame, pl.DataFrame):
        return frame.to_arrow(compat_level=pl.CompatLevel.oldest())
    if isinstance(frame, pa.RecordBatch):
        return pa.Table.from_batches([frame])
    if isinstance(frame, pa.Table):
        return frame
    raise TypeError(
        f"cannot use rows of type {type(frame).__name__}: expected a pyarrow Table or "
        "RecordBatch, or a polars DataFrame"
    )


def as_polars(frame: Frame) -> pl.DataFrame:
    """The rows as a Polars frame, without copying where Arrow allows."""
    if isinstance(frame, pl.DataFrame):
        return frame
    converted = pl.from_arrow(as_arrow(frame))
    assert isinstance(converted, pl.DataFrame)  # a table always converts to a frame
    return converted
