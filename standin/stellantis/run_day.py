"""Run one day of the Stellantis pipeline against the local stand-ins, and report it.

`python -m standin.stellantis.run_day` starts the stand-ins of the public sites and DealerConnect,
runs the `stellantis_daily` job for the day on the embedded Iceberg catalog under `AI_DATA_DIR`,
prints per asset the pages, rows, bytes and time and where the tables are, and stops the
stand-ins. Runs are
recorded in the Dagster instance under `<data dir>/dagster_home`, so `dagster dev` started with
the same `DAGSTER_HOME` shows them.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from ai_core.clock import TODAY_ENV, today
from ai_core.http.redact import redact_url
from ai_core.iceberg.catalog import DEFAULT_CATALOG_NAME, configured_catalog_properties

JOB_NAME = "stellantis_daily"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--date",
        default=None,
        help="the day to run, replayed by the stand-in as today (default: AI_TODAY or UTC today)",
    )
    parser.add_argument("--scope", default="small", choices=["tiny", "small", "national"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--latency", type=float, default=0.0, help="upstream seconds per page")
    parser.add_argument("--faults", default="", help="upstream fault spec, e.g. 'html:0.02'")
    parser.add_argument(
        "--schema-drift",
        type=float,
        default=0.0,
        help="share of upstream answers with new keys, keys left out and empty nested objects",
    )
    parser.add_argument("--data-dir", default=os.environ.get("AI_DATA_DIR", ".data"))
    parser.add_argument("--select", default=None, help="asset selection (default: the whole job)")
    parser.add_argument(
        "--log-level", default="INFO", help="Dagster console log level (INFO shows progress)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.date = args.date or today().isoformat()
    # The stand-in serves this day as today, so the sources' one clock must say so too.
    os.environ[TODAY_ENV] = args.date
    data_dir = Path(args.data_dir).resolve()
    home = data_dir / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    instance_yaml = home / "dagster.yaml"
    if not instance_yaml.exists():
        instance_yaml.write_text("telemetry:\n  enabled: false\n")
    os.environ["AI_DATA_DIR"] = str(data_dir)
    os.environ["DAGSTER_HOME"] = str(home)

    from ai_stellantis.definitions import defs as load_defs
    from standin.stellantis.dealerconnect.process import serve_dealerconnect
    from standin.stellantis.sites.process import serve_upstream

    print(
        f"local upstream: scope={args.scope} seed={args.seed} latency={args.latency}s", flush=True
    )
    with (
        serve_upstream(
            scope=args.scope,
            seed=args.seed,
            date=args.date,
            latency=args.latency,
            faults=args.faults,
            schema_drift=args.schema_drift,
        ) as upstream,
        serve_dealerconnect(scope=args.scope, seed=args.seed, date=args.date) as dealerconnect,
    ):
        os.environ["STELLANTIS_BASE_URL_TEMPLATE"] = upstream.base_url_template
        os.environ["STELLANTIS_BIGQUERY_ENDPOINT"] = dealerconnect.endpoint
        definitions = load_defs()
        job = definitions.resolve_job_def(JOB_NAME)
        selection = dg.AssetSelection.from_string(args.select) if args.select else None
        started = time.perf_counter()
        with dg.DagsterInstance.get() as instance:
            result = job.execute_in_process(
                partition_key=args.date,
                instance=instance,
                asset_selection=list(selection.resolve(definitions.resolve_asset_graph()))
                if selection
                else None,
                raise_on_error=False,
                run_config={"loggers": {"console": {"config": {"log_level": args.log_level}}}},
            )
        wall = time.perf_counter() - started
        served = upstream.stats()
    print_report(result, wall, data_dir, served)
    failed_errors = [
        c
        for c in result.get_asset_check_evaluations()
        if not c.passed and c.severity == dg.AssetCheckSeverity.ERROR
    ]
    return 0 if result.success and not failed_errors else 1


def _value(metadata: dict[str, Any], key: str) -> Any:
    entry = metadata.get(key)
    return getattr(entry, "value", entry)


def verdict(check: dg.AssetCheckEvaluation) -> str:
    """`passed`, `warn (N)` or `ERROR (N)`, then the first sample of what it found."""
    if check.passed:
        return "passed"
    md = dict(check.metadata)
    count = _value(md, "problem_count")
    level = "ERROR" if check.severity == dg.AssetCheckSeverity.ERROR else "warn"
    mark = f"{level} ({count})" if count is not None else level
    sample = check.description or first_sample(_value(md, "samples"))
    return f"{mark}: {sample}" if sample else mark


_CELL = re.compile(r"(?<!\\)\|")  # a cell border: a pipe not escaped as `\|`


def first_sample(samples: Any) -> str | None:
    """The first row of a Markdown samples table, as `column=value` pairs."""
    if not isinstance(samples, str):
        return None
    lines = [line for line in samples.splitlines() if line.startswith("|")]
    if len(lines) < 3:
        return None
    names = [c.strip() for c in _CELL.split(lines[0].strip("|"))]
    values = [c.strip().replace(r"\|", "|") for c in _CELL.split(lines[2].strip("|"))]
    return ", ".join(f"{n}={v}" for n, v in zip(names, values, strict=False))


def root_cause(error: Any) -> str:
    """The innermost error of a step failure, as `Type: message` (Dagster wraps user errors)."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    text = str(getattr(error, "message", error)).strip().splitlines()
    return text[0] if text else repr(error)


