"""Materialise one partition of one asset, or of several assets of one step, of the project's
Dagster definitions, in this process; and `job_of`, which rebuilds a job in each forked step of
`benchmarks.daily_job`."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Sequence
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


def job_of(definitions: str, job_name: str) -> dg.JobDefinition:
    """The job, rebuilt in each step process from the same definitions (the reconstructor).

    Kept in this light module: each forked step imports it, as a deployment's step imports only
    its definitions, which the step server has loaded already.
    """
    return load_definitions(definitions).resolve_job_def(job_name)


SUMMED = ("rows", "bytes", "extract_seconds")
"""Figures of several assets of one step that add up; the others (`pages`: the same raw pages
read once) are the largest any asset reported."""


def _combined(by_key: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Several assets' metadata: each under `assets`, their figures summed or the largest."""
    combined: dict[str, Any] = {"assets": by_key}
    for name in ("rows", "bytes", "pages", "extract_seconds"):
        values = [m[name] for m in by_key.values() if isinstance(m.get(name), int | float)]
        if values:
            combined[name] = sum(values) if name in SUMMED else max(values)
    return combined


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
    asset_keys: str | Sequence[str], partition: str, defs_ref: str = defaults.DEFINITIONS
) -> dict[str, Any]:
    """Run the implicit asset job for one partition of an asset, or of several assets of one
    step, with the definitions' own resources.

    Returns `success`, the materialisation metadata as plain values (for several assets, each
    one's under `assets` and their figures combined), the asset check results and, on failure,
    the step errors. The instance is ephemeral, so nothing outside the run's data dir is written.
    """
    names = [asset_keys] if isinstance(asset_keys, str) else list(asset_keys)
    defs = load_definitions(defs_ref)
    keys = [dg.AssetKey.from_user_string(name) for name in names]
    known = set(defs.resolve_all_asset_keys())
    for name, key in zip(names, keys, strict=True):
        if key not in known:
            raise KeyError(f"{defs_ref} has no asset {name!r}; check the scenario's asset_key")
    # The implicit job of the asset's own partitioning works even when the project mixes schemes.
    job = defs.resolve_implicit_job_def_def_for_assets(keys)
    if job is None:
        job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        partition_key=partition,
        asset_selection=keys,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    by_key: dict[str, dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        if materialization is not None and materialization.asset_key in keys:
            found = by_key.setdefault(materialization.asset_key.to_user_string(), {})
            found.update({k: plain(v) for k, v in materialization.metadata.items()})
    metadata = by_key.get(names[0], {}) if len(names) == 1 else _combined(by_key)
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
