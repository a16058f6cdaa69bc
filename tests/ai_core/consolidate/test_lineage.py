"""Which consolidated days are stale: a rewritten previous day, and one whose write was expired."""

from __future__ import annotations

import datetime as dt

from ai_core.consolidate.lineage import HISTORY_FROM_PROPERTY, history_stamp, stale_days
from ai_core.iceberg.reader import DayWrite

DAYS = [dt.date(2026, 11, 1) + dt.timedelta(days=i) for i in range(4)]


def written_in_order(snapshot_ids: list[int]) -> dict[dt.date, DayWrite]:
    """Each day written once, in order, stamped with the write of the day before it."""
    writes: dict[dt.date, DayWrite] = {}
    for previous, day, snapshot_id in zip([None, *DAYS[:-1]], DAYS, snapshot_ids, strict=True):
        writes[day] = DayWrite(snapshot_id, history_stamp(previous, writes))
    return writes


def test_days_written_in_order_are_current() -> None:
    assert stale_days(written_in_order([1, 2, 3, 4]), DAYS) == []


def test_a_rewritten_day_makes_the_next_one_stale() -> None:
    writes = written_in_order([1, 2, 3, 4])
    writes[DAYS[1]] = DayWrite(9, writes[DAYS[1]].properties)
    assert stale_days(writes, DAYS) == [DAYS[2]]


def test_a_day_whose_previous_write_has_no_record_is_not_stale() -> None:
    # A table whose oldest snapshots were expired without keeping their records: the first day
    # still recorded names a write that no longer exists, which says nothing about its history.
    writes = written_in_order([1, 2, 3, 4])
    del writes[DAYS[0]], writes[DAYS[1]]
    assert writes[DAYS[2]].properties[HISTORY_FROM_PROPERTY] == f"{DAYS[1]}:2"
    assert stale_days(writes, DAYS) == []
    writes[DAYS[2]] = DayWrite(7, writes[DAYS[2]].properties)
    assert stale_days(writes, DAYS) == [DAYS[3]]
