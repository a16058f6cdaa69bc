"""The vectorised merge against a plain-Python reference on generated sources.

The reference links rows with a union-find over the alternative keys, orders each group's rows
by precedence with `sorted`, and applies each policy with a loop: slow and obviously right.
Every row carries its own id in `members` (merged by union), so the two results are compared
entity by entity.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ai_core.consolidate import EntitySpec, SourceInput, consolidate

DAY = dt.date(2026, 11, 20)
NAMESPACE = "acme/US/vehicles"
MATCH_ON = [["vin"], ["order_number"], ["dealer_code", "stock"]]
POLICIES = {
    "price": {"policy": "max"},
    "low": {"policy": "min"},
    "status": {"policy": "most_recent"},
    "color": {"policy": "most_recent", "by": "updated"},
    "options": {"policy": "union"},
    "members": {"policy": "union"},
}
SCHEMA: dict[str, Any] = {
    "vin": pl.String,
    "order_number": pl.String,
    "dealer_code": pl.String,
    "stock": pl.Int64,
    "price": pl.Int64,
    "low": pl.Int64,
    "status": pl.String,
    "color": pl.String,
    "updated": pl.Int64,
    "trim": pl.String,
    "options": pl.List(pl.String),
    "members": pl.List(pl.String),
    "_snapshot_hash": pl.UInt64,
}
FIELDS = [c for c in SCHEMA if not c.startswith("_")]

maybe = st.one_of
rows_strategy = st.fixed_dictionaries(
    {
        "vin": maybe(st.none(), st.sampled_from(["V1", "V2", "V3", "V4", ""])),
        "order_number": maybe(st.none(), st.sampled_from(["O1", "O2", "O3"])),
        "dealer_code": maybe(st.none(), st.sampled_from(["D1", "D2"])),
        "stock": maybe(st.none(), st.integers(1, 2)),
        "price": maybe(st.none(), st.integers(0, 5)),
        "low": maybe(st.none(), st.integers(-3, 3)),
        "status": maybe(st.none(), st.sampled_from(["new", "demo", "sold"])),
        "color": maybe(st.none(), st.sampled_from(["red", "blue"])),
        "updated": maybe(st.none(), st.integers(0, 3)),
        "trim": maybe(st.none(), st.sampled_from(["base", "limited"])),
        "options": maybe(st.none(), st.lists(st.sampled_from(["a", "b", "c"]), max_size=3)),
    }
)
source_strategy = st.tuples(
    st.integers(1, 2),  # priority: ties are where precedence needs the partition date
    st.integers(0, 2),  # age in days
    st.lists(rows_strategy, max_size=6),
)


def _spec(names: list[str]) -> EntitySpec:
    return EntitySpec.model_validate(
        {
            "name": "vehicles",
            "id_column": "vehicle_id",
            "key_fields": ["vin", "order_number"],
            "id_policy": "first_non_empty",
            "source_groups": [
                {"name": n, "source": f"acme/transformed/{n}", "priority": 1} for n in names
            ],
            "merge": {"match_on": MATCH_ON, "fields": POLICIES},
        }
    )


def _build(sources: list[tuple[int, int, list[dict[str, Any]]]]) -> tuple[EntitySpec, list, list]:
    """Engine inputs and the reference's flat row list, with unique row ids and hashes."""
    names = ["alpha", "beta", "gamma"][: len(sources)]
    spec = _spec(names)
    groups = []
    flat = []
    counter = 0
    for name, group, (priority, age, rows) in zip(names, spec.source_groups, sources, strict=True):
        group = group.model_copy(update={"priority": priority})
        data = []
        for row in rows:
            counter += 1
            data.append({**row, "members": [f"{name}#{counter}"], "_snapshot_hash": 1000 - counter})
            flat.append(
                {
                    **data[-1],
                    "_source": name,
                    "_priority": priority,
                    "_date": DAY - dt.timedelta(days=age),
                    "_age": age,
                }
            )
        frame = (
            pl.DataFrame(data, schema=SCHEMA, orient="row") if data else pl.DataFrame(schema=SCHEMA)
        )
        groups.append(SourceInput(group, frame, DAY - dt.timedelta(days=age)))
    return spec, groups, flat


def _components(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    keyed = set()
    for key in MATCH_ON:
        seen: dict[tuple, int] = {}
        for i, row in enumerate(rows):
            values = tuple(row[f] for f in key)
            if any(v is None or v == "" for v in values):
                continue
            keyed.add(i)
            if values in seen:
                parent[find(i)] = find(seen[values])
            else:
                seen[values] = i
    by_root: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for i in sorted(keyed):
        by_root[find(i)].append(rows[i])
    return list(by_root.values())


def _first(values: list[Any]) -> Any:
    return next((v for v in values if v is not None), None)


def _reference(rows: list[dict[str, Any]]) -> dict[tuple[str, ...], dict[str, Any]]:
    out = {}
    for group in _components(rows):
        ordered = sorted(
            group,
            key=lambda r: (
                r["_priority"],
                -r["_date"].toordinal(),
                r["_source"],
                r["_snapshot_hash"],
            ),
        )
        merged: dict[str, Any] = {}
        for field in FIELDS:
            policy = POLICIES.get(field, {"policy": "priority"})
            values = [r[field] for r in ordered]
            present = [v for v in values if v is not None]
            if policy["policy"] == "priority":
                merged[field] = _first(values)
            elif policy["policy"] == "max":
                merged[field] = max(present, default=None)
            elif policy["policy"] == "min":
                merged[field] = min(present, default=None)
            elif policy["policy"] == "union":
                merged[field] = sorted({x for v in present for x in v}) if present else None
            else:
                by = policy.get("by")
                if by is None:
                    recent = sorted(ordered, key=lambda r: -r["_date"].toordinal())
                else:
                    recent = sorted(ordered, key=lambda r: (r[by] is None, -(r[by] or 0)))
                merged[field] = _first([r[field] for r in recent])
        winner = ordered[0]
        merged["_winner"] = winner["_source"]
        merged["_sources"] = list(dict.fromkeys(r["_source"] for r in ordered))
        merged["_source_partition_date"] = winner["_date"]
        merged["_source_age_days"] = winner["_age"]
        merged["_gap_filled"] = any(r["_age"] > 0 for r in ordered)
        key = next(
            (
                f"{f}={len(merged[f].encode())}:{merged[f]}"
                for f in ("vin", "order_number")
                if merged[f]
            ),
            None,
        )
        merged["vehicle_id"] = (
            hashlib.sha256(f"ai-id/v1|{NAMESPACE}|{key}".encode()).hexdigest() if key else None
        )
        out[tuple(merged["members"])] = merged
    return out


@settings(max_examples=150, deadline=None)
@given(
    sources=st.lists(source_strategy, min_size=1, max_size=3),
    chunk_rows=st.sampled_from([1, 3, 32_768]),
)
def test_vectorised_merge_matches_reference(
    sources: list[tuple[int, int, list[dict[str, Any]]]], chunk_rows: int
) -> None:
    spec, groups, flat = _build(sources)
    expected = _reference(flat)
    result = consolidate(spec, DAY, groups, NAMESPACE, chunk_rows=chunk_rows)
    got = {tuple(row["members"]): row for row in result.frame.iter_rows(named=True)}
    assert set(got) == set(expected)
    for members, want in expected.items():
        row = got[members]
        assert {k: row[k] for k in want} == want, members
    ids = result.frame["vehicle_id"]
    assert ids.to_list() == sorted(ids.to_list(), key=lambda v: (v is None, v or ""))
