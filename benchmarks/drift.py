"""The inventory's extraction on a day whose vehicles carry keys the declaration does not know,
against the same pages as served.

    python -m benchmarks.drift SOURCE [--new-keys 20] [--repeats 3]

`SOURCE` is a benchmark run's directory (its raw inventory day) or a Parquet file of raw rows.
The drifted day is the same pages with `--new-keys` keys added to every vehicle, as an upstream
that starts sending new fields does. The five inventory tables are extracted from each day in
one process, alternating, as the transformed step's pass does it (decode, extract, collapse,
drift detection; no write), and the report gives each day's best and median wall and CPU, the
drifted day over the as-served one, and the unknown keys the vehicles reported with their counts.
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
DAYS = ("as_served", "drifted")
ROWS_PER_BATCH = 64
"""Raw rows a batch, about what the Iceberg reader yields a row group at a time."""


def drifted(raw: pa.Table, new_keys: int) -> pa.Table:
    """The raw rows with `new_keys` keys the declaration does not know added to every vehicle,
    before its `vin`."""
    added = "".join(f'"driftKey{i:02d}":"value {i}",' for i in range(new_keys))
    bodies = pl.Series(raw["_response_body"]).str.replace_all(
        '"vin":', added + '"vin":', literal=True
    )
    return raw.set_column(
        raw.schema.get_field_index("_response_body"), "_response_body", bodies.to_arrow()
    )


def extract_day(raw: pa.Table) -> int:
    """The inventory's tables extracted from the day as the step's pass does; the rows kept."""
    day = TransformedDay(raw.to_batches(max_chunksize=ROWS_PER_BATCH), group_bytes=GROUP_BYTES)
    partitions = [day.partition(e.__name__, compile_extractor(e)) for e in ENTITIES]
    return sum(chunk.height for partition in partitions for chunk in partition.chunks())


def unknown_keys(raw: pa.Table) -> dict[str, int | None]:
    """The unknown keys the vehicles report on the whole day, with their counts."""
    plan = compile_extractor(InventoryVehicle).plan
    good = pl.Series([True] * raw.num_rows)
    found = detect_drift(raw, good, plan.page_dtype, InventoryVehicle.ignored_keys).unknown
    return dict(found.iter_rows())


def compare(source: Path, new_keys: int, repeats: int) -> dict[str, object]:
    days = {"as_served": raw_pages(source)}
    days["drifted"] = drifted(days["as_served"], new_keys)
    walls: dict[str, list[float]] = {name: [] for name in DAYS}
    cpus: dict[str, list[float]] = {name: [] for name in DAYS}
    rows: dict[str, int] = {}
    for _ in range(repeats):
        for name in DAYS:
            wall, cpu = time.perf_counter(), time.process_time()
            rows[name] = extract_day(days[name])
            walls[name].append(time.perf_counter() - wall)
            cpus[name].append(time.process_time() - cpu)
    report: dict[str, object] = {
        "pages": days["as_served"].num_rows,
        "body_bytes": {name: body_bytes(days[name]) for name in DAYS},
        "new_keys": new_keys,
        "repeats": repeats,
        "rows": rows,
        "unknown_keys": unknown_keys(days["drifted"]),
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
    served, drift = report["as_served"], report["drifted"]
    assert isinstance(served, dict) and isinstance(drift, dict)
    print(
        f"drifted / as served, median wall x{drift['median_s'] / served['median_s']:.2f}, "
        f"median CPU x{drift['median_cpu_s'] / served['median_cpu_s']:.2f}"
    )


if __name__ == "__main__":
    main()
