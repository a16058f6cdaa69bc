"""The harness's defaults, in one place and importable without any dependency."""

DEFINITIONS = "ai_stellantis.definitions:defs"
"""The Dagster definitions whose assets `asset_key` stages name."""

UPSTREAM_SERVER = "standin.stellantis.sites.process:serve_upstream"
"""The context manager that runs the local upstream server."""

STAGE_TIMEOUT_S = 1800.0
"""Watchdog limit of one stage, overridden by the `STAGE_TIMEOUT_S` environment variable."""

MEMORY_MB = (6144.0, 8192.0)
WALL_S = (600.0, 1200.0)
"""Grade bounds `(green, red)`: at or under green is green, over red is red, between is yellow."""

WORKERS_ENV = "STELLANTIS_INVENTORY_PAGES_WORKERS"
"""The setting that says how many pages a fetch stage requests at once (for the latency bound)."""
