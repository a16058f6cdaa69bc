"""Two day-partitioned Dagster assets, one that reports metadata and a check and one that fails.

No `from __future__ import annotations`: Dagster reads the `context` annotation at definition.
"""

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


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[pages, broken], asset_checks=[pages_complete])
