"""Checks that a 2xx answer really carries JSON, since a CDN can answer 200 with an error page."""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec
import orjson

from ai_core.http.retry import Transient


def json_problem(content_type: str | None, body: bytes) -> Transient | None:
    """Why a 2xx body is not a JSON answer (HTML page, other content type), or None if it may be.

    A missing content type is let through to the parser: some servers omit it on valid JSON.
    """
    if body[:256].lstrip()[:1] == b"<":
        return Transient("html", f"an HTML page ({content_type or 'no content type'})")
    if content_type and "json" not in content_type.lower():
        return Transient("not_json", f"content type {content_type}, not JSON")
    return None


def parse_json(body: bytes, shape: type | None = None) -> tuple[Any, Transient | None]:
    """The parsed body, or the reason it is not valid JSON (for example, truncated).

    With a `shape` (a TypedDict of the parts a caller reads), only those parts are built and the
    rest of the body is scanned past, several times cheaper on a large page. A body not of that
    shape is parsed whole, so the caller sees what it would have seen without one.
    """
    if shape is not None:
        try:
            return _decoder(shape).decode(body), None
        except msgspec.MsgspecError:
            pass
    try:
        return orjson.loads(body), None
    except orjson.JSONDecodeError as exc:
        return None, Transient("invalid_json", f"invalid JSON of {len(body)} bytes ({exc})")


@cache
def _decoder(shape: type) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(shape)
