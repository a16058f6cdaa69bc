"""Running a consolidated component's assets for a day, in this process, on a test catalog."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import dagster as dg

from ai_core.consolidate import ConsolidatedComponent
from ai_core.iceberg.io_manager import IcebergIOManager
from ai_core.iceberg.resource import IcebergCatalogResource


def component_assets(component: ConsolidatedComponent) -> list[dg.AssetsDefinition]:
    defs = component.build_defs(dg.ComponentTree.for_test().load_context)
    return [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]


def materialize(
    component: ConsolidatedComponent,
    catalog: IcebergCatalogResource,
    day: dt.date,
    *,
    selection: Sequence[dg.AssetKey] | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    """The component's assets (or `selection`) for `day`, reading and writing `catalog`."""
    return dg.materialize(
        component_assets(component),
        selection=selection,
        partition_key=day.isoformat(),
        resources={
            "iceberg": catalog,
            "iceberg_io_manager": IcebergIOManager(
                catalog_name=catalog.catalog_name, data_dir=catalog.data_dir
            ),
        },
        raise_on_error=raise_on_error,
    )
