"""`python -m benchmarks.run <scenario> <label>`: run a scenario and print its report.

Exits 0 when every stage succeeded; 1 when one failed or was killed, or the run itself could not
go on (the upstream server did not start); 2 on a bad invocation; 130 when interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from benchmarks import defaults
from benchmarks.days_report import days_report
from benchmarks.report import run_report
from benchmarks.runner import RESULTS_DIR, RunError, run_scenario
from benchmarks.scenario import load_scenario


def _timeout_s() -> float:
    value = os.environ.get("STAGE_TIMEOUT_S", str(defaults.STAGE_TIMEOUT_S))
    try:
        timeout = float(value)
    except ValueError:
        raise SystemExit(f"STAGE_TIMEOUT_S={value!r} is not a number of seconds") from None
    if timeout <= 0:
        raise SystemExit(f"STAGE_TIMEOUT_S={value!r} must be positive")
    return timeout


def _stop(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"stopped by signal {signum}")


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("scenario", help="a name in benchmarks/configs/ or a path to a JSON file")
    parser.add_argument("label", help="what this run is, e.g. a branch or change name")
    parser.add_argument(
        "--abort-on-failure",
        action="store_true",
        help="skip the remaining stages once one fails or is killed (default: run them all)",
    )
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=RESULTS_DIR,
        help=f"where run directories go (default {RESULTS_DIR})",
    )
    args = parser.parse_args(argv)
    try:
        scenario = load_scenario(args.scenario)
    except (FileNotFoundError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 2
    # Stages lead their own sessions, so a signal meant for the run never reaches them: turn
    # SIGTERM and SIGINT (ignored when started in the background) into an exception that stops
    # the running stage and the server on its way out.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        summary_path = run_scenario(
            scenario,
            args.label,
            results_root=args.results_dir,
            timeout_s=_timeout_s(),
            abort_on_failure=args.abort_on_failure,
            echo=_progress,
        )
    except RunError as exc:
        print(f"{exc}\nsummary: {exc.summary_path}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        print(
            f"run interrupted ({exc}): its summary so far is in the run directory above",
            file=sys.stderr,
        )
        return 130
    summary = json.loads(summary_path.read_text())
    print()
    print(run_report(summary))
    days = days_report(summary["stages"])
    if days:
        print(f"\n{days}")
    print(f"\nsummary: {summary_path}")
    return 0 if summary["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