def catalog_description(data_dir: Path) -> str:
    """Which Iceberg catalog the run wrote to: the configured one, or the embedded one."""
    configured = configured_catalog_properties()
    if configured is None:
        return f"embedded Iceberg catalog {data_dir / 'catalog.db'}, files {data_dir}"
    where = configured.get("uri") or configured.get("warehouse") or "(no uri)"
    return f"Iceberg catalog {DEFAULT_CATALOG_NAME!r} at {redact_url(where)}"


def print_report(
    result: dg.ExecuteInProcessResult, wall: float, data_dir: Path, served: dict[str, Any]
) -> None:
    step_seconds: dict[str, float] = {}
    for event in result.all_events:
        if event.step_key and event.event_type_value == "STEP_SUCCESS":
            duration_ms = getattr(event.event_specific_data, "duration_ms", None) or 0.0
            step_seconds[event.step_key] = duration_ms / 1000
    rows = [("asset", "pages", "rows", "bytes", "seconds", "table")]
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization  # type: ignore[union-attr]
        md = dict(mat.metadata)
        step = event.step_key or ""
        rows.append(
            (
                mat.asset_key.to_user_string(),
                str(_value(md, "pages") or "-"),
                f"{_value(md, 'rows') or 0:,}",
                f"{_value(md, 'bytes') or 0:,}",
                f"{step_seconds.get(step, 0.0):.1f}",
                str(_value(md, "table") or "-"),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print()
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    checks = result.get_asset_check_evaluations()
    if checks:
        print()
        for check in checks:
            print(f"check {check.asset_key.to_user_string()}:{check.check_name} {verdict(check)}")
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = getattr(event.event_specific_data, "error", None)
            cause = root_cause(error) if error is not None else event.message
            print(f"\nstep {event.step_key} failed: {cause}", file=sys.stderr)
    print(f"\n{'succeeded' if result.success else 'FAILED'} in {wall:.1f} s")
    print(f"tables: {catalog_description(data_dir)}")
    print(f"upstream served: {served.get('requests', served)}")
    print(f"runs: DAGSTER_HOME={data_dir / 'dagster_home'} dagster dev  (then open the UI)")


if __name__ == "__main__":
    try:
        status = main()
    except KeyboardInterrupt:
        # The run and the stand-in stop with the process; nothing unfinished was committed.
        print("\ninterrupted: the run stopped; days not committed keep their previous data")
        status = 130
    # Skips the interpreter's final collection of everything Dagster loaded (about a second).
    gc.freeze()
    raise SystemExit(status)
