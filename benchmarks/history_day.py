"""The consolidated inventory of a day that has a previous day: what every day after the first
costs.

    python -m benchmarks.history_day DATA_DIR --day 2026-12-06 [--base TREE] [--repeats 2]

`DATA_DIR` is a benchmark run's data folder (its embedded catalog) holding a whole day `--day`,
such as the evening scenario's. The next day is consolidated from it: its sources have no
partition of their own that day, so every row is carried from `--day` (gap fill), and `--day`'s
consolidated inventory is the previous state the history reads, as on any later day. The small
consolidated steps the inventory links to are materialised once; then the consolidated inventory
runs `--repeats` times, each in a process of its own, alternating with the code of `TREE` (a
checkout of another commit) when `--base` is given; a run that fails, or that imports packages
from outside its tree, is refused. Each run replaces the same partition, as a rerun does, and
the report gives each run's wall, CPU and peak, the candidate over the base, and whether both
wrote the same rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

KEY = "stellantis/consolidated/inventory"
ID = "vehicle_id"
LINKED = ("stellantis/consolidated/dealers", "stellantis/consolidated/models")
ROOT = Path(__file__).resolve().parents[1]


def _materialize(keys: list[str], day: str, out: str | None) -> dict[str, Any]:
    """Run `keys` for `day` in this process; its wall, CPU and peak, and the rows written."""
    import resource
    import time

    import dagster as dg
    import polars as pl

    import ai_core
    import ai_stellantis
    from ai_core.iceberg.catalog import load_catalog
    from ai_stellantis.definitions import defs

    job = defs().resolve_job_def("stellantis_daily")
    started, cpu = time.perf_counter(), time.process_time()
    result = job.execute_in_process(
        partition_key=day,
        asset_selection=[dg.AssetKey.from_user_string(k) for k in keys],
        raise_on_error=False,
    )
    figures: dict[str, Any] = {
        "code": sorted(
            {str(Path(m.__file__).resolve().parents[1]) for m in (ai_core, ai_stellantis)}
        ),
        "success": result.success,
        "wall_s": round(time.perf_counter() - started, 3),
        "cpu_s": round(time.process_time() - cpu, 3),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if out is not None:
        catalog = load_catalog(os.environ["AI_DATA_DIR"])
        table = catalog.load_table("stellantis_consolidated.inventory")
        rows = pl.from_arrow(table.scan(row_filter=f"_partition_date == '{day}'").to_arrow())
        assert isinstance(rows, pl.DataFrame)
        rows.write_parquet(out)
        figures["rows"] = rows.height
    return figures


def run_once(
    tree: Path, data_dir: Path, keys: list[str], day: str, out: str | None
) -> dict[str, Any]:
    """One materialisation in a fresh process running the code of `tree`."""
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(tree), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        AI_DATA_DIR=str(data_dir),
        AI_TODAY=day,
        DAGSTER_HOME=tempfile.mkdtemp(prefix="history-day-home-"),
    )
    # This file, run as a script from the candidate, imports the packages `PYTHONPATH` names
    # first: the tree's (`-P` keeps `benchmarks/` itself off the path).
    command = [sys.executable, "-P", __file__, "--child", day, *keys]
    if out is not None:
        command += ["--out", out]
    done = subprocess.run(command, env=env, cwd=tree, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"{tree}: {' '.join(keys)} failed:\n{done.stderr[-3000:]}")
    figures = dict(json.loads(done.stdout.strip().splitlines()[-1]))
    if not figures["success"]:
        raise RuntimeError(f"{tree}: the run of {' '.join(keys)} failed:\n{done.stderr[-3000:]}")
    if figures["code"] != [str(tree.resolve())]:
        raise RuntimeError(f"{tree}: the run imported the code of {figures['code']}")
    return figures


def _same_rows(a: str, b: str) -> bool:
    import polars as pl

    first, second = pl.read_parquet(a), pl.read_parquet(b)
    # By every flat column: an id two groups share gives two rows of one id.
    order = [ID, *(c for c, t in first.schema.items() if not t.is_nested() and c != ID)]
    return first.sort(order).equals(second.sort(order))


def compare(data_dir: Path, stored_day: dt.date, base: Path | None, repeats: int) -> dict[str, Any]:
    """The day after `stored_day` consolidated `repeats` times a tree, alternating."""
    day = (stored_day + dt.timedelta(days=1)).isoformat()
    trees = {"candidate": ROOT} | ({"base": base.resolve()} if base else {})
    run_once(ROOT, data_dir, list(LINKED), day, None)
    scratch = Path(tempfile.mkdtemp(prefix="history-day-"))
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    for i in range(repeats):
        for name, tree in reversed(trees.items()) if i % 2 else trees.items():
            out = str(scratch / f"{name}.parquet") if i == 0 else None
            figures = run_once(tree, data_dir, [KEY], day, out)
            runs[name].append(figures)
            print(name, json.dumps(figures), file=sys.stderr, flush=True)
    report: dict[str, Any] = {"day": day, "runs": runs}
    for name, figures in runs.items():
        report[name] = {
            k: statistics.median(f[k] for f in figures) for k in ("wall_s", "cpu_s", "peak_mb")
        }
    if "base" in runs:
        report["candidate_over_base"] = {
            k: round(report["candidate"][k] / report["base"][k], 3) for k in report["base"]
        }
        report["same_rows"] = _same_rows(
            str(scratch / "candidate.parquet"), str(scratch / "base.parquet")
        )
    return report


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path)
    parser.add_argument("--day", type=dt.date.fromisoformat, help="the stored day")
    parser.add_argument("--base", type=Path, help="a checkout of the commit to compare with")
    parser.add_argument("--repeats", type=_positive, default=2)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_materialize(args.child[1:], args.child[0], args.out)))
        return 0
    if not args.data_dir or not args.day:
        parser.error("DATA_DIR and --day are required")
    report = compare(args.data_dir.resolve(), args.day, args.base, args.repeats)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
