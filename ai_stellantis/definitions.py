"""The Stellantis code location: its `defs/` folder (resources included) and the core alerts."""

from pathlib import Path

import dagster as dg

from ai_core.defs import build_core_defs

# Each step forks from a server that imported the location once, instead of a fresh interpreter
# importing Dagster, Polars and pyiceberg again for every step.
STEP_PROCESSES = dg.multiprocess_executor.configured(
    {"start_method": {"forkserver": {"preload_modules": [__name__]}}}
)


def location(executor: dg.ExecutorDefinition = STEP_PROCESSES) -> dg.Definitions:
    """The location's definitions, its steps run by `executor`."""
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        build_core_defs(oem="stellantis"),
        dg.Definitions(executor=executor),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return location()
