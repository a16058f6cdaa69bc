"""Materialise one partition of one asset of the project's Dagster definitions, in this process."""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

import dagster as dg

from benchmarks import defaults


def load_definitions(ref: str = defaults.DEFINITIONS) -> dg.Definitions:
    """The `module:attribute` Definitions, called first when it is a `@dg.definitions` loader."""
    module_name, _, attr = ref.partition(":")
    defs = getattr(importlib.import_module(module_name), attr, None)
    if callable(defs) and not isinstance(defs, dg.Definitions):
        defs = defs()
    if not isinstance(defs, dg.Definitions):
        raise TypeError(f"{ref} is {type(defs).__name__}, not a dagster Definitions object")
    return defs


def plain(value: Any) -> Any:
    """A metadata value as plain JSON: the wrapped value when it serialises, else its text."""
    raw = value.value if isinstance(value, dg.MetadataValue) else value
    if isinstance(raw, dg.TableSchema):
        return [{"name": c.name, "type": c.type} for c in raw.columns]
    try:
        json.dumps(raw)
    except Exception:  # Dagster records refuse iteration with a plain `Exception`
        return str(raw)
    return raw


def materialise(
    asset_key: str, partition: str, defs_ref: str = defaults.DEFINITIONS
) -> dict[str, Any]:
    """Run the implicit asset job for one asset partition with the definitions' own resources.

    Returns `success`, the asset's materialisation metadata as plain values, its asset check
    results and, on failure, the step errors. The instance is ephemeral, so nothing outside the
    run's data dir is written.
    """
    defs = load_definitions(defs_ref)
    key = dg.AssetKey.from_user_string(asset_key)
    if key not in set(defs.resolve_all_asset_keys()):
        raise KeyError(f"{defs_ref} has no asset {asset_key!r}; check the scenario's asset_key")
    # The implicit job of the asset's own partitioning works even when the project mixes schemes.
    job = defs.resolve_implicit_job_def_def_for_assets([key])
    if job is None:
        job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        partition_key=partition,
        asset_selection=[key],
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    metadata: dict[str, Any] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        if materialization is not None and materialization.asset_key == key:
            metadata.update({k: plain(v) for k, v in materialization.metadata.items()})
    checks = [
        {
            "name": evaluation.check_name,
            "passed": evaluation.passed,
            "severity": evaluation.severity.value,
        }
        for evaluation in result.get_asset_check_evaluations()
    ]
    errors = []
    for failure in result.get_step_failure_events():
        error = failure.step_failure_data.error
        if error is None:
            errors.append(f"step {failure.step_key} failed")
            continue
        # The full chain goes to the stage's log; the summary keeps the root cause's message.
        print(error.to_string(), file=sys.stderr)
        while error.cause is not None:
            error = error.cause
        errors.append(f"step {failure.step_key}: {error.message.strip()}")
    return {"success": result.success, "metadata": metadata, "checks": checks, "errors": errors}
