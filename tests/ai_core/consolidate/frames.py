"""Small builders shared by the consolidated-tier tests: source frames and entity specs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from ai_core.consolidate import EntitySpec, SourceInput

DAY = dt.date(2026, 11, 20)

VEHICLE_SCHEMA: dict[str, pl.DataType] = {
    "vin": pl.String(),
    "order_number": pl.String(),
    "dealer_code": pl.String(),
    "price": pl.Int64(),
    "status": pl.String(),
    "options": pl.List(pl.String()),
    "_snapshot_hash": pl.UInt64(),
}


def frame(
    rows: Sequence[Mapping[str, Any]], schema: Mapping[str, pl.DataType] | None = None
) -> pl.DataFrame:
    """Rows as a typed frame; `_snapshot_hash` defaults to the row's position plus one."""
    schema = dict(schema or VEHICLE_SCHEMA)
    filled = [
        {**{k: None for k in schema}, "_snapshot_hash": i + 1, **row} for i, row in enumerate(rows)
    ]
    return (
        pl.DataFrame(filled, schema=schema, orient="row") if filled else pl.DataFrame(schema=schema)
    )


def vehicle_spec(**overrides: Any) -> EntitySpec:
    """Vehicles from a public feed (priority 1) and a dealer feed (priority 2)."""
    spec: dict[str, Any] = {
        "name": "vehicles",
        "id_column": "vehicle_id",
        "key_fields": ["vin", "order_number"],
        "id_policy": "first_non_empty",
        "source_groups": [
            {
                "name": "public",
                "source": "acme/transformed/public",
                "priority": 1,
                "history_days": 2,
            },
            {
                "name": "dealer",
                "source": "acme/transformed/dealer",
                "priority": 2,
                "history_days": 2,
            },
        ],
        "merge": {
            "match_on": [["vin"], ["order_number"]],
            "fields": {"price": "max", "options": "union", "status": "most_recent"},
        },
        "discrepancy_fields": ["price", "status"],
    }
    spec.update(overrides)
    return EntitySpec.model_validate(spec)


def inputs(
    spec: EntitySpec,
    frames: Mapping[str, pl.DataFrame | None],
    ages: Mapping[str, int] | None = None,
    day: dt.date = DAY,
) -> list[SourceInput]:
    """One `SourceInput` per source group, from its frame (None: nothing in its window)."""
    ages = ages or {}
    out = []
    for group in spec.source_groups:
        data = frames.get(group.name)
        when = None if data is None else day - dt.timedelta(days=ages.get(group.name, 0))
        out.append(SourceInput(group, data, when))
    return out
