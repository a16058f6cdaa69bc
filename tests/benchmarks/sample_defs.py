"""Day-partitioned Dagster assets: one that reports metadata and a check, one that fails, and
two written by one step.

No `from __future__ import annotations`: Dagster reads the `context` annotation at definition.
"""

from collections.abc import Iterator

import dagster as dg

DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_offset=1)


@dg.asset(key=["sample", "raw", "pages"], partitions_def=DAILY)
def pages(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={
            "rows": 120,
            "bytes": dg.MetadataValue.int(4096),
            "pages": 3,
            "retries": 1,
            "partition": context.partition_key,
            "table": dg.MetadataValue.md("`sample_raw.pages`"),
            "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn("vin", "string"), dg.TableColumn("msrp", "double")]
            ),
        }
    )


@dg.asset_check(asset=pages, description="Always warns, so its result is visible.")
def pages_complete() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN)


@dg.asset(key=["sample", "raw", "broken"], partitions_def=DAILY, deps=[pages])
def broken() -> None:
    raise RuntimeError("sample/raw/broken fails on purpose")


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["sample", "transformed", "vehicles"], deps=[pages]),
        dg.AssetSpec(["sample", "transformed", "dealers"], deps=[pages]),
    ],
    partitions_def=DAILY,
)
def tables() -> Iterator[dg.MaterializeResult]:
    yield dg.MaterializeResult(
        asset_key=dg.AssetKey(["sample", "transformed", "vehicles"]),
        metadata={"rows": 100, "bytes": 2048, "pages": 3, "extract_seconds": 1.5},
    )
    yield dg.MaterializeResult(
        asset_key=dg.AssetKey(["sample", "transformed", "dealers"]),
        metadata={"rows": 7, "bytes": 512, "pages": 3, "extract_seconds": 0.25},
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[pages, broken, tables], asset_checks=[pages_complete])
