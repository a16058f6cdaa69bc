"""The daily job with the Celery executor, as a module-level function workers can reconstruct."""

from __future__ import annotations

import dagster as dg


def daily_job() -> dg.JobDefinition:
    from ai_stellantis.deploy.celery import defs

    return defs.resolve_job_def("stellantis_daily")
