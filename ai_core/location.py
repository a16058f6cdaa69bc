"""How a code location is loaded and how its steps run: built once a process, forked or not."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import dagster as dg

IN_PROCESS = "in_process"
FORKED = "forked"

STEP_KIND_TAG = "ai/step"
"""Op tag of a step's kind: `fetch` steps mostly wait on an upstream, `compute` steps use a core."""
FETCH, COMPUTE = "fetch", "compute"
FETCH_SLOTS = 4
"""Steps that wait on an upstream, run beside the compute steps instead of taking their cores."""

STEP_SERVER_IMPORTS = ("sqlalchemy", "alembic", "pyiceberg.catalog.sql")
"""What every forked step would otherwise import itself: the SQL layer of the Dagster instance
the step opens and pyiceberg's SQL catalog (the embedded one, and Postgres). Named, not
imported: the server skips a module it cannot import, so a deployment without one only loses
the head start."""
STEP_SERVER = "ai_core.step_server.warm"
"""Imported last by the step server: it warms Dagster's storage and freezes what the server made."""


def step_server_preloads(preload_module: str) -> list[str]:
    """What the step server imports, in order, before it forks the first step."""
    return [*STEP_SERVER_IMPORTS, preload_module, STEP_SERVER]


def load_defs_folder(tree: dg.ComponentTree) -> dg.Definitions:
    """The component tree's `defs/` folder as Definitions, with the tree for the UI.

    `dg.load_from_defs_folder`, like `tree.build_defs()` with no folder, also loads the
    components of every installed component library (dagster_aws, for one) to list them for
    the UI's scaffolding: seconds in every process that loads the location, for components the
    location does not use.
    """
    with warnings.catch_warnings():
        # As `load_from_defs_folder` does: Dagster's notes on its own beta and superseded APIs.
        for category in (dg.BetaWarning, dg.PreviewWarning, dg.SupersessionWarning):
            warnings.simplefilter("ignore", category)
        folder = tree.build_defs(Path("."))
    return dg.Definitions.merge(folder, dg.Definitions(component_tree=tree))


def step_executor(preload_module: str) -> dg.ExecutorDefinition:
    """Steps forked from a server that imported `step_server_preloads(preload_module)` once (the
    default: the SQL layer, the location, then `STEP_SERVER`, which freezes what the server
    made), or all in the run's own process when the run's config says
    `execution: {config: {steps: in_process}}`.

    Forking isolates each step's memory and lets steps run side by side, which a whole day
    needs; a run of a few light steps is faster in one process, with the same assets, IO
    manager and checks.
    """

    def choose(config: dict[str, str]) -> dict[str, object]:
        if config.get("steps") == IN_PROCESS:
            return {"in_process": {}}
        # A fetch step holds a process but hardly a core: compute steps are limited to the cores,
        # so a day's fetches run beside them instead of queueing behind them.
        cores = os.cpu_count() or 1
        return {
            "multiprocess": {
                "max_concurrent": cores + FETCH_SLOTS,
                "tag_concurrency_limits": [
                    {"key": STEP_KIND_TAG, "value": COMPUTE, "limit": cores},
                ],
                "start_method": {
                    "forkserver": {"preload_modules": step_server_preloads(preload_module)}
                },
            }
        }

    return dg.multi_or_in_process_executor.configured(
        choose,
        name="step_processes",
        config_schema={
            "steps": dg.Field(
                dg.Enum("Steps", [dg.EnumValue(FORKED), dg.EnumValue(IN_PROCESS)]),
                default_value=FORKED,
                description="`forked`: each step in a process forked from a preloaded server; "
                "`in_process`: every step in the run's process.",
            )
        },
    )
