"""The table upkeep job and its weekly schedule: every table of one OEM, swept in turn.

Each table's result is recorded as an observation of its asset (snapshots expired, files and
bytes removed), so an asset's page shows when its storage was last swept.
"""

# No `from __future__ import annotations`: Dagster reads the op's annotations as objects to find
# its config and resources.
import datetime as dt

import dagster as dg
from pydantic import Field

from ai_core.iceberg.resource import IcebergCatalogResource
from ai_core.iceberg.upkeep import DEFAULT_GRACE_DAYS, DEFAULT_RETENTION_DAYS, upkeep

UPKEEP_JOB = "iceberg_upkeep"
UPKEEP_CRON = "0 4 * * 0"  # Sundays 04:00 UTC, away from the daily runs


class UpkeepConfig(dg.Config):
    retention_days: float = Field(
        default=DEFAULT_RETENTION_DAYS,
        ge=0,
        description="Snapshots older than this are expired; the current one never is",
    )
    grace_days: float = Field(
        default=DEFAULT_GRACE_DAYS,
        ge=0,
        description="Unreferenced files younger than this are left alone (a write in flight)",
    )


def _asset_key(oem: str, namespace: str, table: str) -> dg.AssetKey:
    """`stellantis_raw.public_inventory` back to `stellantis/raw/public_inventory`."""
    return dg.AssetKey([oem, namespace.removeprefix(f"{oem}_"), table])


def build_upkeep_defs(oem: str) -> dg.Definitions:
    """The upkeep job over every table in the `<oem>_*` namespaces, and its weekly schedule."""

    @dg.op(name=f"{oem}_table_upkeep")
    def _upkeep(
        context: dg.OpExecutionContext, config: UpkeepConfig, iceberg: IcebergCatalogResource
    ) -> dg.Output[None]:
        catalog = iceberg.catalog()
        namespaces = [
            ns[0]
            for ns in catalog.list_namespaces()
            if len(ns) == 1 and ns[0].startswith(f"{oem}_")
        ]
        failed: list[str] = []
        totals = {"tables": 0, "files_removed": 0, "bytes_removed": 0}
        for namespace in sorted(namespaces):
            for identifier in sorted(catalog.list_tables(namespace)):
                name = ".".join(identifier)
                try:
                    report = upkeep(
                        catalog.load_table(identifier),
                        name,
                        retention=dt.timedelta(days=config.retention_days),
                        grace=dt.timedelta(days=config.grace_days),
                    )
                except Exception as exc:  # one table's trouble must not leave the rest unswept
                    context.log.error(f"upkeep of {name} failed: {exc}")
                    failed.append(name)
                    continue
                context.log.info(f"{name}: {report.metadata()}")
                context.log_event(
                    dg.AssetObservation(
                        asset_key=_asset_key(oem, namespace, identifier[-1]),
                        metadata={"table": name, **report.metadata()},
                    )
                )
                totals["tables"] += 1
                totals["files_removed"] += report.files_removed
                totals["bytes_removed"] += report.bytes_removed
        if failed:
            raise dg.Failure(
                f"upkeep failed for {', '.join(failed)} (see the log); the other tables were "
                "swept. Rerun the job once the cause is fixed"
            )
        return dg.Output(None, metadata=totals)

    @dg.job(
        name=UPKEEP_JOB,
        description=f"Expires old snapshots of every {oem} table and deletes the files no "
        "snapshot references any more.",
    )
    def _job() -> None:
        _upkeep()

    schedule = dg.ScheduleDefinition(
        job=_job,
        cron_schedule=UPKEEP_CRON,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    return dg.Definitions(jobs=[_job], schedules=[schedule])
