"""Credentials out of URLs before a URL is stored, logged or put in an error message.

A base URL may carry `user:password@` and a query may carry a token; the raw tier stores every
request URL and Dagster keeps every error text, so both go through `redact_url` first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "***"
_SECRET_PARAM = re.compile(r"(pass|secret|token|key|auth|signature|sig|credential)", re.I)


def is_secret_param(name: str) -> bool:
    """Whether a query parameter's name says its value is a credential."""
    return bool(_SECRET_PARAM.search(name))


def redact_url(url: str) -> str:
    """`url` with any user information and secret-looking query values replaced by `***`."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query and _SECRET_PARAM.search(query):
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, REDACTED if is_secret_param(k) else v) for k, v in pairs], safe="*")
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def redact_text(text: str) -> str:
    """`text` (an error message, a mapping's repr) with each URL in it through `redact_url`."""
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group()), text)


def redact_params(params: Mapping[str, str | int]) -> dict[str, str | int]:
    """Query parameters with secret-looking values replaced by `***`."""
    return {k: REDACTED if is_secret_param(k) else v for k, v in params.items()}
