"""The Stellantis code location: its `defs/` folder (resources included) and the core alerts."""

import os
from functools import cache
from pathlib import Path

import dagster as dg

from ai_core.defs import build_core_defs
from ai_core.location import load_defs_folder, step_executor

# The step server imports this module, which builds the location, so a forked step finds it built.
STEP_PROCESSES = step_executor(preload_module="ai_stellantis.steps")


def location(executor: dg.ExecutorDefinition = STEP_PROCESSES) -> dg.Definitions:
    """The location's definitions, its steps run by `executor`; built once a process for each
    environment, since its resources take their settings from environment variables."""
    return _location(executor, frozenset(os.environ.items()))


@cache
def _location(
    executor: dg.ExecutorDefinition, environment: frozenset[tuple[str, str]]
) -> dg.Definitions:
    return dg.Definitions.merge(
        load_defs_folder(dg.ComponentTree.for_project(path_within_project=Path(__file__).parent)),
        build_core_defs(oem="stellantis"),
        dg.Definitions(executor=executor),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return location()
