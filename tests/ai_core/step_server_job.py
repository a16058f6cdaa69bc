"""A one-step job run by `step_executor`, preloading this module: its step says where this
module was imported and what the step server had imported by then.

No `from __future__ import annotations`: Dagster reads the `context` annotation at definition.
"""

import gc
import os
import sys

import dagster as dg

from ai_core.location import STEP_SERVER, step_executor

IMPORTED_IN = os.getpid()
IMPORTED_BEFORE = frozenset(sys.modules)


@dg.asset(key=["step_server", "probe"])
def probe(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={
            "step_pid": os.getpid(),
            "imported_in": IMPORTED_IN,
            "imported_before": dg.MetadataValue.json(sorted(IMPORTED_BEFORE)),
            # The step server imports STEP_SERVER after this module; the step never does.
            "storage_warmed": getattr(sys.modules.get(STEP_SERVER), "WARMED", None),
            "frozen_objects": gc.get_freeze_count(),
        }
    )


STEP_PROCESSES = step_executor(preload_module=__name__)
JOB = dg.define_asset_job("step_server_probe", selection=[probe], executor_def=STEP_PROCESSES)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[probe], jobs=[JOB])
