"""The Stellantis code location: its `defs/` folder (resources included) and the core alerts."""

from functools import cache
from pathlib import Path

import dagster as dg

from ai_core.defs import build_core_defs
from ai_core.location import load_defs_folder, step_executor

# The step server imports this module, which builds the location, so a forked step finds it built.
STEP_PROCESSES = step_executor(preload_module="ai_stellantis.steps")


@cache
def location(executor: dg.ExecutorDefinition = STEP_PROCESSES) -> dg.Definitions:
    """The location's definitions, its steps run by `executor`; built once a process."""
    return dg.Definitions.merge(
        _defs_folder(),
        build_core_defs(oem="stellantis"),
        dg.Definitions(executor=executor),
    )


@cache
def _defs_folder() -> dg.Definitions:
    return load_defs_folder(Path(__file__).parent)


@dg.definitions
def defs() -> dg.Definitions:
    return location()
