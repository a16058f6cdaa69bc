"""The transform compiler's two forms on the same records: staged working columns against every
column composed as one expression in a lazy query, left to Polars' common-subexpression
elimination.

    python -m benchmarks.compiler SOURCE [--repeats 7]

`SOURCE` is a benchmark run's directory (its raw inventory day, the stand-in's vehicles) or a
Parquet file of raw rows. The pages are decoded once; then both forms compute every column of
the same records in one process, alternating, and the report gives each form's best and median
wall, whether the frames are equal, and each form's peak memory, measured in a fresh process of
its own (`--only`) as the resident memory it adds to the decoded records.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from ai_core.iceberg import reader
from ai_core.iceberg.catalog import load_catalog
from ai_core.transform import compile_extractor
from ai_core.transform.extract import CONTEXT_COLUMNS, Extractor
from ai_core.transform.plan import navigate
from ai_stellantis.entities import InventoryVehicle

RAW_TABLE = "stellantis_raw.public_inventory"
FORMS = ("staged", "composed")


def raw_pages(source: Path) -> pa.Table:
    """The raw rows of a Parquet file, or every raw inventory row of a run's catalog."""
    if source.suffix == ".parquet":
        return pq.read_table(source)
    data = source / "data"
    if not data.is_dir():
        raise SystemExit(f"{source} is neither a Parquet file nor a benchmark run directory")
    table = load_catalog(data).load_table(RAW_TABLE)
    return reader.arrow_batches(table, None).read_all()


def composed(extractor: Extractor) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """`extractor.values` with each column written as one expression, its transforms composed,
    and the whole computed by one lazy query."""
    plan = extractor.plan
    columns = []
    for column in plan.columns:
        if column.derived is not None:
            continue
        expr = navigate(pl.col(f"_rec{column.level}"), column.path)
        for transform in column.transforms:
            expr = transform.polars(expr)
        columns.append(expr.cast(column.dtype).alias(column.name))

    def values(records: pl.DataFrame) -> pl.DataFrame:
        query = records.lazy().select(*CONTEXT_COLUMNS, "_row", "_record_index", *columns)
        # Fallbacks and derived columns are the extractor's own: only the reading differs.
        for expr in [*extractor._fallbacks, *extractor._derived]:
            query = query.with_columns(expr)
        return query.with_columns(extractor._reason, extractor._hash).collect(engine="in-memory")

    return values


def _forms(extractor: Extractor) -> dict[str, Callable[[pl.DataFrame], pl.DataFrame]]:
    return {"staged": extractor.values, "composed": composed(extractor)}


def measure_one(source: Path, form: str) -> dict[str, float]:
    """One form once, in this process: its wall, the process's peak memory and the most
    resident memory the form adds to the decoded records (sampled every 5 ms while it runs)."""
    extractor = compile_extractor(InventoryVehicle)
    pages, records = extractor.decode(raw_pages(source))
    del pages
    gc.collect()
    process = psutil.Process()
    before = process.memory_info().rss
    highest = before
    done = threading.Event()

    def sample() -> None:
        nonlocal highest
        while not done.wait(0.005):
            highest = max(highest, process.memory_info().rss)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    _forms(extractor)[form](records)
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    highest = max(highest, process.memory_info().rss)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"wall_s": wall, "peak_mb": peak, "added_mb": (highest - before) / 2**20}


def compare(source: Path, repeats: int) -> dict[str, object]:
    extractor = compile_extractor(InventoryVehicle)
    _, records = extractor.decode(raw_pages(source))
    forms = _forms(extractor)
    walls: dict[str, list[float]] = {name: [] for name in forms}
    results = {}
    for _ in range(repeats):
        for name, values in forms.items():
            started = time.perf_counter()
            results[name] = values(records)
            walls[name].append(time.perf_counter() - started)
    report: dict[str, object] = {
        "records": records.height,
        "repeats": repeats,
        # The staged form also flags values no type could read, for the discrepancies check.
        "equal": results["staged"].select(results["composed"].columns).equals(results["composed"]),
    }
    for name, times in walls.items():
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.compiler", str(source), "--only", name],
            check=True,
            capture_output=True,
            text=True,
        )
        memory = json.loads(child.stdout)
        report[name] = {
            "best_s": round(min(times), 4),
            "median_s": round(statistics.median(times), 4),
            "peak_mb": round(memory["peak_mb"]),
            "added_mb": round(memory["added_mb"]),
        }
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--only", choices=FORMS, help="measure one form's memory, print JSON")
    args = parser.parse_args(argv)
    if args.only:
        print(json.dumps(measure_one(args.source, args.only)))
        return
    report = compare(args.source, args.repeats)
    print(json.dumps(report, indent=2))
    staged, composed_ = report["staged"], report["composed"]
    assert isinstance(staged, dict) and isinstance(composed_, dict)
    print(f"composed / staged, best wall: x{composed_['best_s'] / staged['best_s']:.2f}")


if __name__ == "__main__":
    main()
