"""Secrets kept out of alerts: values under secret-looking names, credentials inside URLs, and
HTTP credentials (`Authorization`, bearer tokens, cookies) quoted in free text."""

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
# A lower-case letter or digit followed by a capital starts a camelCase word (`accessToken`).
CAMEL_WORD_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
URL_USERINFO_RE = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)
SECRET_PARAM_RE = re.compile(
    r"(?P<name>[?&;](?:[a-z0-9_.-]*(?:token|key|secret|pass|signature|sig|auth|credential)"
    r"[a-z0-9_.-]*)=)[^&#\s]*",
    re.IGNORECASE,
)
# A known scheme (`Basic`, `Bearer`) is kept, as it tells a reader which credential was wrong;
# the rest of the value goes, to the end of its line, quote or `;`, whatever its scheme's shape.
AUTH_HEADER_RE = re.compile(
    r"(?P<name>\b(?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?"
    r"(?:(?:basic|bearer|digest|negotiate|token)\s+)?)"
    r"[^\r\n'\";]+",
    re.IGNORECASE,
)
BEARER_RE = re.compile(r"(?P<name>\bbearer\s+)[a-z0-9._~+/-]+=*", re.IGNORECASE)
# A cookie header's value runs to the end of its line (or its quote), `;` separating cookies.
COOKIE_RE = re.compile(
    r"(?P<name>\b(?:set-)?cookie['\"]?\s*[:=]\s*['\"]?)[^\r\n'\"]+", re.IGNORECASE
)


def is_secret_name(name: str) -> bool:
    """Whether a value under `name` (snake, kebab or camel case) is a secret's."""
    return SECRET_NAME_RE.search(CAMEL_WORD_RE.sub("_", name)) is not None


def scrub_text(text: str) -> str:
    """`text` with URL user-info, secret-looking query parameters, `Authorization` and `Cookie`
    header values and bearer tokens replaced."""
    text = URL_USERINFO_RE.sub(rf"\g<scheme>{REDACTED}@", text)
    text = SECRET_PARAM_RE.sub(rf"\g<name>{REDACTED}", text)
    for pattern in (AUTH_HEADER_RE, BEARER_RE, COOKIE_RE):
        text = pattern.sub(rf"\g<name>{REDACTED}", text)
    return text


def scrub_value(name: str, value: Any) -> Any:
    """A JSON-safe copy of `value`, redacted wholly when `name` looks like a secret's."""
    if is_secret_name(name):
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
