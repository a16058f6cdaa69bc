"""Adding computed columns to a large chunked frame without copying it.

A frame stacked from several sources holds each column in several chunks. A column computed
separately comes back as one chunk, and the first operation on a frame whose columns are chunked
differently realigns every column, which copies the whole frame. Cutting the new column at the
frame's chunk boundaries avoids that.
"""

from __future__ import annotations

import polars as pl


def with_aligned(frame: pl.DataFrame, *columns: pl.Series) -> pl.DataFrame:
    """`frame.with_columns(*columns)`, each column cut to the frame's chunk lengths."""
    if not frame.width:
        return frame.with_columns(*columns)
    lengths = frame.to_series(0).chunk_lengths()
    aligned = []
    for column in columns:
        if len(lengths) <= 1:
            aligned.append(column.rechunk())
            continue
        parts, offset = [], 0
        for length in lengths:
            parts.append(column.slice(offset, length))
            offset += length
        aligned.append(pl.concat(parts, rechunk=False))
    return frame.with_columns(aligned)
