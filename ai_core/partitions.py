"""One daily partitioning for every tier, so a day's partition key means the same table slice."""

from __future__ import annotations

import datetime as dt

import dagster as dg


def daily_partitions(start_date: str) -> dg.DailyPartitionsDefinition:
    """Daily partitions from `start_date`; `end_offset=1` makes today's partition runnable today."""
    return dg.DailyPartitionsDefinition(start_date=start_date, end_offset=1)


def partition_date(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> dt.date:
    """The run's daily partition as a date, with an error that says how to fix a missing key."""
    if not context.has_partition_key:
        raise dg.Failure(
            "this asset is partitioned by day: launch it for a partition, e.g. "
            "`dagster asset materialize --partition 2026-11-23 ...`"
        )
    return dt.date.fromisoformat(context.partition_key)
