"""A three-step Dagster job whose steps cost what they say: one holds memory, one waits.

No `from __future__ import annotations`: Dagster reads the `context` annotation at definition.
"""

import time

import dagster as dg

HOLD_MB = 300
WAIT_S = 2.0
DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_offset=1)
# Every step in a process of its own, forked from a server that imported this module once.
STEP_PROCESSES = dg.multiprocess_executor.configured(
    {"start_method": {"forkserver": {"preload_modules": [__name__]}}}
)


@dg.asset(key=["sample", "job", "hold"], partitions_def=DAILY)
def hold() -> None:
    """Touches `HOLD_MB` of memory, page by page, and keeps it for a second."""
    block = bytearray(HOLD_MB * 2**20)
    block[::4096] = b"x" * len(block[::4096])
    time.sleep(1.0)


@dg.asset(key=["sample", "job", "wait"], partitions_def=DAILY)
def wait() -> None:
    time.sleep(WAIT_S)


@dg.asset(key=["sample", "job", "after"], partitions_def=DAILY, deps=[hold, wait])
def after() -> None:
    pass


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[hold, wait, after],
        jobs=[dg.define_asset_job("sample_daily", partitions_def=DAILY)],
        executor=STEP_PROCESSES,
    )
