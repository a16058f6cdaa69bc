"""What a pipeline stored against what the stand-in served: every vehicle, once, typed prices.

Verify callables (`verify` of a stage) read a pipeline's stored vehicles and compare them with
the stand-in's ground truth for the run's search (`STELLANTIS_INVENTORY_ZIP`, `_RADIUS`,
`STELLANTIS_BRANDS`) on the day the server serves. The figures:

| figure | meaning |
|---|---|
| `served` | distinct VINs the stand-in serves for the search |
| `stored_rows` | vehicle rows stored |
| `duplicate_rows` | rows beyond the first of each VIN (page repeats kept) |
| `missing` / `unexpected` | served VINs not stored / stored VINs not served |
| `every_vehicle_once` | no duplicates, none missing, none unexpected |
| `msrp_columns` | each column holding the MSRP and its stored type |
| `msrp_text_rows` | rows whose MSRP is stored as text (dlt's `__v_text` variant columns) |
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.baselines.tables import day_filter, open_catalog
from benchmarks.context import StageContext
from benchmarks.peer.dagster_run import run_timings
from standin.stellantis.sites.truth import ground_truth

OUR_VEHICLES = "stellantis_transformed.inventory_vehicles"
STATE_TIMEOUT_S = 30.0


def served_vins(env: Mapping[str, str], out_dir: Path) -> pl.Series:
    """The distinct VINs the stand-in serves for the run's search, by its ground truth.

    The served day, seed and scope come from the server's control API; the truth is computed
    here for the run's brands only and kept in `out_dir` (the run's directory) for later checks.
    """
    zip_code = env.get("STELLANTIS_INVENTORY_ZIP", "66952")
    radius = env.get("STELLANTIS_INVENTORY_RADIUS", "5000")
    domains = [d.strip() for d in env.get("STELLANTIS_BRANDS", "").split(",") if d.strip()]
    template = env.get("STELLANTIS_BASE_URL_TEMPLATE", "")
    if "/{domain}" not in template:
        raise RuntimeError(
            "STELLANTIS_BASE_URL_TEMPLATE does not name the stand-in ('.../{domain}'): the "
            "ground truth is only known for a run against the local upstream server"
        )
    target = out_dir / f"truth-{zip_code}-{radius}-{'+'.join(domains) or 'all'}.parquet"
    if not target.is_file():
        state_url = template.removesuffix("/{domain}") + "/_sim/state"
        with urllib.request.urlopen(state_url, timeout=STATE_TIMEOUT_S) as answer:
            state = json.loads(answer.read())
        truth = ground_truth(
            state["seed"], state["date"], state["scope"], zip_code, float(radius),
            brands=domains or None,
        )  # fmt: skip
        truth.vehicles.select("domain", "vin").write_parquet(target)
    return pl.read_parquet(target).get_column("vin").unique()


def msrp_names(names: Iterable[str]) -> list[str]:
    """The columns that hold a vehicle's MSRP: ours `msrp`, dlt's `price__msrp` and variants."""
    return [n for n in names if n == "msrp" or n.startswith("price__msrp")]


def msrp_columns(schema: Mapping[str, pl.DataType]) -> dict[str, str]:
    """The MSRP columns and their stored types."""
    return {name: str(schema[name]) for name in msrp_names(schema)}


def facts(vehicles: pl.DataFrame, served: pl.Series) -> dict[str, Any]:
    """The stored-against-served figures of a frame of stored vehicles (`vin` and the MSRP)."""
    stored = set(vehicles.get_column("vin").drop_nulls().to_list())
    expected = set(served.to_list())
    columns = msrp_columns(vehicles.schema)
    text = [n for n, t in columns.items() if t == str(pl.String)]
    text_rows = vehicles.select(pl.any_horizontal(pl.col(text).is_not_null()).sum()).item()
    missing = len(expected - stored)
    unexpected = len(stored - expected)
    duplicates = vehicles.height - len(stored)
    return {
        "served": len(expected),
        "stored_rows": vehicles.height,
        "duplicate_rows": duplicates,
        "missing": missing,
        "unexpected": unexpected,
        "every_vehicle_once": duplicates == 0 and missing == 0 and unexpected == 0,
        "msrp_columns": columns,
        "msrp_text_rows": int(text_rows or 0) if text else 0,
    }


def ours(context: StageContext) -> dict[str, Any]:
    """Our transformed vehicles of the partition (`table`, default the inventory vehicles).

    With `dagster_home` (the stage's `DAGSTER_HOME`), the run's own timings come too.
    """
    table = str(context.params.get("table", OUR_VEHICLES))
    scan = (
        open_catalog(context.data_dir)
        .load_table(table)
        .scan(row_filter=day_filter(context.partition), selected_fields=("vin", "msrp"))
    )
    frame = pl.from_arrow(scan.to_arrow())
    assert isinstance(frame, pl.DataFrame)
    served = served_vins(context.env, context.data_dir.parent)
    figures = {"table": table, **facts(frame, served)}
    if "dagster_home" in context.params:
        figures["dagster_run"] = run_timings(Path(str(context.params["dagster_home"])))
    return figures


def dlt_table(context: StageContext) -> dict[str, Any]:
    """dlt's `inventory` table: Parquet files (`format: parquet`) or an Iceberg table."""
    path = Path(str(context.params["path"]))
    table_format = str(context.params.get("format", "parquet"))
    if table_format == "iceberg":
        frame = _iceberg_frame(path)
    elif table_format == "parquet":
        files = sorted(path.glob("*.parquet"))
        if not files:
            raise FileNotFoundError(f"dlt wrote no Parquet file to {path}")
        # A variant column (`price__msrp__v_text`) is in the files whose pages needed it only.
        frame = pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
    else:
        raise ValueError(f"dlt_table param format={table_format!r}: parquet or iceberg")
    served = served_vins(context.env, context.data_dir.parent)
    return {"path": str(path), "format": table_format, **facts(_vin_and_msrp(frame), served)}


def _vin_and_msrp(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(["vin", *msrp_columns(frame.schema)])


def _iceberg_frame(path: Path) -> pl.DataFrame:
    """The current snapshot of an Iceberg table written without a catalog, by its metadata."""
    from pyiceberg.table import StaticTable

    metadata = sorted((path / "metadata").glob("*.metadata.json"))
    if not metadata:
        raise FileNotFoundError(f"no Iceberg metadata under {path / 'metadata'}")
    # Versions are numbered `NNNNN-<uuid>`: the last in name order is the current one.
    table = StaticTable.from_metadata(metadata[-1].as_uri())
    names = table.schema().column_names
    wanted = ("vin", *msrp_names(names))
    frame = pl.from_arrow(table.scan(selected_fields=wanted).to_arrow())
    assert isinstance(frame, pl.DataFrame)
    return frame
