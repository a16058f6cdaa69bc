"""`build_core_defs`: what every OEM's code location merges besides its `defs/` folder."""

from __future__ import annotations

import dagster as dg

from ai_core.alerts.resource import SENTRY_DSN_ENV, SentryResource
from ai_core.alerts.sensors import build_asset_check_sentry_sensor, build_run_failure_sentry_sensor
from ai_core.resources import env_var_if_set
from ai_core.upkeep import build_upkeep_defs


def build_core_defs(oem: str) -> dg.Definitions:
    """The Sentry sensors and their resource, and the weekly upkeep of the OEM's tables, for
    the OEM whose asset keys start with `oem`. Alerts go to `$SENTRY_DSN` when it is set."""
    return dg.Definitions.merge(
        dg.Definitions(
            sensors=[build_asset_check_sentry_sensor(oem), build_run_failure_sentry_sensor(oem)],
            resources={"sentry": SentryResource(dsn=env_var_if_set(SENTRY_DSN_ENV))},
        ),
        build_upkeep_defs(oem),
    )
