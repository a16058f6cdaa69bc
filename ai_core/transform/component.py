"""`TransformedComponent`: one source entity extracted from one raw table, a partition a day.

An instance in YAML names the asset, the raw asset it reads and the entity class that declares
the rows (`ai_stellantis.entities.InventoryVehicle`). The asset reads its raw day as a
`pa.RecordBatchReader` and returns a `TransformedPartition`, which the Iceberg IO manager extracts
and writes group by group in one commit; then it reports the `integrity` (error),
`discrepancies` (warning) and `column_drift` (warning) checks.
Subclasses can override `transform` to change how a day is processed. `embedded_json` names
fields whose string values are JSON documents (a warehouse's text column), decoded before
extraction.
"""

# No `from __future__ import annotations`: Dagster reads the asset function's `raw` annotation
# as an object to choose the IO manager's input view.
import importlib
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pyarrow as pa

from ai_core.iceberg import tables
from ai_core.iceberg.resource import IcebergCatalogResource
from ai_core.iceberg.stats import day_column_counts
from ai_core.partitions import daily_partitions, partition_date
from ai_core.transform.check_results import (
    DISCREPANCIES,
    INTEGRITY,
    discrepancy_check_result,
    integrity_check_result,
)
from ai_core.transform.column_drift import COLUMN_DRIFT, ColumnDriftRule, column_drift_result
from ai_core.transform.columns import table_schema
from ai_core.transform.embedded import expand_reader
from ai_core.transform.entity import Entity
from ai_core.transform.extract import compile_extractor
from ai_core.transform.partition import TransformedPartition


def load_entity(path: str) -> type[Entity]:
    """The entity class at a dotted path (`package.module.Class`)."""
    module_name, _, name = path.rpartition(".")
    try:
        found = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ValueError(
            f"entity {path!r} cannot be imported: give the dotted path of an Entity class"
        ) from exc
    if not (isinstance(found, type) and issubclass(found, Entity)):
        raise ValueError(f"entity {path!r} is not an Entity class")
    return found


class TransformedComponent(dg.Component, dg.Model, dg.Resolvable):
    """A transformed-tier asset: typed entity rows of a raw table, one partition a day."""

    asset_key: str
    description: str
    raw: str
    entity: str
    start_date: str
    """The first daily partition (YYYY-MM-DD)."""
    group_name: str = "transformed"
    io_manager_key: str = "iceberg_io_manager"
    column_drift: ColumnDriftRule = ColumnDriftRule()
    owners: list[str] = []
    tags: dict[str, str] = {}
    embedded_json: list[str] = []

    @property
    def key(self) -> dg.AssetKey:
        return dg.AssetKey.from_user_string(self.asset_key)

    def entity_class(self) -> type[Entity]:
        return load_entity(self.entity)

    def transform(
        self, context: dg.AssetExecutionContext, raw: pa.RecordBatchReader
    ) -> TransformedPartition:
        """The day's rows, extracted as the IO manager writes them, resolved before it commits."""
        extractor = compile_extractor(self.entity_class())
        if self.embedded_json:
            raw = expand_reader(raw, self.embedded_json)
        return TransformedPartition(self.asset_key, extractor, raw)

    def column_drift_check(
        self, context: dg.AssetExecutionContext, partition: TransformedPartition
    ) -> dg.AssetCheckResult:
        """Each column's non-null share today against the latest earlier day, from the written
        table, and the declared keys the day's sampled records lack."""
        iceberg: IcebergCatalogResource = context.resources.iceberg
        table = iceberg.table(self.key)
        if table is None:
            raise dg.Failure(f"{self.asset_key} has no table after its write: rerun the partition")
        day = partition_date(context)
        columns = list(partition.extractor.schema)
        earlier = [d for d in tables.partition_dates(table) if d < day]
        return column_drift_result(
            day_column_counts(table, day, columns),
            day_column_counts(table, earlier[-1], columns) if earlier else None,
            partition.missing_keys(),
            self.column_drift,
        )

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        entity = self.entity_class()
        component = self
        key = self.key
        checks = [
            dg.AssetCheckSpec(
                INTEGRITY,
                asset=key,
                description="No raw page or record was lost, and every sub-resource holds as "
                "many distinct keys as the upstream reported.",
            ),
            dg.AssetCheckSpec(
                DISCREPANCIES,
                asset=key,
                description="Records kept but corrected or suspect, upstream keys the "
                "declaration does not know, and key conflicts.",
            ),
            dg.AssetCheckSpec(
                COLUMN_DRIFT,
                asset=key,
                description="No column's non-null share fell from at least "
                f"{self.column_drift.was_at_least:.0%} on the previous day to under "
                f"{self.column_drift.now_below:.0%}, and no declared key is absent from every "
                "sampled record.",
            ),
        ]

        @dg.asset(
            key=key,
            description=self.description,
            group_name=self.group_name,
            partitions_def=daily_partitions(self.start_date),
            ins={"raw": dg.AssetIn(key=dg.AssetKey.from_user_string(self.raw))},
            io_manager_key=self.io_manager_key,
            required_resource_keys={"iceberg"},
            kinds={"iceberg", "polars"},
            check_specs=checks,
            owners=self.owners or None,
            tags=self.tags or None,
            metadata={
                "entity": f"{entity.__module__}.{entity.__qualname__}",
                "dagster/column_schema": table_schema(entity),
            },
        )
        def _transformed_asset(
            context: dg.AssetExecutionContext, raw: pa.RecordBatchReader
        ) -> Iterator[Any]:
            partition = component.transform(context, raw)
            yield dg.Output(partition)
            yield integrity_check_result(partition.integrity())
            yield discrepancy_check_result(partition.discrepancies())
            yield component.column_drift_check(context, partition)

        return dg.Definitions(assets=[_transformed_asset])
