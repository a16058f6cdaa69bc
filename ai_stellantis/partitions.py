"""When the Stellantis days begin: the first daily partition of every asset and of the job."""

import dagster as dg

START_DATE = "2026-11-01"


@dg.template_var
def start_date() -> str:
    """The first day of the Stellantis partitions, as `{{ start_date }}` in `defs/`."""
    return START_DATE
