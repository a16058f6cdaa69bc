"""Frames stacked from several sources: computed columns added without copying, types checked.

A frame stacked from several sources holds each column in several chunks. A column computed
separately comes back as one chunk, and the first operation on a frame whose columns are chunked
differently realigns every column, which copies the whole frame. Cutting the new column at the
frame's chunk boundaries avoids that.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from ai_core.transform.schema import DType


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


def refuse_float_for_decimal(schemas: Sequence[tuple[str, pl.Schema]]) -> None:
    """Fails when a column (or a field within it) is a decimal in one frame and a float in
    another, naming both frames.

    Stacking them would silently turn money back into floats: a table written before money
    became a decimal type must be rebuilt, since Iceberg cannot change its column's type.
    """
    seen: dict[str, tuple[str, DType]] = {}
    for label, schema in schemas:
        for name, dtype in schema.items():
            if name not in seen:
                seen[name] = (label, dtype)
                continue
            other, other_dtype = seen[name]
            pairs = [((label, dtype), (other, other_dtype)), ((other, other_dtype), (label, dtype))]
            for (floats, float_dtype), (decimals, decimal_dtype) in pairs:
                if _float_for_decimal(float_dtype, decimal_dtype):
                    raise TypeError(
                        f"{floats}: column {name!r} is {float_dtype} where {decimals} has "
                        f"{decimal_dtype}; it was written before money became a decimal type: "
                        "drop that table and materialize its days again (README: Upgrading)"
                    )


def _float_for_decimal(dtype: DType, reference: DType) -> bool:
    """Whether `dtype` has a float where `reference` has a decimal, at any depth."""
    if dtype.is_float():
        return reference.is_decimal()
    if isinstance(dtype, pl.List | pl.Array) and isinstance(reference, pl.List | pl.Array):
        return _float_for_decimal(dtype.inner, reference.inner)
    if isinstance(dtype, pl.Struct) and isinstance(reference, pl.Struct):
        fields = {f.name: f.dtype for f in reference.fields}
        return any(
            _float_for_decimal(f.dtype, fields[f.name]) for f in dtype.fields if f.name in fields
        )
    return False
