"""`build_core_defs`: what every OEM's code location merges besides its `defs/` folder."""

from __future__ import annotations

import dagster as dg

from ai_core.alerts.resource import SentryResource
from ai_core.alerts.sensors import build_asset_check_sentry_sensor, build_run_failure_sentry_sensor


def build_core_defs(oem: str) -> dg.Definitions:
    """The Sentry sensors and their resource, for the OEM whose asset keys start with `oem`."""
    return dg.Definitions(
        sensors=[build_asset_check_sentry_sensor(oem), build_run_failure_sentry_sensor(oem)],
        resources={"sentry": SentryResource()},
    )
