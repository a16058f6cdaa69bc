"""`TransformedComponent`: the entities extracted from one raw table, a table each, a day each.

An instance in YAML names the raw asset it reads and, under `tables`, each table's asset key and
the entity class that declares its rows (`ai_stellantis.entities.InventoryVehicle`). One step
(a Dagster multi-asset, subsettable by table) reads the raw day once as a `pa.RecordBatchReader`
and returns a `TransformedPartition` per selected table, all from one `TransformedDay`, which
decodes each raw page once for all of them; the Iceberg IO manager writes each table's day in
one commit. Each table then reports its `integrity` (error), `discrepancies` (warning) and
`column_drift` (warning) checks.
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
from pydantic import model_validator

from ai_core.iceberg import tables
from ai_core.iceberg.resource import IcebergCatalogResource
from ai_core.iceberg.stats import day_column_counts
from ai_core.location import COMPUTE, STEP_KIND_TAG
from ai_core.partitions import daily_partitions, partition_date
from ai_core.transform.check_results import (
    DISCREPANCIES,
    INTEGRITY,
    discrepancy_check_result,
    integrity_check_result,
)
from ai_core.transform.column_drift import COLUMN_DRIFT, ColumnDriftRule, column_drift_result
from ai_core.transform.columns import table_schema
from ai_core.transform.day import TransformedDay
from ai_core.transform.embedded import expand_reader
from ai_core.transform.entity import Entity
from ai_core.transform.extract import compile_extractor
from ai_core.transform.partition import TransformedPartition
from ai_core.transform.shared_pages import shared_page_dtype


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


class TransformedTable(dg.Model, dg.Resolvable):
    """One table of a `TransformedComponent`: its asset key, entity class and description."""

    asset_key: str
    entity: str
    description: str

    @property
    def key(self) -> dg.AssetKey:
        return dg.AssetKey.from_user_string(self.asset_key)

    def entity_class(self) -> type[Entity]:
        return load_entity(self.entity)


class TransformedComponent(dg.Component, dg.Model, dg.Resolvable):
    """Transformed-tier assets: typed entity rows of one raw table, a table per entity, one
    partition a day, each raw page decoded once for all of them."""

    raw: str
    tables: list[TransformedTable]
    start_date: str
    """The first daily partition (YYYY-MM-DD)."""
    name: str = ""
    """The step's name; by default `transform__` and the raw asset key."""
    group_name: str = "transformed"
    io_manager_key: str = "iceberg_io_manager"
    column_drift: ColumnDriftRule = ColumnDriftRule()
    owners: list[str] = []
    tags: dict[str, str] = {}
    embedded_json: list[str] = []

    @model_validator(mode="after")
    def _distinct_tables(self) -> "TransformedComponent":
        keys = [t.asset_key for t in self.tables]
        if not keys:
            raise ValueError(f"the transformed instance of {self.raw} lists no tables")
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated:
            raise ValueError(f"the transformed instance of {self.raw} lists {repeated} twice")
        return self

    @property
    def keys(self) -> list[dg.AssetKey]:
        return [t.key for t in self.tables]

    @property
    def op_name(self) -> str:
        raw = dg.AssetKey.from_user_string(self.raw).to_python_identifier()
        return self.name or f"transform__{raw}"

    def transform(
        self,
        context: dg.AssetExecutionContext,
        raw: pa.RecordBatchReader,
        selected: list[TransformedTable],
    ) -> list[TransformedPartition]:
        """The selected tables' days, extracted from one read of the raw day as the IO manager
        writes them, each resolved before its commit."""
        source = expand_reader(raw, self.embedded_json) if self.embedded_json else raw
        day = TransformedDay(source)
        return [day.partition(t.asset_key, compile_extractor(t.entity_class())) for t in selected]

    def column_drift_check(
        self, context: dg.AssetExecutionContext, partition: TransformedPartition
    ) -> dg.AssetCheckResult:
        """Each column's non-null share today against the latest earlier day, from the written
        table, and the declared keys the day's sampled records lack."""
        key = dg.AssetKey.from_user_string(partition.label)
        iceberg: IcebergCatalogResource = context.resources.iceberg
        table = iceberg.table(key)
        if table is None:
            raise dg.Failure(f"{partition.label} has no table after its write: rerun the partition")
        day = partition_date(context)
        columns = list(partition.extractor.schema)
        earlier = [d for d in tables.partition_dates(table) if d < day]
        return column_drift_result(
            day_column_counts(table, day, columns),
            day_column_counts(table, earlier[-1], columns) if earlier else None,
            partition.missing_keys(),
            self.column_drift,
            asset_key=key,
        )

    def check_specs(self, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
        return [
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

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        component = self
        entities = {t.asset_key: t.entity_class() for t in self.tables}
        # Entities that read one key as two shapes cannot share a decode: fail at load.
        shared_page_dtype([compile_extractor(e) for e in entities.values()])
        outs = {
            t.key.to_python_identifier(): dg.AssetOut(
                key=t.key,
                description=t.description,
                group_name=self.group_name,
                io_manager_key=self.io_manager_key,
                is_required=False,
                kinds={"iceberg", "polars"},
                owners=self.owners or None,
                tags=self.tags or None,
                metadata={
                    "entity": f"{entity.__module__}.{entity.__qualname__}",
                    "dagster/column_schema": table_schema(entity),
                },
            )
            for t, entity in zip(self.tables, entities.values(), strict=True)
        }

        @dg.multi_asset(
            name=self.op_name,
            outs=outs,
            partitions_def=daily_partitions(self.start_date),
            ins={"raw": dg.AssetIn(key=dg.AssetKey.from_user_string(self.raw))},
            required_resource_keys={"iceberg"},
            check_specs=[c for key in self.keys for c in self.check_specs(key)],
            can_subset=True,
            op_tags={STEP_KIND_TAG: COMPUTE},
        )
        def _transformed_assets(
            context: dg.AssetExecutionContext, raw: pa.RecordBatchReader
        ) -> Iterator[Any]:
            selected = [t for t in component.tables if t.key in context.selected_asset_keys]
            partitions = component.transform(context, raw, selected)
            for partition in partitions:
                key = dg.AssetKey.from_user_string(partition.label)
                # The IO manager writes and commits each table's day as it is yielded.
                yield dg.Output(partition, output_name=key.to_python_identifier())
            checks = context.selected_asset_check_keys
            for partition in partitions:
                key = dg.AssetKey.from_user_string(partition.label)
                if dg.AssetCheckKey(key, INTEGRITY) in checks:
                    yield integrity_check_result(partition.integrity(), asset_key=key)
                if dg.AssetCheckKey(key, DISCREPANCIES) in checks:
                    yield discrepancy_check_result(partition.discrepancies(), asset_key=key)
                if dg.AssetCheckKey(key, COLUMN_DRIFT) in checks:
                    yield component.column_drift_check(context, partition)

        return dg.Definitions(assets=[_transformed_assets])
