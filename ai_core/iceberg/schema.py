"""Turning a chunk of any accepted kind into Arrow that fits the table, and growing the table.

Existing columns keep their Iceberg type: a chunk's values are cast to it, so a Polars frame
(every column nullable, 64-bit integers) writes into a table created from `RAW_SCHEMA`. Columns the
table does not have yet are added as optional columns. A cast that would lose data fails and
names the column.
"""

from __future__ import annotations

import datetime as dt
from typing import TypeAlias

import pyarrow as pa
import pyarrow.compute as pc

from ai_core.arrow import Frame, as_arrow

PARTITION_COLUMN = "_partition_date"
"""The date column every table is partitioned by (identity transform)."""

Chunk: TypeAlias = Frame
"""One piece of a partition's rows, as accepted by the writer."""


def chunk_to_arrow(chunk: Chunk, partition_date: dt.date) -> pa.Table:
    """The chunk as an Arrow table whose `_partition_date` is `partition_date` on every row."""
    return _with_partition_column(as_arrow(chunk), partition_date)


def _with_partition_column(table: pa.Table, partition_date: dt.date) -> pa.Table:
    if PARTITION_COLUMN not in table.column_names:
        column = pa.repeat(pa.scalar(partition_date, pa.date32()), table.num_rows)
        field = pa.field(PARTITION_COLUMN, pa.date32(), nullable=False)
        return table.add_column(0, field, [column])
    column = table.column(PARTITION_COLUMN)
    if table.num_rows == 0:
        return table
    if column.null_count:
        raise ValueError(
            f"{PARTITION_COLUMN} has {column.null_count} null values in a chunk for partition "
            f"{partition_date}: fill it or drop the column and let the writer set it"
        )
    bounds = pc.min_max(column.cast(pa.date32()))
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    if low != partition_date or high != partition_date:
        raise ValueError(
            f"a chunk for partition {partition_date} holds {PARTITION_COLUMN} values from {low} to "
            f"{high}: write each day's rows to its own partition"
        )
    return table


def storable_type(dtype: pa.DataType, column: str) -> pa.DataType:
    """The Arrow type Iceberg can store for a new column (views to large types, ns to us)."""
    if pa.types.is_null(dtype):
        raise TypeError(
            f"column {column!r} has no type (every value is null and the frame never typed it): "
            "cast it to the intended type before writing"
        )
    if pa.types.is_dictionary(dtype):
        return storable_type(dtype.value_type, column)
    if pa.types.is_string_view(dtype) or pa.types.is_string(dtype):
        return pa.large_string()
    if pa.types.is_binary_view(dtype) or pa.types.is_binary(dtype):
        return pa.large_binary()
    if pa.types.is_timestamp(dtype) and dtype.unit == "ns":
        return pa.timestamp("us", tz=dtype.tz)
    if pa.types.is_time(dtype):
        return pa.time64("us")
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype) or pa.types.is_list_view(dtype):
        item = dtype.value_field
        return pa.large_list(item.with_type(storable_type(item.type, column)).with_nullable(True))
    if pa.types.is_struct(dtype):
        return pa.struct(
            [f.with_type(storable_type(f.type, column)).with_nullable(True) for f in dtype.fields]
        )
    if pa.types.is_map(dtype):
        return pa.map_(
            storable_type(dtype.key_type, column),
            dtype.item_field.with_type(storable_type(dtype.item_type, column)),
        )
    return dtype


def creation_schema(chunk_schema: pa.Schema) -> pa.Schema:
    """The schema a new table gets from its first chunk: storable types, `_partition_date` required.

    Nullability is kept from the chunk, so Arrow schemas that mark required fields (the raw
    tier's) make required Iceberg columns; Polars frames make optional ones.
    """
    fields = []
    for field in chunk_schema:
        typed = field.with_type(storable_type(field.type, field.name)).remove_metadata()
        fields.append(typed.with_nullable(False) if field.name == PARTITION_COLUMN else typed)
    return pa.schema(fields)


def new_columns(table_schema: pa.Schema, chunk_schema: pa.Schema) -> pa.Schema | None:
    """The chunk's columns that the table lacks, as optional storable fields; None if none.

    Nested columns whose struct gained fields are included too, so `union_by_name` can add the
    nested fields.
    """
    existing = set(table_schema.names)
    added = []
    for field in chunk_schema:
        is_new = field.name not in existing
        if is_new or _gains_nested_fields(table_schema.field(field.name).type, field.type):
            added.append(_optional(field))
    return pa.schema(added) if added else None


def _optional(field: pa.Field) -> pa.Field:
    return pa.field(field.name, storable_type(field.type, field.name), nullable=True)


def is_list(dtype: pa.DataType) -> bool:
    """A list of either offset width, as tables store lists (`storable_type`)."""
    return pa.types.is_list(dtype) or pa.types.is_large_list(dtype)


def _gains_nested_fields(stored: pa.DataType, incoming: pa.DataType) -> bool:
    if pa.types.is_struct(stored) and pa.types.is_struct(incoming):
        names = {f.name for f in stored.fields}
        return any(
            f.name not in names or _gains_nested_fields(stored.field(f.name).type, f.type)
            for f in incoming.fields
        )
    if is_list(stored) and is_list(incoming):
        return _gains_nested_fields(stored.value_type, incoming.value_type)
    return False


def _decimal_stored_as_float(incoming: pa.DataType, stored: pa.DataType) -> str | None:
    """The incoming decimal type, where `stored` has a float in its place (nested too)."""
    if pa.types.is_decimal(incoming) and pa.types.is_floating(stored):
        return str(incoming)
    if pa.types.is_struct(incoming) and pa.types.is_struct(stored):
        names = {f.name for f in stored.fields}
        for f in incoming.fields:
            if f.name in names:
                found = _decimal_stored_as_float(f.type, stored.field(f.name).type)
                if found is not None:
                    return found
        return None
    if is_list(incoming) and is_list(stored):
        return _decimal_stored_as_float(incoming.value_type, stored.value_type)
    return None


def conform(chunk: pa.Table, target: pa.Schema, table: str) -> pa.Table:
    """The chunk with exactly the target's columns, order, types and nullability.

    Optional columns the chunk lacks are filled with nulls; a missing required column, a null in
    a required column or a lossy cast fails with the column and table named.
    """
    columns = []
    for field in target:
        if field.name not in chunk.column_names:
            if not field.nullable:
                raise ValueError(
                    f"{table}: the chunk has no column {field.name!r}, which the table requires; "
                    "add it to the frame"
                )
            columns.append(pa.nulls(chunk.num_rows, field.type))
            continue
        column = chunk.column(field.name)
        if not field.nullable and column.null_count:
            raise ValueError(
                f"{table}: column {field.name!r} is required but the chunk has "
                f"{column.null_count} nulls in it"
            )
        if column.type != field.type:
            lossy = _decimal_stored_as_float(column.type, field.type)
            if lossy is not None:
                raise ValueError(
                    f"{table}: column {field.name!r} holds decimals ({lossy}) but the table stores "
                    "it as a floating-point number, which Iceberg cannot change to a decimal; "
                    f"drop {table} and materialize its days again (README: Upgrading)"
                )
            try:
                column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ValueError(
                    f"{table}: column {field.name!r} of type {column.type} cannot be stored as "
                    f"{field.type} ({exc}); cast it in the asset or evolve the table"
                ) from exc
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=target)
