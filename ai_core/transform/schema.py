"""Table schemas implied by entity classes: Polars for the frames, Arrow for the Iceberg writer."""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any, TypeAlias, Union

import polars as pl
import pyarrow as pa
from polars.datatypes import DataTypeClass
from pydantic import BaseModel

from ai_core.transform.scalars import MONEY_DTYPE

DType: TypeAlias = pl.DataType | DataTypeClass
"""A Polars dtype as Polars hands it out: an instance, or a class for parameterless types."""

PROVENANCE_SCHEMA = pl.Schema(
    {
        "_partition_date": pl.Date(),
        "_sub_resource": pl.String(),
        "_page_number": pl.Int32(),
        "_fetched_at": pl.Datetime("us", "UTC"),
    }
)
"""Columns of the raw row that travel with every record."""
HASH_COLUMN = "_snapshot_hash"
"""The row hash of the non-key columns, as a signed 64-bit integer (Iceberg has no unsigned)."""

_SCALARS: dict[Any, pl.DataType] = {
    str: pl.String(),
    int: pl.Int64(),
    float: pl.Float64(),
    Decimal: MONEY_DTYPE,  # the only decimals are money amounts
    bool: pl.Boolean(),
    dt.date: pl.Date(),
    dt.datetime: pl.Datetime("us", "UTC"),
}


def polars_dtype(annotation: Any, where: str = "field") -> pl.DataType:
    """The Polars dtype of a field annotation (`X | None` is `X`: every column is nullable)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return polars_dtype(typing.get_args(annotation)[0], where)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"{where}: a column holds one type or null, not {annotation!r}")
        return polars_dtype(args[0], where)
    if origin in (list, Sequence):
        (inner,) = typing.get_args(annotation)
        return pl.List(polars_dtype(inner, where))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return pl.Struct(pydantic_to_polars_schema(annotation))
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    raise TypeError(
        f"{where}: no column type for {annotation!r}; use str, int, float, Decimal (money), "
        "bool, date, datetime, a list or a nested model"
    )


def pydantic_to_polars_schema(model: type[BaseModel]) -> pl.Schema:
    """Columns of a model in declaration order, fields then computed fields."""
    columns: dict[str, pl.DataType] = {}
    for name, info in model.model_fields.items():
        columns[name] = polars_dtype(info.annotation, f"{model.__name__}.{name}")
    for name, computed in model.model_computed_fields.items():
        columns[name] = polars_dtype(computed.return_type, f"{model.__name__}.{name}")
    return pl.Schema(columns)


def transformed_schema(model: type[BaseModel]) -> pl.Schema:
    """A transformed table: provenance, the entity's columns, then the snapshot hash."""
    return pl.Schema(
        {**PROVENANCE_SCHEMA, **pydantic_to_polars_schema(model), HASH_COLUMN: pl.Int64()}
    )


def transformed_arrow_schema(model: type[BaseModel], key: tuple[str, ...] = ()) -> pa.Schema:
    """The Arrow schema to write: provenance, key and hash columns are required, the rest not."""
    frame = pl.DataFrame(schema=transformed_schema(model)).to_arrow(
        compat_level=pl.CompatLevel.oldest()
    )
    required = {*PROVENANCE_SCHEMA, *key, HASH_COLUMN}
    return pa.schema([field.with_nullable(field.name not in required) for field in frame.schema])
