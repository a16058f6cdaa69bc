"""A small raw inventory day, an entity and its record path: the inputs of a baseline stage."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import BaseModel

from ai_core.iceberg.catalog import load_catalog
from ai_core.iceberg.writer import write_partition
from ai_core.raw.result import RawFetchResult, RawPage
from benchmarks.context import StageContext


class Price(BaseModel):
    msrp: float | None = None


class Vehicle(BaseModel):
    """A few inventory fields, nested and repeated ones included."""

    vin: str
    modelYear: int
    price: Price | None = None
    options: list[str] = []
    never_set: str | None = None


def vehicles(page: Any) -> list[dict[str, Any]]:
    return page["result"]["data"]["vehicles"]


def inventory_page(vehicles_on_page: list[dict[str, Any]]) -> bytes:
    body = {"result": {"result": "SUCCESS", "errors": [], "data": {"vehicles": vehicles_on_page}}}
    return json.dumps(body).encode()


SEED_PAGES: list[list[dict[str, Any]]] = [
    [
        {
            "vin": "1C4HJXEN5RW000001",
            "modelYear": "2026",
            "price": {"msrp": 52345},
            "options": ["A"],
        },
        {"vin": "1C4HJXEN5RW000002", "modelYear": 2026, "price": None, "options": []},
    ],
    [],
    [{"vin": "1C4HJXEN5RW000003", "modelYear": 2025, "extra": "ignored"}],
]


def seed_raw(context: StageContext) -> dict[str, Any]:
    """Write `SEED_PAGES` as the day's raw inventory, as the raw tier would store them."""
    fetched = dt.datetime(2026, 11, 20, 6, tzinfo=dt.UTC)
    pages = [
        RawPage(n, "http://127.0.0.1/x", {"pageNumber": n}, 200, inventory_page(p), fetched)
        for n, p in enumerate(SEED_PAGES, start=1)
    ]
    report = write_partition(
        load_catalog(context.data_dir),
        ("stellantis_raw", "public_inventory"),
        context.partition,
        [RawFetchResult("IUJ202610", pages).to_arrow(context.partition)],
    )
    return {"rows": report.rows, "bytes": report.bytes}
