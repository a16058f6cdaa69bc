"""Time and peak memory of the vectorised extractor and the per-record path on a synthetic day.

    python -m tests.ai_core.transform.measure_extraction build --out /tmp/day.parquet
    python -m tests.ai_core.transform.measure_extraction run vectorised /tmp/day.parquet
    python -m tests.ai_core.transform.measure_extraction run oracle /tmp/day.parquet
    python -m tests.ai_core.transform.measure_extraction stage-setup /tmp/day.parquet /tmp/catalog
    python -m tests.ai_core.transform.measure_extraction stage /tmp/catalog

Each `run` is meant for a fresh process, so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import dagster as dg
import polars as pl
import pyarrow.parquet as pq

from ai_core.iceberg.io_manager import IcebergIOManager
from ai_core.iceberg.resource import IcebergCatalogResource
from ai_core.partitions import daily_partitions
from ai_core.transform import compile_extractor, oracle_extraction, resolve_key_groups
from ai_core.transform.component import TransformedComponent
from ai_stellantis.brands import BY_DOMAIN
from ai_stellantis.entities import InventoryVehicle
from tests.ai_core.transform.payloads import DAY, inventory_pages, raw_rows


def build(records: int, pages: int, out: Path) -> None:
    page_size = records // pages
    codes = 20
    per_code = records // codes
    rows = list(
        inventory_pages(
            1,
            brands=[BY_DOMAIN["jeep.com"]],
            codes_per_brand=codes,
            vehicles_per_code=per_code,
            page_size=page_size,
        )
    )
    table = raw_rows(rows)
    pq.write_table(table, out)
    print(f"{table.num_rows} pages, {table['_response_body'].nbytes / 2**20:.0f} MiB of bodies")


def run(path: str, source: Path, batch_pages: int) -> None:
    """Extract the day batch by batch, as the transformed asset reads its raw partition."""
    started = time.perf_counter()
    extractor = compile_extractor(InventoryVehicle)
    rows: list[pl.DataFrame] = []
    rejected = 0
    for batch in pq.ParquetFile(source).iter_batches(batch_size=batch_pages):
        if path == "vectorised":
            extraction = extractor.extract(batch)
        else:
            extraction = oracle_extraction(InventoryVehicle, batch)
        rows.append(extraction.rows)
        rejected += extraction.rejected.height
    frame = pl.concat(rows)
    extracted = time.perf_counter() - started
    plan = extractor.plan
    groups = resolve_key_groups(frame, plan.key, plan.hashed, plan.entity.newest_by)
    total = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{path}: {frame.height} rows, {rejected} rejected, extract {extracted:.2f} s, "
        f"with key groups {total:.2f} s ({groups.rows.height} keys), peak RSS {peak:.0f} MiB, "
        f"rows {frame.estimated_size() / 2**20:.0f} MiB"
    )


RAW_KEY = "stellantis/raw/public_inventory"
STAGE_YAML = """
raw: stellantis/raw/public_inventory
start_date: "2026-11-01"
tables:
  - asset_key: stellantis/transformed/inventory_vehicles
    entity: ai_stellantis.entities.InventoryVehicle
    description: Vehicles of the public inventory, one row per VIN.
"""


def stage_setup(source: Path, data_dir: Path) -> None:
    """Store the synthetic day as the raw inventory partition of a fresh catalog."""
    catalog = IcebergCatalogResource(catalog_name="measure", data_dir=str(data_dir))
    batches = pq.ParquetFile(source).iter_batches(batch_size=250)
    catalog.write_partition(RAW_KEY, DAY, batches)


def stage(data_dir: Path) -> None:
    """Materialise the transformed vehicles of the day, as the daily job does."""
    started = time.perf_counter()
    component = TransformedComponent.resolve_from_yaml(STAGE_YAML)
    defs = component.build_defs(dg.ComponentTree.for_test().load_context)
    raw = dg.SourceAsset(
        dg.AssetKey.from_user_string(RAW_KEY),
        partitions_def=daily_partitions("2026-11-01"),
        io_manager_key="iceberg_io_manager",
    )
    result = dg.materialize(
        [*(defs.assets or []), raw],
        partition_key=DAY.isoformat(),
        selection=component.keys,
        resources={
            "iceberg_io_manager": IcebergIOManager(catalog_name="measure", data_dir=str(data_dir))
        },
    )
    materialization = result.asset_materializations_for_node(component.op_name)[0]
    keep = ("rows_written", "extract_seconds", "resolve_seconds", "write_seconds")
    figures = {k: materialization.metadata[k].value for k in keep}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"stage: {time.perf_counter() - started:.2f} s in process, {figures}, peak {peak:.0f} MiB"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--records", type=int, default=250_000)
    b.add_argument("--pages", type=int, default=5_000)
    b.add_argument("--out", type=Path, required=True)
    r = sub.add_parser("run")
    r.add_argument("path", choices=["vectorised", "oracle"])
    r.add_argument("source", type=Path)
    r.add_argument("--batch-pages", type=int, default=500)
    s = sub.add_parser("stage-setup")
    s.add_argument("source", type=Path)
    s.add_argument("data_dir", type=Path)
    t = sub.add_parser("stage")
    t.add_argument("data_dir", type=Path)
    args = parser.parse_args(argv)
    if args.command == "build":
        build(args.records, args.pages, args.out)
    elif args.command == "stage-setup":
        stage_setup(args.source, args.data_dir)
    elif args.command == "stage":
        stage(args.data_dir)
    else:
        run(args.path, args.source, args.batch_pages)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
