"""History over several synthetic days, each derived from the previous day's partition only."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from ai_core.consolidate import consolidate
from ai_core.consolidate.chunks import plan_chunks
from ai_core.consolidate.engine import CHUNK_ROWS
from ai_core.consolidate.history import (
    carried_out_of_view,
    carried_rows,
    leaving_unseen,
    previous_day,
)
from ai_core.consolidate.matching import GROUP
from ai_core.consolidate.sources import SourceInput
from ai_core.consolidate.spec import SourceGroup
from tests.ai_core.consolidate.frames import frame, inputs, vehicle_spec

D1 = dt.date(2026, 11, 1)


def _day(n: int) -> dt.date:
    return D1 + dt.timedelta(days=n - 1)


def _run(
    vins_by_day: dict[int, list[str]],
    retain: int = 30,
    *,
    lazy_previous: bool = False,
    chunk_rows: int = CHUNK_ROWS,
) -> dict[int, pl.DataFrame]:
    """Consolidate the days in order, each from its sources and the previous result only."""
    spec = vehicle_spec(history={"retain_sold_days": retain})
    out: dict[int, pl.DataFrame] = {}
    previous: pl.DataFrame | None = None
    for n in sorted(vins_by_day):
        rows = [{"vin": v, "price": n} for v in vins_by_day[n]]
        prev: Any = previous.lazy() if lazy_previous and previous is not None else previous
        result = consolidate(
            spec,
            _day(n),
            inputs(spec, {"public": frame(rows)}, day=_day(n)),
            "acme/US/v",
            None,
            prev,
            chunk_rows,
        )
        out[n] = result.frame
        previous = result.frame
    return out


def _state(day_frame: pl.DataFrame) -> dict[str, tuple]:
    return {
        r["vin"]: (r["first_seen"], r["last_seen"], r["active"], r["sold_date"], r["relisted"])
        for r in day_frame.iter_rows(named=True)
    }


@pytest.mark.parametrize("lazy_previous", [False, True])
def test_first_last_seen_sold_and_relisted(lazy_previous: bool) -> None:
    days = _run(
        {1: ["A", "B", "C"], 2: ["A", "B"], 3: ["A", "B", "C"], 4: ["A"], 5: ["A"]},
        lazy_previous=lazy_previous,
    )
    assert _state(days[1]) == {v: (_day(1), _day(1), True, None, False) for v in "ABC"}
    # C leaves on day 2: its sold date is the last day it was listed.
    assert _state(days[2])["C"] == (_day(1), _day(1), False, _day(1), False)
    assert _state(days[2])["A"] == (_day(1), _day(2), True, None, False)
    # C comes back on day 3: first_seen is kept, the sold date cleared, and it is marked relisted.
    assert _state(days[3])["C"] == (_day(1), _day(3), True, None, True)
    # B and C leave on day 4 and stay in the partition as sold.
    assert _state(days[4]) == {
        "A": (_day(1), _day(4), True, None, False),
        "B": (_day(1), _day(3), False, _day(3), False),
        "C": (_day(1), _day(3), False, _day(3), False),
    }
    assert _state(days[5])["B"] == (_day(1), _day(3), False, _day(3), False)
    assert dict(days[5].select("vin", "price").iter_rows()) == {"A": 5, "B": 3, "C": 3}


@pytest.mark.parametrize("retain", [30, 1])
def test_history_is_the_same_however_the_day_is_cut_into_chunks(retain: int) -> None:
    vins = {1: ["A", "B", "C", "D"], 2: ["A", "B", "E"], 3: ["A", "C", "E"], 4: ["E", "D"]}
    whole = _run(vins, retain)
    for chunk_rows in (1, 2):
        cut = _run(vins, retain, chunk_rows=chunk_rows)
        for n, day_frame in whole.items():
            assert cut[n].equals(day_frame), (chunk_rows, n)
    # Kept as sold, D comes back relisted; dropped by a day's retention, it comes back new.
    seen_again = (
        (_day(1), _day(4), True, None, True)
        if retain > 1
        else (_day(4), _day(4), True, None, False)
    )
    assert _state(whole[4])["D"] == seen_again


def test_a_chunk_gets_the_previous_row_of_each_of_its_ids_once() -> None:
    # Two groups share id `b` (a duplicate the integrity check reports); `bb` left the day and
    # is carried as a departed row, `zz` left long ago.
    ids = pl.DataFrame(
        {GROUP: [0, 1, 2, 3], "vin": ["a", "b", "b", "c"]},
        schema={GROUP: pl.UInt32, "vin": pl.String},
    )
    gone = pl.DataFrame({"vin": ["bb"], "seen": [5]})
    state = pl.DataFrame({"vin": ["a", "b", "bb", "c", "zz"], "seen": [1, 2, 5, 3, 4]})

    def parts(chunk_rows: int) -> list[list[str]]:
        plan = plan_chunks(ids, gone, "vin", chunk_rows)
        split = plan.split(state, "vin")
        assert list(split) == list(range(plan.count))
        return [sorted(part["vin"]) for part in split.values()]

    assert parts(5) == [["a", "b", "c"]]
    assert parts(2) == [["a", "b"], ["b"], ["c"]]
    assert parts(1) == [["a"], ["b"], ["b"], [], ["c"]]


def test_sold_rows_keep_their_last_values_and_today_partition() -> None:
    days = _run({1: ["A", "B"], 2: ["A"]})
    sold = days[2].filter(pl.col("vin") == "B").row(0, named=True)
    assert sold["price"] == 1
    assert sold["_partition_date"] == _day(2)
    assert sold["_source_partition_date"] == _day(1)
    assert sold["_source_age_days"] == 1


def test_retention_drops_vehicles_sold_long_ago() -> None:
    # Kept while today is at most `retain_sold_days` after its last day seen.
    days = _run({1: ["A", "B"], 2: ["A"], 3: ["A"], 4: ["A"]}, retain=2)
    assert set(days[2]["vin"]) == {"A", "B"}
    assert set(days[3]["vin"]) == {"A", "B"}
    assert set(days[4]["vin"]) == {"A"}
    # The day it leaves, a vehicle is always there, whatever the retention.
    assert set(_run({1: ["A", "B"], 2: ["A"]}, retain=0)[2]["vin"]) == {"A", "B"}
    # A vehicle back after the retention starts over.
    again = _run({1: ["A", "B"], 2: ["A"], 3: ["A"], 4: ["A"], 5: ["A", "B"]}, retain=2)
    assert _state(again[5])["B"] == (_day(5), _day(5), True, None, False)


def test_skipped_run_day_continues_from_the_latest_partition() -> None:
    days = _run({1: ["A", "B"], 4: ["A"]})
    assert _state(days[4])["B"] == (_day(1), _day(1), False, _day(1), False)
    assert _state(days[4])["A"] == (_day(1), _day(4), True, None, False)
    assert previous_day(_day(4), [_day(1), _day(4), _day(6)]) == _day(1)
    assert previous_day(_day(1), [_day(1), _day(4)]) is None


def test_gap_filled_rows_are_last_seen_on_their_source_day() -> None:
    spec = vehicle_spec(history={"retain_sold_days": 30})
    day1 = consolidate(
        spec, _day(1), inputs(spec, {"public": frame([{"vin": "A"}])}, day=_day(1)), "acme/US/v"
    ).frame
    # Day 2: the public feed failed, the dealer feed of day 1 fills the gap.
    day2 = consolidate(
        spec,
        _day(2),
        inputs(spec, {"dealer": frame([{"vin": "A"}])}, {"dealer": 1}, day=_day(2)),
        "acme/US/v",
        None,
        day1,
    ).frame
    row = day2.row(0, named=True)
    assert (row["active"], row["last_seen"], row["_gap_filled"]) == (True, _day(1), True)


def test_history_needs_a_previous_partition_written_with_history() -> None:
    spec = vehicle_spec(history={"retain_sold_days": 3})
    plain = vehicle_spec()
    day1 = consolidate(
        plain, _day(1), inputs(plain, {"public": frame([{"vin": "A"}])}, day=_day(1)), "acme/US/v"
    ).frame
    with pytest.raises(KeyError, match="not written with history"):
        consolidate(
            spec,
            _day(2),
            inputs(spec, {"public": frame([{"vin": "A"}])}, day=_day(2)),
            "x",
            None,
            day1,
        )


def test_an_entity_keeps_its_id_when_a_key_field_gains_a_value() -> None:
    # Ids come from the order number first, which only the dealer feed carries: a vehicle
    # listed publicly before its dealer's feed names its order keeps its first id and history.
    spec = vehicle_spec(key_fields=["order_number", "vin"], history={"retain_sold_days": 7})
    day1 = consolidate(
        spec,
        _day(1),
        inputs(spec, {"public": frame([{"vin": "A"}, {"vin": "B"}])}, day=_day(1)),
        "acme/US/v",
        None,
        None,
    ).frame
    dealer = frame([{"vin": "A", "order_number": "O-1"}, {"order_number": "O-2"}])
    day2 = consolidate(
        spec,
        _day(2),
        inputs(
            spec, {"public": frame([{"vin": "A"}, {"vin": "B"}]), "dealer": dealer}, day=_day(2)
        ),
        "acme/US/v",
        None,
        day1,
    ).frame
    ids1 = dict(day1.select("vin", "vehicle_id").iter_rows())
    got = {r["vin"] or r["order_number"]: r for r in day2.iter_rows(named=True)}
    assert got["A"]["vehicle_id"] == ids1["A"] and got["A"]["order_number"] == "O-1"
    assert got["A"]["first_seen"] == _day(1) and got["A"]["active"]
    assert got["B"]["vehicle_id"] == ids1["B"]
    # A new unit known only by its order number gets the id of that order number.
    assert got["O-2"]["vehicle_id"] not in ids1.values() and got["O-2"]["first_seen"] == _day(2)
    assert day2.filter(~pl.col("active")).height == 0


def test_a_carried_record_whose_part_holds_nothing_today_is_out_of_view() -> None:
    carried = pl.DataFrame(
        {
            "vehicle_id": ["a", "b", "c", "d"],
            "vin": ["V1", None, "V3", "V4"],
            "dealer_code": ["D1", "D1", "D2", "D1"],
            "order_number": ["O1", "O2", "O3", None],
        }
    )
    # The source's day the rows were carried from: D1's table is gone today, D2's is read.
    source = pl.LazyFrame(
        {
            "vin": ["V1", None, "V3", "V9"],
            "dealer_code": ["D1", "D1", "D2", "D1"],
            "order_number": ["O1", "O2", "O3", "O9"],
            "_sub_resource": ["inventory_D1", "inventory_D1", "inventory_D2", "inventory_D1"],
        }
    )
    alternatives = [("vin",), ("dealer_code", "order_number")]
    unseen = carried_out_of_view(carried, source, ["inventory_D2"], "vehicle_id", alternatives)
    # a by its VIN, b by dealer and order number; c's table holds rows today (it left: sold);
    # d is in no row of the day it was carried from.
    assert sorted(unseen.to_list()) == ["a", "b"]
    assert carried_out_of_view(
        carried, source, ["inventory_D1", "inventory_D2"], "vehicle_id", alternatives
    ).is_empty()


def test_only_a_record_nothing_saw_since_its_carried_day_can_leave_unseen() -> None:
    previous = pl.DataFrame(
        {
            "vehicle_id": ["a", "b", "c", "d"],
            "vin": ["V1", "V2", "V3", "V4"],
            "active": [True, True, True, False],
            "_gap_filled": [True, True, False, True],
            "_sources": [
                ["dealerconnect"],
                ["dealerconnect"],
                ["dealerconnect"],
                ["dealerconnect"],
            ],
            "_winner": ["dealerconnect"] * 4,
            "_source_partition_date": [_day(1)] * 4,
            # b was listed publicly until day 2, after the day its dealer's table was last read.
            "last_seen": [_day(1), _day(2), _day(3), _day(1)],
        }
    )
    carried = carried_rows(previous, "vehicle_id", ["vin"])
    # c was observed, not carried; d has left already.
    assert carried["vehicle_id"].to_list() == ["a"]
    assert carried_rows(None, "vehicle_id", ["vin"]).is_empty()


def test_records_leave_unseen_when_their_part_is_unobserved_or_empty_today() -> None:
    group = SourceGroup(name="public", source="acme/transformed/vehicles", priority=1)
    previous = pl.DataFrame(
        {
            "vehicle_id": ["a", "b", "c"],
            "serial": ["V1", "V2", "V3"],
            "active": [True] * 3,
            "_gap_filled": [True] * 3,
            "_sources": [["public"]] * 3,
            "_winner": ["public"] * 3,
            "_source_partition_date": [_day(1)] * 3,
            "last_seen": [_day(1)] * 3,
        }
    )
    # The source's day the rows came from names the key `vin`, which the entity calls `serial`.
    then = pl.LazyFrame(
        {"vin": ["V1", "V2", "V3"], "_sub_resource": ["shop.com/A", "shop.com/B", "shop.com/C"]}
    )
    today = pl.LazyFrame({"vin": ["V9", "V8"], "_sub_resource": ["shop.com/A", "shop.com/B"]})
    renamed = SourceGroup(**{**group.model_dump(), "rename": {"vin": "serial"}})

    def scan(source: str, day: dt.date) -> pl.LazyFrame:
        assert (source, day) == ("acme/transformed/vehicles", _day(1))
        return then

    def unseen(frame: pl.LazyFrame | None, unobserved: frozenset[str]) -> list[str]:
        source = SourceInput(renamed, frame, _day(4), unobserved)
        ids = leaving_unseen(previous.lazy(), [source], scan, "vehicle_id", [("serial",)])
        return sorted(ids.to_list()) if ids is not None else []

    # B's page failed today; C holds no row; A was read: its vehicle was seen to leave.
    assert unseen(today, frozenset({"shop.com/B"})) == ["b", "c"]
    # A whole site unobserved covers each of its parts.
    assert unseen(today, frozenset({"shop.com"})) == ["a", "b", "c"]
    # A source with nothing in its window today sees none of its parts.
    assert unseen(None, frozenset()) == ["a", "b", "c"]
