"""The peer: dlt's declarative `rest_api` source over the Stellantis inventory, in dlt's own venv.

Run as `python -m benchmarks.peer.dlt_pipeline` by the interpreter of the venv that
`benchmarks.environment` builds from `dlt.txt`. It imports dlt and the standard library
only, never the project, so dlt's pins never meet ours.

The source is configured in `benchmarks.peer.dlt_config`; here it is run, once per brand, to
Parquet files or Iceberg tables under `--out`, and what dlt reported is written to `--outcome`.
The extract thread pool has `--workers` threads (`EXTRACT__WORKERS`); the rest is dlt's defaults.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import dlt
from dlt.sources.rest_api import rest_api_source

from benchmarks.peer.dlt_config import source_config

DATASET = "stellantis"


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Load every brand's inventory to the destination and say what dlt reported."""
    out = Path(args.out).resolve()
    pages = itertools.count()
    pipeline = dlt.pipeline(
        pipeline_name=f"stellantis_{args.table_format}",
        pipelines_dir=str(out / "pipelines"),
        destination=dlt.destinations.filesystem(bucket_url=(out / "data").as_uri()),
        dataset_name=DATASET,
    )
    started = time.perf_counter()
    counts: Counter[str] = Counter()
    steps: Counter[str] = Counter()
    for index, domain in enumerate(args.brands.split(",")):
        base_url = args.base_url_template.format(domain=domain)
        source = rest_api_source(
            source_config(base_url, args.zip, args.radius, args.page_size, pages),
            name=domain.replace(".", "_"),
            parallelized=True,
        )
        hints = {"table_format": "iceberg"} if args.table_format == "iceberg" else {}
        # The day replaces the tables; each brand after the first adds to them.
        disposition = "replace" if index == 0 else "append"
        pipeline.run(source, loader_file_format="parquet", write_disposition=disposition, **hints)
        trace = pipeline.last_trace
        if trace.last_normalize_info is not None:
            counts.update(trace.last_normalize_info.row_counts)
        for step in trace.steps:
            if step.finished_at is not None:
                seconds = (step.finished_at - step.started_at).total_seconds()
                steps[f"{step.step}_s"] += seconds
    wall = time.perf_counter() - started
    return {
        "rows": counts.get("inventory"),
        "pages": next(pages),
        "workers": args.workers,
        "row_counts": dict(counts),
        "dlt_run_s": round(wall, 3),
        **{name: round(seconds, 3) for name, seconds in steps.items()},
        "destination": str(out / "data" / DATASET),
        "table_format": args.table_format,
        "dlt_version": dlt.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.peer.dlt_pipeline")
    parser.add_argument("--out", required=True, help="directory for dlt's data and state")
    parser.add_argument("--outcome", required=True, help="JSON file of the stage's metrics")
    parser.add_argument("--table-format", choices=("parquet", "iceberg"), default="parquet")
    parser.add_argument("--workers", type=int, default=10, help="extract thread pool size")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--zip", default=os.environ.get("STELLANTIS_INVENTORY_ZIP", "66952"))
    parser.add_argument(
        "--radius", type=int, default=int(os.environ.get("STELLANTIS_INVENTORY_RADIUS", "5000"))
    )
    parser.add_argument("--brands", default=os.environ.get("STELLANTIS_BRANDS", "jeep.com"))
    parser.add_argument(
        "--base-url-template", default=os.environ.get("STELLANTIS_BASE_URL_TEMPLATE", "")
    )
    args = parser.parse_args(argv)
    if "{domain}" not in args.base_url_template:
        parser.error("STELLANTIS_BASE_URL_TEMPLATE (or --base-url-template) must hold {domain}")
    os.environ["EXTRACT__WORKERS"] = str(args.workers)
    # dlt's telemetry would reach for the internet; the run is local.
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    outcome: dict[str, Any] = {"status": "failed", "metrics": {}, "error": None}
    try:
        outcome["metrics"] = run(args)
        outcome["status"] = "ok"
    except Exception as exc:
        outcome["error"] = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        Path(args.outcome).write_text(json.dumps(outcome, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
