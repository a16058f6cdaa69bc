"""An httpx transport on aiohttp's connection pool, for HTTP/1.1 fetches at a fraction of the CPU.

httpx's own pool (httpcore) costs several times aiohttp's CPU per request and its connection
assignment grows with requests × connections; the client keeps httpx's API and puts aiohttp
underneath unless HTTP/2 is asked for, which aiohttp does not speak. aiohttp's failures are
mapped onto httpx's exception classes by what happened (connect, read, protocol), so retries
classify them exactly as they classify httpcore's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import aiohttp
import httpx

READ_BUFFER = 1024 * 1024


@contextmanager
def _httpx_errors(request: httpx.Request, *, reading: bool) -> Iterator[None]:
    """Re-raise aiohttp's failures as the httpx error for the same event."""
    try:
        yield
    except aiohttp.ConnectionTimeoutError as exc:
        raise httpx.ConnectTimeout(str(exc) or "connect timed out", request=request) from exc
    except aiohttp.SocketTimeoutError as exc:
        raise httpx.ReadTimeout(str(exc) or "read timed out", request=request) from exc
    except TimeoutError as exc:  # aiohttp's other time-outs subclass it
        raise httpx.TimeoutException(str(exc) or "timed out", request=request) from exc
    except aiohttp.ClientProxyConnectionError as exc:
        raise httpx.ProxyError(str(exc), request=request) from exc
    except aiohttp.ClientConnectorError as exc:
        raise httpx.ConnectError(str(exc), request=request) from exc
    except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as exc:
        raise httpx.UnsupportedProtocol(str(exc), request=request) from exc
    except aiohttp.ServerDisconnectedError as exc:
        raise httpx.RemoteProtocolError(
            "server disconnected without sending a complete response", request=request
        ) from exc
    except (aiohttp.ClientPayloadError, aiohttp.ClientResponseError) as exc:
        # A truncated or malformed message: the peer broke the protocol.
        raise httpx.RemoteProtocolError(str(exc), request=request) from exc
    except aiohttp.ClientOSError as exc:
        error = httpx.ReadError if reading else httpx.WriteError
        raise error(str(exc) or type(exc).__name__, request=request) from exc
    except aiohttp.ClientConnectionError as exc:
        raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors(self._request, reading=True):
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        self._response.release()


def _http_version(version: aiohttp.HttpVersion | None) -> bytes:
    return b"HTTP/1.1" if version is None else f"HTTP/{version.major}.{version.minor}".encode()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests through one `aiohttp.ClientSession` of up to `connections` sockets.

    Redirects, decoding and cookies stay httpx's: aiohttp neither follows redirects nor
    decompresses here. httpx's per-request time-outs become aiohttp's socket time-outs.
    """

    def __init__(self, connections: int, *, keepalive_s: float = 5.0) -> None:
        self._connections = connections
        self._keepalive_s = keepalive_s
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._connections,
                limit_per_host=self._connections,
                keepalive_timeout=self._keepalive_s,
                ttl_dns_cache=300,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent", "Accept-Encoding"),
                read_bufsize=READ_BUFFER,
            )
            # aiohttp silently resends a request whose reused connection was reset; the client's
            # own retries count and pace every attempt, so that resend would hide one. aiohttp
            # has no public switch for it (its own test client sets this attribute too), and the
            # retry tests that count attempts under both pools catch a change in its behaviour.
            self._session._retry_connection = False
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._open()
        timeout = request.extensions.get("timeout", {})
        # A request httpx rebuilt for a redirect carries its body as a stream, empty for a GET.
        body = await request.aread() or None
        url = request.url
        if url.userinfo:  # httpx has already turned it into the Authorization header
            url = url.copy_with(userinfo=b"")
        with _httpx_errors(request, reading=False):
            response = await session.request(
                request.method,
                str(url),
                headers=request.headers.multi_items(),
                data=body,
                allow_redirects=False,
                compress=False,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeout.get("pool"),
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            )
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_Body(response, request),
            request=request,
            extensions={
                "http_version": _http_version(response.version),
                "reason_phrase": (response.reason or "").encode(),
            },
        )

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
