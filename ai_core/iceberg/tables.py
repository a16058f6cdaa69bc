"""Finding and creating the platform's tables: one per asset, partitioned by day.

A table is created on its first write with an identity partition on `_partition_date`. The
partition field is added in the same transaction as the create (pyiceberg rejects a spec given
with source ids against an Arrow schema), so the table never exists unpartitioned. Two writers
creating the same table at once is fine: the loser loads what the winner created.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.conversions import from_bytes
from pyiceberg.exceptions import NoSuchTableError, TableAlreadyExistsError
from pyiceberg.expressions import AlwaysTrue, BooleanExpression, EqualTo, In
from pyiceberg.manifest import ManifestContent
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.table import Table
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import DateType

from ai_core.iceberg.catalog import lost_creation_race
from ai_core.iceberg.schema import PARTITION_COLUMN

Identifier = str | tuple[str, ...]


def dotted(identifier: Identifier) -> str:
    return identifier if isinstance(identifier, str) else ".".join(identifier)


def day_filter(dates: Sequence[dt.date] | None) -> BooleanExpression:
    """Rows of the given days (every row when `dates` is None), as a pyiceberg filter."""
    # pyiceberg's predicates take (term, literal) positionally; their pydantic-generated
    # signature that type checkers see names the fields instead.
    if dates is None:
        return AlwaysTrue()
    if len(dates) == 1:
        return EqualTo(PARTITION_COLUMN, dates[0])  # type: ignore[call-arg, arg-type]
    return In(PARTITION_COLUMN, set(dates))  # type: ignore[call-arg, arg-type]


def load_table_or_none(catalog: Catalog, identifier: Identifier) -> Table | None:
    """The table, or None when it (or its namespace) does not exist yet."""
    try:
        return catalog.load_table(identifier)
    except NoSuchTableError:
        return None


def ensure_table(catalog: Catalog, identifier: Identifier, schema: pa.Schema) -> Table:
    """Load the table, creating namespace and day-partitioned table from `schema` if absent."""
    table = load_table_or_none(catalog, identifier)
    if table is None:
        namespace = dotted(identifier).rsplit(".", 1)[0]
        try:
            catalog.create_namespace_if_not_exists(namespace)
        except Exception as exc:
            # Another process created it between the existence check and the insert.
            if not (lost_creation_race(exc) and catalog.namespace_exists(namespace)):
                raise
        try:
            with (
                catalog.create_table_transaction(identifier, schema=schema) as tx,
                tx.update_spec() as spec,
            ):
                spec.add_identity(PARTITION_COLUMN)
        except TableAlreadyExistsError:
            pass
        except Exception as exc:
            if not lost_creation_race(exc):
                raise
        table = catalog.load_table(identifier)
    day_partition_field(table)
    return table


def day_partition_field(table: Table) -> PartitionField:
    """The identity partition on `_partition_date`, or an error saying the table is unfit."""
    field = _day_field(table.spec(), table)
    if field is None:
        raise ValueError(
            f"table {dotted(table.name())} is not partitioned by identity({PARTITION_COLUMN}) "
            f"(spec: {table.spec()}); day partitions cannot be replaced atomically in it. Migrate "
            "it to that spec or write to a new table"
        )
    return field


def _day_field(spec: PartitionSpec, table: Table) -> PartitionField | None:
    try:
        source_id = table.schema().find_field(PARTITION_COLUMN).field_id
    except ValueError:
        return None
    for field in spec.fields:
        if field.source_id == source_id and isinstance(field.transform, IdentityTransform):
            return field
    return None


def partition_dates(table: Table) -> list[dt.date]:
    """Days holding data in the current snapshot, read from metadata only (no data files).

    Each commit of this platform writes one day per manifest, so the manifest list's partition
    bounds usually name the day outright; only manifests spanning several days (merged by other
    engines) are opened to list their files' days.
    """
    snapshot = table.current_snapshot()
    if snapshot is None:
        return []
    field = day_partition_field(table)
    days: set[dt.date] = set()
    for manifest in snapshot.manifests(table.io):
        if manifest.content != ManifestContent.DATA:
            continue
        if not (manifest.has_added_files() or manifest.has_existing_files()):
            continue
        position = _field_position(table.specs()[manifest.partition_spec_id], field)
        bounds = (
            manifest.partitions[position] if manifest.partitions and position is not None else None
        )
        if (
            bounds is not None
            and bounds.lower_bound is not None
            and bounds.lower_bound == bounds.upper_bound
        ):
            days.add(_EPOCH + dt.timedelta(days=int(from_bytes(DateType(), bounds.lower_bound))))
            continue
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
            if position is not None and entry.data_file.partition[position] is not None:
                days.add(_EPOCH + dt.timedelta(days=entry.data_file.partition[position]))
    return sorted(days)


_EPOCH = dt.date(1970, 1, 1)


def _field_position(spec: PartitionSpec, field: PartitionField) -> int | None:
    for position, candidate in enumerate(spec.fields):
        if candidate == field:
            return position
    return None
