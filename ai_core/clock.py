"""Today's date, from one clock: `AI_TODAY` (an ISO date) when set, else the current UTC date.

Sources that serve only the present compare a run's partition with this date. Tests,
benchmarks, the local stand-in and `run-day.sh --date` set `AI_TODAY` to replay another day.
"""

from __future__ import annotations

import datetime as dt
import os

TODAY_ENV = "AI_TODAY"


def today() -> dt.date:
    """`AI_TODAY` when set, else the current date in UTC; a malformed value is an error."""
    value = os.environ.get(TODAY_ENV, "").strip()
    if not value:
        return dt.datetime.now(dt.UTC).date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{TODAY_ENV}={value!r} is not an ISO date such as 2026-11-20") from exc
