"""A small real HTTP/1.1 server on loopback whose answers are scripted per path.

Tests queue faults for a path (`server.script("/p", Fault.status(503), Fault.ok())`); each request
to that path takes the next one, and a path with nothing queued answers with its default
(`server.always(...)`), or a small JSON document. `server.limit_rate(n)` answers 429 to every
request past `n` a second, as a rate limiter in front of an API does. The server counts
connections, requests and the most requests in flight at once, and records each request's path,
query and headers.

Run `python -m tests.ai_core.http.fault_server` to serve plain JSON on a free port (printed on
stdout) from a separate process, for measuring a client without sharing its interpreter.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import orjson

_REASONS = {200: "OK", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error"}
_REASONS |= {502: "Bad Gateway", 503: "Service Unavailable", 302: "Found"}


@dataclass(frozen=True, slots=True)
class Fault:
    """One scripted answer. Build with the class methods rather than by hand."""

    kind: str
    status: int = 200
    delay_s: float = 0.0
    size: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/json"

    @classmethod
    def ok(cls, delay_s: float = 0.0, content_type: str = "application/json") -> Fault:
        return cls("ok", delay_s=delay_s, content_type=content_type)

    @classmethod
    def status_code(cls, status: int, retry_after: str | None = None) -> Fault:
        headers = (("Retry-After", retry_after),) if retry_after is not None else ()
        return cls("status", status=status, headers=headers)

    @classmethod
    def redirect(cls, location: str) -> Fault:
        return cls("status", status=302, headers=(("Location", location),))

    @classmethod
    def html(cls) -> Fault:
        """A CDN error page: 200, text/html."""
        return cls("html")

    @classmethod
    def text(cls) -> Fault:
        return cls("text")

    @classmethod
    def truncated_json(cls) -> Fault:
        """A complete HTTP message whose JSON body is cut off."""
        return cls("truncated_json")

    @classmethod
    def short_body(cls) -> Fault:
        """Fewer bytes than Content-Length announces, then the connection closes."""
        return cls("short_body")

    @classmethod
    def reset(cls) -> Fault:
        """The connection is reset (TCP RST) instead of answered."""
        return cls("reset")

    @classmethod
    def stall(cls, delay_s: float) -> Fault:
        """Headers and body come only after `delay_s`."""
        return cls("ok", delay_s=delay_s)

    @classmethod
    def big(cls, size: int, *, chunked: bool = False) -> Fault:
        return cls("big_chunked" if chunked else "big", size=size)

    @classmethod
    def failure(cls) -> Fault:
        """A well-formed JSON answer saying the upstream failed."""
        return cls("failure")


@dataclass(frozen=True, slots=True)
class Arrival:
    """When a request arrived (monotonic seconds), for what, and whether the rate limit
    answered it 429."""

    at: float
    path: str
    throttled: bool


@dataclass(frozen=True, slots=True)
class SeenRequest:
    path: str
    query: str
    headers: dict[str, str]


@dataclass
class FaultServer:
    """The server; use as a context manager or call `start()` and `stop()`."""

    host: str = "127.0.0.1"
    port: int = 0
    connections: int = 0
    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    seen: list[SeenRequest] = field(default_factory=list)
    record: bool = True
    throttled: int = 0
    """Requests answered 429 by the rate limit."""
    arrivals: list[Arrival] = field(default_factory=list)
    _rate: float | None = None
    _retry_after: str | None = None
    _tokens: float = 0.0
    _refilled: float = 0.0
    _scripts: dict[str, collections.deque[Fault]] = field(default_factory=dict)
    _defaults: dict[str, Fault] = field(default_factory=dict)
    _loop: asyncio.AbstractEventLoop | None = None
    _server: asyncio.base_events.Server | None = None
    _thread: threading.Thread | None = None

    def script(self, path: str, *faults: Fault) -> None:
        self._scripts.setdefault(path, collections.deque()).extend(faults)

    def always(self, path: str, fault: Fault) -> None:
        self._defaults[path] = fault

    def limit_rate(self, per_s: float, retry_after: str | None = None) -> None:
        """Answer 429 (with `Retry-After`, when given) past `per_s` requests a second, a burst
        of at most one second's worth."""
        self._rate, self._retry_after = per_s, retry_after
        self._tokens, self._refilled = per_s, time.monotonic()

    def _over_rate(self, now: float) -> bool:
        if self._rate is None:
            return False
        self._tokens = min(self._rate, self._tokens + (now - self._refilled) * self._rate)
        self._refilled = now
        over = self._tokens < 1
        if not over:
            self._tokens -= 1
        return over

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def start(self) -> FaultServer:
        ready = threading.Event()
        loop = asyncio.new_event_loop()
        self._loop = loop

        def serve() -> None:
            asyncio.set_event_loop(loop)
            self._server = loop.run_until_complete(
                asyncio.start_server(self._handle, self.host, self.port, backlog=256)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            self._server.close()
            # Handlers still waiting on open connections are cancelled, so none outlives the loop.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

        self._thread = threading.Thread(target=serve, name="fault-server", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fault server did not start within 10 s")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next_fault(self, path: str) -> Fault:
        queued = self._scripts.get(path)
        if queued:
            return queued.popleft()
        return self._defaults.get(path, Fault.ok())

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                target = lines[0].split(" ")[1]
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                parts = urlsplit(target)
                self.requests += 1
                if self.record:
                    self.seen.append(SeenRequest(parts.path, parts.query, headers))
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                now = time.monotonic()
                over = self._over_rate(now)
                self.arrivals.append(Arrival(now, parts.path, over))
                if over:
                    self.throttled += 1
                    fault = Fault.status_code(429, self._retry_after)
                else:
                    fault = self._next_fault(parts.path)
                try:
                    keep_open = await self._answer(fault, parts.path, parts.query, writer)
                finally:
                    self.in_flight -= 1
                if not keep_open:
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()

    async def _answer(
        self, fault: Fault, path: str, query: str, writer: asyncio.StreamWriter
    ) -> bool:
        if fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        kind = fault.kind
        if kind == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        if kind == "ok":
            doc = {"result": {"result": "SUCCESS"}, "path": path, "query": query}
            body = orjson.dumps({**doc, "n": self.requests})
            return await _send(writer, 200, fault.content_type, body, fault.headers)
        if kind == "failure":
            body = orjson.dumps({"result": {"result": "FAILURE", "errors": ["backend busy"]}})
            return await _send(writer, 200, "application/json", body, fault.headers)
        if kind == "status":
            body = orjson.dumps({"error": f"status {fault.status}"})
            return await _send(writer, fault.status, "application/json", body, fault.headers)
        if kind == "html":
            body = b"<!DOCTYPE html><html><body><h1>Access Denied</h1></body></html>"
            return await _send(writer, 200, "text/html; charset=utf-8", body)
        if kind == "text":
            return await _send(writer, 200, "text/plain", b"service temporarily unavailable")
        if kind == "truncated_json":
            return await _send(writer, 200, "application/json", b'{"result": {"result": "SUC')
        if kind == "short_body":
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b'Content-Length: 100\r\n\r\n{"result": {"res'
            )
            await writer.drain()
            return False
        if kind in ("big", "big_chunked"):
            body = b'{"pad": "' + b"x" * max(0, fault.size - 11) + b'"}'
            if kind == "big":
                return await _send(writer, 200, "application/json", body)
            return await _send_chunked(writer, body)
        raise ValueError(f"fault server: unknown fault kind {kind!r}")


async def _send(
    writer: asyncio.StreamWriter,
    status: int,
    content_type: str,
    body: bytes,
    extra: tuple[tuple[str, str], ...] = (),
) -> bool:
    head = [
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in extra),
    ]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
    await writer.drain()
    return True


async def _send_chunked(writer: asyncio.StreamWriter, body: bytes, chunk: int = 4096) -> bool:
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    for start in range(0, len(body), chunk):
        piece = body[start : start + chunk]
        writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        await writer.drain()
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = FaultServer(port=args.port, record=False).start()
    print(server.port, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
