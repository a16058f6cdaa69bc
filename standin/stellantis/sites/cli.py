"""Serve the simulated Stellantis sites, or write the ground truth of a search to parquet.

python -m standin.stellantis.sites serve --port 0 --scope small --faults html:0.05
python -m standin.stellantis.sites --port 8765            (serve is the default)
python -m standin.stellantis.sites truth --date 2026-11-20 --scope tiny --out DIR
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import signal
import sys
from collections.abc import Sequence
from typing import Any

from ai_stellantis.settings import DEFAULT_PAGE_SIZE
from standin.stellantis.sites.catalog import SCOPES
from standin.stellantis.sites.faults import FaultSpecError
from standin.stellantis.sites.state import ServedState


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-20") from None


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scope", default="small", choices=sorted(SCOPES))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--date", type=_date, default=None, help="served day (default today)")


def _served(name: str) -> Any:
    """A served setting's default, as `ServedState` declares it."""
    return ServedState.model_fields[name].default


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m standin.stellantis.sites", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the six brand sites on one port")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    _common(serve)
    serve.add_argument(
        "--latency", type=float, default=_served("latency"), help="mean seconds per answer"
    )
    serve.add_argument(
        "--jitter", type=float, default=_served("jitter"), help="latency spread, 0..1"
    )
    serve.add_argument("--evening", action="store_true", help="US evening: twice the latency")
    serve.add_argument(
        "--size-share",
        type=float,
        default=_served("size_share"),
        help="share of a 50-vehicle page's latency that grows with its vehicles, 0..1",
    )
    serve.add_argument("--faults", default="", help="e.g. 'html:0.05,failure@jeep.com/dealers/1'")
    serve.add_argument("--stall-seconds", type=float, default=_served("stall_seconds"))
    serve.add_argument(
        "--max-page-size",
        type=int,
        default=_served("max_page_size"),
        help="vehicles a page at most, as the sites cap",
    )
    serve.add_argument(
        "--max-dealers-per-page",
        type=int,
        default=_served("max_dealers_per_page"),
        help="dealers a locator page at most",
    )
    serve.add_argument(
        "--schema-drift",
        type=float,
        default=_served("schema_drift"),
        help="share of answers with new keys, keys left out and empty nested objects, 0..1",
    )
    truth = sub.add_parser("truth", help="write the ground truth of one search as parquet")
    _common(truth)
    truth.add_argument("--zip", default="66952")
    truth.add_argument("--radius", type=float, default=5000.0)
    truth.add_argument("--page-size", type=int, default=DEFAULT_PAGE_SIZE)
    truth.add_argument("--brands", default="", help="comma list of domains (default all)")
    truth.add_argument("--out", required=True, help="directory for the parquet files")
    return parser


async def _serve(args: argparse.Namespace, state: ServedState) -> None:
    from standin.stellantis.sites.server import run

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run(
        args.host,
        args.port,
        args.seed,
        args.scope,
        state,
        stop,
        announce=lambda url: print(url, flush=True),
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["serve", *argv]
    args = build_parser().parse_args(argv)
    day = args.date or dt.date.today()
    if args.command == "truth":
        from standin.stellantis.sites.truth import ground_truth

        brands = [b.strip() for b in args.brands.split(",") if b.strip()] or None
        truth = ground_truth(
            args.seed, day, args.scope, args.zip, args.radius, page_size=args.page_size,
            brands=brands,
        )  # fmt: skip
        for path in truth.write(args.out):
            print(path)
        return 0
    try:
        state = ServedState(
            date=day,
            faults=args.faults,
            latency=args.latency,
            jitter=args.jitter,
            evening=args.evening,
            size_share=args.size_share,
            stall_seconds=args.stall_seconds,
            max_page_size=args.max_page_size,
            max_dealers_per_page=args.max_dealers_per_page,
            schema_drift=args.schema_drift,
        )
    except (FaultSpecError, ValueError) as exc:
        print(f"upstream: bad option: {exc}", file=sys.stderr)
        return 2
    asyncio.run(_serve(args, state))
    return 0
