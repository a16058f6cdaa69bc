"""Secrets kept out of alerts: values under secret-looking names, and credentials inside URLs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"
# Whole words of a name (`api_token`, `X-Auth`), so `passed_rows` or `author` are not secrets.
SECRET_NAME_RE = re.compile(
    r"(?:^|[^a-z0-9])(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|auth|authorization"
    r"|cookie|credentials?|dsn|private[_-]?key)(?:$|[^a-z0-9])",
    re.IGNORECASE,
)
URL_USERINFO_RE = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)
SECRET_PARAM_RE = re.compile(
    r"(?P<name>[?&;](?:[a-z0-9_.-]*(?:token|key|secret|password|passwd|signature|sig|auth)"
    r"[a-z0-9_.-]*)=)[^&#\s]*",
    re.IGNORECASE,
)


def scrub_text(text: str) -> str:
    """`text` with URL user-info and secret-looking query parameters replaced."""
    text = URL_USERINFO_RE.sub(rf"\g<scheme>{REDACTED}@", text)
    return SECRET_PARAM_RE.sub(rf"\g<name>{REDACTED}", text)


def scrub_value(name: str, value: Any) -> Any:
    """A JSON-safe copy of `value`, redacted wholly when `name` looks like a secret's."""
    if SECRET_NAME_RE.search(name):
        return REDACTED
    if isinstance(value, str):
        return scrub_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(k): scrub_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(name, v) for v in value]
    return scrub_text(str(value))
