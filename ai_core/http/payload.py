"""Checks that a 2xx answer really carries JSON, since a CDN can answer 200 with an error page."""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec
import orjson

from ai_core.http.retry import Transient


def json_problem(content_type: str | None, body: bytes) -> Transient | None:
    """Why a 2xx body is an error page rather than a JSON answer, or None if it may be JSON.

    The content type alone does not decide: servers send valid JSON as `text/plain` or
    `text/javascript`, and some omit the type. Such a body is left to the parser, and
    `unparsed` names its type if the parser refuses it.
    """
    if body[:256].lstrip()[:1] == b"<":
        return Transient("html", f"an HTML page ({content_type or 'no content type'})")
    return None


def unparsed(content_type: str | None, problem: Transient) -> Transient:
    """The parser's refusal of a body, named by its content type when that never claimed JSON
    (a plain-text error message sent with status 200)."""
    if content_type and "json" not in content_type.lower():
        return Transient("not_json", f"content type {content_type}, not JSON: {problem.detail}")
    return problem


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
