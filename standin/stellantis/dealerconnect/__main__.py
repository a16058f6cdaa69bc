"""Serve the DealerConnect BigQuery stand-in.

python -m standin.stellantis.dealerconnect serve --port 0 --scope small --date 2026-11-20
Point the client at the printed URL: `bigquery.Client(project=..., credentials=
AnonymousCredentials(), client_options={"api_endpoint": URL})`, or set
`STELLANTIS_BIGQUERY_ENDPOINT=URL` for the pipeline.
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import sys
import threading
from collections.abc import Sequence

from standin.stellantis.dealerconnect.data import DealerConnectWorld
from standin.stellantis.dealerconnect.faults import FaultSpecError
from standin.stellantis.dealerconnect.server import (
    DEFAULT_PAGE_ROWS,
    DealerConnectBackend,
    DealerConnectHttpServer,
)
from standin.stellantis.sites.catalog import SCOPES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m standin.stellantis.dealerconnect",
        description=(__doc__ or "").splitlines()[0],
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the BigQuery API on one port")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8766, help="0 picks a free port")
    serve.add_argument("--scope", default="small", choices=sorted(SCOPES))
    serve.add_argument("--seed", type=int, default=7)
    serve.add_argument("--date", default=None, help="served day, YYYY-MM-DD (default today)")
    serve.add_argument("--dataset", default="dealerconnect")
    serve.add_argument("--faults", default="", help="e.g. 'vanish:inventory_31022,slow_page:2'")
    serve.add_argument("--page-rows", type=int, default=DEFAULT_PAGE_ROWS)
    serve.add_argument("--latency", type=float, default=0.0, help="seconds per API call")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["serve", *argv]
    args = build_parser().parse_args(argv)
    try:
        day = dt.date.fromisoformat(args.date) if args.date else dt.date.today()
        backend = DealerConnectBackend(
            DealerConnectWorld(args.seed, args.scope),
            day,
            dataset=args.dataset,
            faults=args.faults,
            page_rows=args.page_rows,
            latency=args.latency,
        )
    except (FaultSpecError, ValueError) as exc:
        print(f"dealerconnect: bad option: {exc}", file=sys.stderr)
        return 2
    server = DealerConnectHttpServer((args.host, args.port), backend)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(f"http://{args.host}:{server.server_address[1]}", flush=True)
    stop.wait()
    server.shutdown()
    server.server_close()
    backend.db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
