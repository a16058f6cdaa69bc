"""The documented columns of a transformed table, declared on the asset before it first runs.

A column's description is written once, as the docstring under the field of the canonical entity
class (source classes that re-annotate a field inherit it). The same descriptions reach the
Iceberg field docs when the IO manager writes the table.
"""

from __future__ import annotations

import dagster as dg
import polars as pl
from pydantic import BaseModel
from pydantic.fields import ComputedFieldInfo, FieldInfo

from ai_core.transform.schema import HASH_COLUMN, DType, transformed_schema

PROVENANCE_DOCS = {
    "_partition_date": "The day the row belongs to; the table's partition.",
    "_sub_resource": "The sub-resource whose pages held the record (for inventory: the brand "
    "site and model-year code).",
    "_page_number": "The page of that sub-resource the record was read from.",
    "_fetched_at": "When that page was fetched, in UTC.",
    HASH_COLUMN: "Hash of the row's non-key columns: rows of one key with equal hashes are "
    "equal (stable within one Polars version).",
}


def column_descriptions(model: type[BaseModel]) -> dict[str, str]:
    """Each documented field's description, from the nearest class in `model`'s MRO that has one."""
    found: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            continue
        fields: dict[str, FieldInfo | ComputedFieldInfo] = {
            **cls.model_fields,
            **cls.model_computed_fields,
        }
        for name, info in fields.items():
            if info.description:
                found[name] = info.description.strip()
    return found


def table_schema(model: type[BaseModel]) -> dg.TableSchema:
    """The transformed table's columns with their types and descriptions, for Dagster's UI."""
    docs = {**PROVENANCE_DOCS, **column_descriptions(model)}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, type_name(dtype), description=docs.get(name))
            for name, dtype in transformed_schema(model).items()
        ]
    )


_NAMES: dict[DType, str] = {
    pl.String: "string",
    pl.Int64: "long",
    pl.Int32: "int",
    pl.Float64: "double",
    pl.Boolean: "boolean",
    pl.Date: "date",
}


def type_name(dtype: DType) -> str:
    """The Iceberg name of the type the column is stored as (`list<struct<code: string>>`)."""
    if isinstance(dtype, pl.List):
        return f"list<{type_name(dtype.inner)}>"
    if isinstance(dtype, pl.Struct):
        return "struct<" + ", ".join(f"{f.name}: {type_name(f.dtype)}" for f in dtype.fields) + ">"
    if isinstance(dtype, pl.Datetime):
        return "timestamptz" if dtype.time_zone else "timestamp"
    if isinstance(dtype, pl.Decimal):
        return f"decimal({dtype.precision}, {dtype.scale})"
    return _NAMES.get(dtype.base_type(), str(dtype))
