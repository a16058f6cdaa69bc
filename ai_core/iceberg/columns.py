"""Column documentation of a table: Iceberg field docs, and type names readers can take in.

Descriptions are declared once (on entity classes, surfacing as the asset's
`dagster/column_schema`) and written into the Iceberg schema as field docs, so any engine that
reads the catalog shows them. Type names leave out Iceberg's internal field ids
(`list<struct<code: string>>`, not `list<struct<85: code: optional string>>`).
"""

from __future__ import annotations

from collections.abc import Mapping

from pyiceberg.exceptions import CommitFailedException
from pyiceberg.table import Table
from pyiceberg.types import IcebergType, ListType, MapType, StructType


def type_name(field_type: IcebergType) -> str:
    """The Iceberg type as a reader writes it, without field ids or optionality."""
    if isinstance(field_type, StructType):
        inner = ", ".join(f"{f.name}: {type_name(f.field_type)}" for f in field_type.fields)
        return f"struct<{inner}>"
    if isinstance(field_type, ListType):
        return f"list<{type_name(field_type.element_type)}>"
    if isinstance(field_type, MapType):
        return f"map<{type_name(field_type.key_type)}, {type_name(field_type.value_type)}>"
    return str(field_type)


def columns(table: Table) -> list[tuple[str, str, str | None]]:
    """(name, type, doc) of each top-level column."""
    return [(f.name, type_name(f.field_type), f.doc) for f in table.schema().fields]


def apply_docs(table: Table, docs: Mapping[str, str]) -> Table:
    """Sets the doc of each named top-level column that differs; one schema commit, if any.

    A concurrent writer can win the commit: the docs are then left for the next write to set,
    since they do not change any data.
    """
    current = {f.name: f.doc for f in table.schema().fields}
    changed = {n: d for n, d in docs.items() if n in current and d and current[n] != d}
    if not changed:
        return table
    try:
        with table.update_schema() as update:
            for name, doc in changed.items():
                update.update_column(name, doc=doc)
    except CommitFailedException:
        return table
    return table
