"""Checks that a 2xx answer really carries JSON, since a CDN can answer 200 with an error page."""

from __future__ import annotations

from typing import Any

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


def parse_json(body: bytes) -> tuple[Any, Transient | None]:
    """The parsed body, or the reason it is not valid JSON (for example, truncated)."""
    try:
        return orjson.loads(body), None
    except orjson.JSONDecodeError as exc:
        return None, Transient("invalid_json", f"invalid JSON of {len(body)} bytes ({exc})")
