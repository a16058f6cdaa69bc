"""Key groups: identical rows collapse; conflicts resolve by the documented rule, reported."""

from __future__ import annotations

import datetime as dt

import polars as pl

from ai_core.transform import HASH_COLUMN, collapse_identical, resolve_key_groups
from ai_core.transform.hashing import snapshot_hash_expr

T0 = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


def rows(*records: tuple[str, int, int, float, list[str]]) -> pl.DataFrame:
    """(vin, minute fetched, page, price, options) rows with provenance and hash."""
    return pl.DataFrame(
        {
            "_sub_resource": ["jeep.com/IUJ202610"] * len(records),
            "_page_number": [r[2] for r in records],
            "_fetched_at": [T0 + dt.timedelta(minutes=r[1]) for r in records],
            "vin": [r[0] for r in records],
            "price": [r[3] for r in records],
            "options": [r[4] for r in records],
        },
        schema_overrides={"_page_number": pl.Int32},
    ).with_columns(snapshot_hash_expr(["price", "options"]))


def test_identical_rows_collapse_into_the_first_page_whatever_the_fetch_order() -> None:
    for later in (1, -1):
        groups = resolve_key_groups(
            rows(("A", 0, 1, 10.0, ["x"]), ("A", later, 2, 10.0, ["x"]), ("B", 0, 1, 5.0, [])),
            ["vin"],
            ["price", "options"],
        )
        assert groups.rows.select("vin", "_page_number").rows() == [("A", 1), ("B", 1)]
    assert (groups.duplicates, groups.conflicts, groups.conflict_rows) == (1, 0, 0)
    assert groups.conflict_samples.height == 0


def test_a_conflict_keeps_the_latest_fetch_then_the_highest_page() -> None:
    # Identical copies collapse first (B's `y` to page 1), then versions compete.
    data = rows(
        ("A", 5, 1, 10.0, ["x"]),
        ("A", 1, 9, 11.0, ["x"]),
        ("B", 0, 1, 5.0, ["y"]),
        ("B", 0, 2, 5.0, ["z"]),
        ("B", 0, 3, 5.0, ["y"]),
    )
    groups = resolve_key_groups(data, ["vin"], ["price", "options"])
    assert groups.rows.select("vin", "price", "options", "_page_number").rows() == [
        ("A", 10.0, ["x"], 1),
        ("B", 5.0, ["z"], 2),
    ]
    assert (groups.duplicates, groups.conflicts, groups.conflict_rows) == (1, 2, 2)
    assert groups.conflict_samples.rows() == [
        ("vin=A", 2, 2, ["price"], "price: 10.0 | 11.0", "jeep.com/IUJ202610 page 1"),
        ("vin=B", 2, 3, ["options"], "options: ['y'] | ['z']", "jeep.com/IUJ202610 page 2"),
    ]


def test_a_conflict_without_duplicates_follows_the_rule_too() -> None:
    data = rows(("A", 0, 1, 10.0, []), ("A", 0, 3, 11.0, []), ("A", 0, 2, 12.0, []))
    groups = resolve_key_groups(data, ["vin"], ["price", "options"])
    assert groups.rows.select("price", "_page_number").rows() == [(11.0, 3)]
    assert (groups.duplicates, groups.conflicts, groups.conflict_rows) == (0, 1, 2)


def test_resolution_does_not_depend_on_row_order_or_batching() -> None:
    data = rows(*[(f"V{i % 7}", i % 3, i % 5, float(i % 4), [str(i % 2)]) for i in range(60)])
    once = resolve_key_groups(data, ["vin"], ["price", "options"]).rows
    shuffled = resolve_key_groups(
        data.sample(fraction=1, shuffle=True, seed=3), ["vin"], ["price", "options"]
    )
    batched = pl.concat([collapse_identical(part, ["vin"]) for part in data.iter_slices(17)])
    assert shuffled.rows.equals(once)
    assert resolve_key_groups(batched, ["vin"], ["price", "options"]).rows.equals(once)


def test_conflict_samples_stop_at_fifty() -> None:
    data = rows(*[(f"V{i:03d}", 0, p, float(p), []) for i in range(80) for p in (1, 2)])
    groups = resolve_key_groups(data, ["vin"], ["price", "options"])
    assert groups.conflicts == 80
    assert groups.conflict_samples.height == 50
    assert groups.rows[HASH_COLUMN].n_unique() == 1


def test_a_conflict_keeps_the_newest_by_the_records_own_time_ahead_of_the_page_order() -> None:
    # A's version on page 9 was fetched later, but the upstream read the page 1 one later.
    read = [T0 + dt.timedelta(hours=3), T0 + dt.timedelta(hours=1), T0, None]
    data = rows(
        ("A", 0, 1, 10.0, ["x"]),
        ("A", 5, 9, 11.0, ["x"]),
        ("B", 0, 1, 5.0, ["y"]),
        ("B", 0, 2, 6.0, ["y"]),
    ).with_columns(read_at=pl.Series(read, dtype=pl.Datetime("us", "UTC")))
    groups = resolve_key_groups(data, ["vin"], ["price", "options"], newest="read_at")
    # B's page 2 copy has no time of its own: the one with a time is newer.
    assert groups.rows.select("vin", "price").rows() == [("A", 10.0), ("B", 5.0)]
    # The older versions are still conflicts: a read time does not tell a re-read from a clash.
    assert groups.conflicts == 2
    assert resolve_key_groups(data, ["vin"], ["price", "options"]).rows["price"].to_list() == [
        11.0,
        6.0,
    ]
