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
# An Authorization header's value: quoted (to its closing quote, an escaped quote as in JSON
# text included) or bare (to the end of its line or `;`). Not a query parameter's, which
# `SECRET_PARAM_RE` redacts without the rest of the line.
AUTH_HEADER_RE = re.compile(
    r"(?<![?&])(?P<name>\b(?:proxy-)?authorization\\?['\"]?\s*[:=,]\s*)"
    r"(?P<value>(?P<quote>\\?['\"])(?:(?!(?P=quote)).)*(?P=quote)?|[^\r\n;]+)",
    re.IGNORECASE,
)
# A single-token scheme keeps its name and what follows the token (`got 401 Unauthorized`): it
# tells a reader which credential was refused. Any other value goes whole.
SINGLE_TOKEN_RE = re.compile(r"(?P<scheme>(?:basic|bearer|negotiate)\s+)\S+", re.IGNORECASE)
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
    text = AUTH_HEADER_RE.sub(_authorization, text)
    for pattern in (BEARER_RE, COOKIE_RE):
        text = pattern.sub(rf"\g<name>{REDACTED}", text)
    return text


def _authorization(match: re.Match[str]) -> str:
    value, quote = match["value"], match["quote"] or ""
    inner = value[len(quote) :]
    closing = quote if quote and inner.endswith(quote) else ""
    inner = inner[: len(inner) - len(closing)]
    single = SINGLE_TOKEN_RE.match(inner)
    kept = f"{single['scheme']}{REDACTED}{inner[single.end() :]}" if single else REDACTED
    return f"{match['name']}{quote}{kept}{closing}"


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
