"""Which day's history each consolidated day was built on, and which days are now stale.

A day with history reads the entity's previous day. Each write records that day and the snapshot
that last wrote it (`ai.history-from`); when the previous day is written again (a repaired raw
day, a rerun), the later day no longer matches and is stale, and so, once it is rebuilt, is the
day after it. `history_repair_sensor` rebuilds stale days one at a time, earliest first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from ai_core.iceberg.reader import DayWrite

HISTORY_FROM_PROPERTY = "ai.history-from"
NO_HISTORY = "none"


def history_stamp(previous: dt.date | None, writes: Mapping[dt.date, DayWrite]) -> dict[str, str]:
    """The property a day records about the previous day it read (`none` on a first day)."""
    if previous is None or previous not in writes:
        return {HISTORY_FROM_PROPERTY: NO_HISTORY}
    return {HISTORY_FROM_PROPERTY: f"{previous.isoformat()}:{writes[previous].snapshot_id}"}


def stale_days(writes: Mapping[dt.date, DayWrite], written: list[dt.date]) -> list[dt.date]:
    """Days whose recorded history no longer matches the latest write of the day before them.

    `written` are the days holding rows (those a day's history reads); days written before stamps
    were recorded carry none and are left alone, and so are days whose previous day has no write
    record (its snapshot expired by an upkeep that did not keep it): there is nothing left to
    compare their stamp with. Upkeep keeps each day's record (`upkeep.expire_snapshots`), and
    `reader.day_writes` reads it back.
    """
    days = sorted(written)
    stale = []
    for previous, day in zip([None, *days[:-1]], days, strict=True):
        write = writes.get(day)
        recorded = write.properties.get(HISTORY_FROM_PROPERTY) if write else None
        if (
            recorded is not None
            and (previous is None or previous in writes)
            and recorded != history_stamp(previous, writes)[HISTORY_FROM_PROPERTY]
        ):
            stale.append(day)
    return stale


def later_days(day: dt.date, written: list[dt.date]) -> list[dt.date]:
    """Days after `day` that hold rows: rebuilding `day` makes the first of them stale."""
    return [d for d in sorted(written) if d > day]
