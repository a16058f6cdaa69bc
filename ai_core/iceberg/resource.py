"""`IcebergCatalogResource`: code-level access to the platform's tables, by asset key.

For assets that need more than their own partition, such as a consolidated tier reading its
history, or tools writing a partition outside the IO manager:

    @dg.asset
    def history(iceberg: IcebergCatalogResource) -> ...:
        days = iceberg.partition_dates("stellantis/transformed/vehicles")
        frame = iceberg.scan_partitions("stellantis/transformed/vehicles", days[-30:])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

import polars as pl
import pyarrow as pa
from pyiceberg.table import Table

from ai_core.iceberg import columns, reader, tables
from ai_core.iceberg.identifiers import AssetKeyLike, asset_label, table_identifier, table_name
from ai_core.iceberg.reader import MissingPartitionError
from ai_core.iceberg.schema import Chunk
from ai_core.iceberg.settings import IcebergCatalogConfig
from ai_core.iceberg.writer import WriteReport, write_partition


class IcebergCatalogResource(IcebergCatalogConfig):
    """Tables by asset key: look up, list days, scan days, replace a day."""

    def table(self, asset_key: AssetKeyLike) -> Table | None:
        """The asset's table, or None before its first write."""
        return tables.load_table_or_none(self.catalog(), table_identifier(asset_key))

    def column_docs(self, asset_key: AssetKeyLike) -> dict[str, str]:
        """The documented top-level columns of the asset's table; empty before its first write."""
        table = self.table(asset_key)
        if table is None:
            return {}
        return {name: doc for name, _, doc in columns.columns(table) if doc}

    def partition_dates(self, asset_key: AssetKeyLike) -> list[dt.date]:
        """Days holding rows, from partition metadata; empty when the table does not exist."""
        table = self.table(asset_key)
        return [] if table is None else tables.partition_dates(table)

    def day_writes(
        self, asset_key: AssetKeyLike, dates: Sequence[dt.date] | None = None
    ) -> dict[dt.date, reader.DayWrite]:
        """Per day (of `dates`, or every day), the latest write's snapshot and recorded
        properties."""
        table = self.table(asset_key)
        return {} if table is None else reader.day_writes(table, dates)

    def unobserved(
        self, asset_key: AssetKeyLike, dates: Sequence[dt.date]
    ) -> dict[dt.date, frozenset[str]]:
        """Per day, the sub-resources of the source not fully observed (days with none absent)."""
        table = self.table(asset_key)
        return {} if table is None else reader.unobserved_parts(table, dates)

    def scan_partition(
        self, asset_key: AssetKeyLike, partition_date: dt.date | str
    ) -> pl.LazyFrame:
        """A lazy view of one day; `MissingPartitionError` if that day was never written."""
        return self.scan_partitions(asset_key, [_as_date(partition_date)])

    def scan_partitions(
        self, asset_key: AssetKeyLike, dates: Sequence[dt.date] | None = None
    ) -> pl.LazyFrame:
        """A lazy view of several days (all days when `dates` is None)."""
        table = self._existing(asset_key)
        if dates is not None:
            reader.require_dates(table, dates)
        return reader.lazy_frame(table, dates)

    def write_partition(
        self,
        asset_key: AssetKeyLike,
        partition_date: dt.date | str,
        chunks: Iterable[Chunk],
        *,
        snapshot_properties: Mapping[str, str] | None = None,
        schema_hint: pa.Schema | None = None,
    ) -> WriteReport:
        """Replace one day of the asset's table with `chunks`, in one commit."""
        return write_partition(
            self.catalog(),
            table_identifier(asset_key),
            _as_date(partition_date),
            chunks,
            snapshot_properties=snapshot_properties,
            schema_hint=schema_hint,
            max_commit_attempts=self.max_commit_attempts,
        )

    def _existing(self, asset_key: AssetKeyLike) -> Table:
        table = self.table(asset_key)
        if table is None:
            raise MissingPartitionError(
                f"table {table_name(asset_key)} does not exist yet: "
                f"materialize {asset_label(asset_key)} first"
            )
        return table


def _as_date(value: dt.date | str) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
