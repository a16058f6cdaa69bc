"""A step forked by `step_executor` starts from the server's imports, not its own."""

from __future__ import annotations

import os

import dagster as dg

from ai_core.location import STEP_SERVER, STEP_SERVER_IMPORTS
from tests.ai_core import step_server_job


def test_a_forked_step_finds_the_preloaded_module_warmed_storage_and_frozen_objects() -> None:
    job = dg.reconstructable(_job)
    with dg.instance_for_test() as instance:
        result = dg.execute_job(job, instance=instance)
        assert result.success
        (event,) = result.get_asset_materialization_events()
    metadata = event.materialization.metadata  # type: ignore[union-attr]
    step_pid = metadata["step_pid"].value
    assert step_pid != os.getpid()  # forked, not run here
    # Imported once in the server before the fork, not again in the step's own process.
    assert metadata["imported_in"].value not in (step_pid, os.getpid())
    before = set(metadata["imported_before"].value)
    assert set(STEP_SERVER_IMPORTS) <= before
    assert STEP_SERVER not in before  # last, so that it freezes the location too
    # Dagster's storage, which each step's instance would otherwise import, was warmed in the
    # server, and what the server made is frozen, out of the step's collections.
    assert metadata["storage_warmed"].value is True
    assert metadata["frozen_objects"].value > 10_000  # Dagster alone makes far more


def _job() -> dg.JobDefinition:
    return step_server_job.defs().resolve_job_def("step_server_probe")
