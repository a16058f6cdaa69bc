"""The answer to one successful JSON request, verbatim bytes alongside the parsed value."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class JsonResponse:
    """A JSON page as the upstream sent it.

    `url` is the final URL with its query (after redirects); `body` is the exact bytes received,
    which the raw tier stores; `data` is `body` parsed. `attempts` counts every try including the
    successful one and `elapsed_s` includes backoff waits.
    """

    url: str
    params: Mapping[str, str | int]
    status: int
    body: bytes
    data: Any
    attempts: int
    elapsed_s: float
    fetched_at: dt.datetime
    http_version: str
