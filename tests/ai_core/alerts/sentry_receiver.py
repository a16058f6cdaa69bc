"""A local Sentry ingest endpoint: accepts envelopes on 127.0.0.1 and keeps their events."""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PUBLIC_KEY = "publickey"


def parse_envelope(body: bytes) -> list[tuple[dict[str, Any], bytes]]:
    """The (item header, payload) pairs of a Sentry envelope."""
    _, _, rest = body.partition(b"\n")
    items: list[tuple[dict[str, Any], bytes]] = []
    while rest.strip():
        header_line, _, rest = rest.partition(b"\n")
        header = json.loads(header_line)
        if "length" in header:
            payload, rest = rest[: header["length"]], rest[header["length"] :]
            rest = rest.removeprefix(b"\n")
        else:
            payload, _, rest = rest.partition(b"\n")
        items.append((header, payload))
    return items


class SentryReceiver:
    """`with SentryReceiver() as r:` serves until the block ends; `r.dsn` points at it.
    `r.events` holds the events it accepted, `r.refused` those it answered with an error."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.refused: list[dict[str, Any]] = []
        self.requests = 0
        self._lock = threading.Lock()
        self._refusal: int | None = None
        self._reason: str | None = None
        self._times = -1
        self._accept_first = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                auth = self.headers.get("X-Sentry-Auth", "")
                status = receiver._keep(self.path, auth, body)
                self.send_response(status)
                if status != 200 and receiver._reason is not None:
                    self.send_header("X-Sentry-Error", receiver._reason)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def dsn(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{PUBLIC_KEY}@{host}:{port}/42"

    def refuse(
        self, status: int = 503, after: int = 0, reason: str | None = None, times: int = -1
    ) -> None:
        """Answer `status` to every envelope once `after` more have been accepted (to `times`
        envelopes, then accept again; -1: all), saying `reason` in `X-Sentry-Error`."""
        with self._lock:
            self._refusal, self._accept_first, self._reason = status, after, reason
            self._times = times

    def accept(self) -> None:
        """Accept every envelope again."""
        with self._lock:
            self._refusal = None

    def _keep(self, path: str, auth: str, body: bytes) -> int:
        """The status answered to a POST of `body` to `path`."""
        with self._lock:
            self.requests += 1
            if f"sentry_key={PUBLIC_KEY}" not in auth:
                return 401
            if not path.endswith("/envelope/"):
                return 200
            events = [json.loads(p) for h, p in parse_envelope(body) if h.get("type") == "event"]
            if self._refusal is not None and self._accept_first == 0 and self._times != 0:
                self._times -= 1
                self.refused.extend(events)
                return self._refusal
            self._accept_first = max(0, self._accept_first - 1)
            self.events.extend(events)
            return 200

    def __enter__(self) -> SentryReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
