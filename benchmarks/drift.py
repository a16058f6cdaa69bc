"""The inventory's extraction on days whose pages drift from what the declaration expects,
against the same pages as served.

    python -m benchmarks.drift SOURCE [--new-keys 20] [--repeats 3]

`SOURCE` is a benchmark run's directory (its raw inventory day) or a Parquet file of raw rows.
Two drifted days are made of the same pages: `new_keys`, with `--new-keys` keys the declaration
does not know added to every vehicle, as an upstream that starts sending new fields does; and
`empty_as_list`, with every `price` and `mackevisionData` object sent as null sent as `[]`, as
servers that write an empty object as an empty list do. The five inventory tables are extracted
from each day in one process, alternating, as the transformed step's pass does it (decode,
extract, collapse, drift detection; no write), and the report gives each day's best and median
wall and CPU, each drifted day over the as-served one, and the unknown keys the vehicles
reported on the `new_keys` day with their counts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import polars as pl
import pyarrow as pa

from ai_core.transform import compile_extractor
from ai_core.transform.batching import GROUP_BYTES, body_bytes
from ai_core.transform.day import TransformedDay
from ai_core.transform.drift import detect_drift
from ai_core.transform.schema import HASH_COLUMN
from ai_stellantis.entities import (
    InventoryDealer,
    InventoryModel,
    InventoryOption,
    InventoryPackageFeature,
    InventoryVehicle,
)
from benchmarks.compiler import raw_pages

ENTITIES = (
    InventoryVehicle,
    InventoryDealer,
    InventoryModel,
    InventoryOption,
    InventoryPackageFeature,
)
DAYS = ("as_served", "new_keys", "empty_as_list")
ROWS_PER_BATCH = 64
"""Raw rows a batch, about what the Iceberg reader yields a row group at a time."""


def with_bodies(raw: pa.Table, bodies: pl.Series) -> pa.Table:
    return raw.set_column(
        raw.schema.get_field_index("_response_body"), "_response_body", bodies.to_arrow()
    )


def with_new_keys(raw: pa.Table, new_keys: int) -> pa.Table:
    """The raw rows with `new_keys` keys the declaration does not know added to every vehicle,
    before its `vin`."""
    added = "".join(f'"driftKey{i:02d}":"value {i}",' for i in range(new_keys))
    bodies = pl.Series(raw["_response_body"]).str.replace_all(
        '"vin":', added + '"vin":', literal=True
    )
    return with_bodies(raw, bodies)


def with_empty_as_list(raw: pa.Table) -> pa.Table:
    """The raw rows with every null `price` and `mackevisionData` object sent as `[]`."""
    bodies = pl.Series(raw["_response_body"]).str.replace_all(
        r'"(price|mackevisionData)"\s*:\s*null', '"${1}":[]'
    )
    return with_bodies(raw, bodies)


def extract_day(raw: pa.Table) -> dict[str, pl.Series]:
    """The inventory's tables extracted from the day as the step's pass does: each table's
    distinct snapshot hashes, sorted. Distinct, because copies of a row kept by several groups
    of pages are struck by the writer, and how many groups a day makes depends on its bytes."""
    day = TransformedDay(raw.to_batches(max_chunksize=ROWS_PER_BATCH), group_bytes=GROUP_BYTES)
    partitions = [day.partition(e.__name__, compile_extractor(e)) for e in ENTITIES]
    return {
        p.label: pl.concat([chunk[HASH_COLUMN] for chunk in p.chunks()]).unique().sort()
        for p in partitions
    }


def unknown_keys(raw: pa.Table) -> dict[str, int | None]:
    """The unknown keys the vehicles report on the whole day, with their counts."""
    plan = compile_extractor(InventoryVehicle).plan
    good = pl.Series([True] * raw.num_rows)
    found = detect_drift(raw, good, plan.page_dtype, InventoryVehicle.ignored_keys).unknown
    return dict(found.iter_rows())


def compare(source: Path, new_keys: int, repeats: int) -> dict[str, object]:
    served = raw_pages(source)
    days = {
        "as_served": served,
        "new_keys": with_new_keys(served, new_keys),
        "empty_as_list": with_empty_as_list(served),
    }
    walls: dict[str, list[float]] = {name: [] for name in DAYS}
    cpus: dict[str, list[float]] = {name: [] for name in DAYS}
    tables: dict[str, dict[str, pl.Series]] = {}
    for _ in range(repeats):
        for name in DAYS:
            wall, cpu = time.perf_counter(), time.process_time()
            tables[name] = extract_day(days[name])
            walls[name].append(time.perf_counter() - wall)
            cpus[name].append(time.process_time() - cpu)
    served_tables = tables["as_served"]
    report: dict[str, object] = {
        "pages": days["as_served"].num_rows,
        "body_bytes": {name: body_bytes(days[name]) for name in DAYS},
        "new_keys": new_keys,
        "repeats": repeats,
        "distinct_rows": {name: sum(h.len() for h in tables[name].values()) for name in DAYS},
        # The drift changes what the pages say of nothing the tables hold.
        "same_rows_as_served": {
            name: all(tables[name][t].equals(hashes) for t, hashes in served_tables.items())
            for name in DAYS[1:]
        },
        "unknown_keys": unknown_keys(days["new_keys"]),
    }
    for name in DAYS:
        report[name] = {
            "best_s": round(min(walls[name]), 3),
            "median_s": round(statistics.median(walls[name]), 3),
            "best_cpu_s": round(min(cpus[name]), 3),
            "median_cpu_s": round(statistics.median(cpus[name]), 3),
        }
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("--new-keys", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    report = compare(args.source, args.new_keys, args.repeats)
    print(json.dumps(report, indent=2))
    served = report["as_served"]
    assert isinstance(served, dict)
    for name in DAYS[1:]:
        day = report[name]
        assert isinstance(day, dict)
        print(
            f"{name} / as served, median wall x{day['median_s'] / served['median_s']:.2f}, "
            f"median CPU x{day['median_cpu_s'] / served['median_cpu_s']:.2f}"
        )


if __name__ == "__main__":
    main()
