"""Browser-like request headers, rotated per request.

The upstream sites sit behind a CDN that answers browsers; each set below is what one current
desktop browser sends with a same-origin `fetch()` of JSON, so User-Agent, client hints and
Accept-Language agree with each other. Accept-Encoding is left to the HTTP library, which only
advertises encodings it can decode.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence

import httpx

_FETCH = {
    "Accept": "application/json, text/plain, */*",
    "Sec-Fetch-Dest": "empty",
    "Sec-Fetch-Mode": "cors",
    "Sec-Fetch-Site": "same-origin",
}

BROWSER_PROFILES: tuple[Mapping[str, str], ...] = (
    {
        "User-Agent": (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36"
        ),
        "Accept-Language": "en-US,en;q=0.9",
        "sec-ch-ua": '"Chromium";v="142", "Google Chrome";v="142", "Not_A Brand";v="99"',
        "sec-ch-ua-mobile": "?0",
        "sec-ch-ua-platform": '"Windows"',
        **_FETCH,
    },
    {
        "User-Agent": (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36"
        ),
        "Accept-Language": "en-US,en;q=0.9",
        "sec-ch-ua": '"Chromium";v="142", "Google Chrome";v="142", "Not_A Brand";v="99"',
        "sec-ch-ua-mobile": "?0",
        "sec-ch-ua-platform": '"macOS"',
        **_FETCH,
    },
    {
        "User-Agent": (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36 Edg/142.0.0.0"
        ),
        "Accept-Language": "en-US,en;q=0.9",
        "sec-ch-ua": '"Chromium";v="142", "Microsoft Edge";v="142", "Not_A Brand";v="99"',
        "sec-ch-ua-mobile": "?0",
        "sec-ch-ua-platform": '"Windows"',
        **_FETCH,
    },
    # Firefox and Safari send no client hints.
    {
        "User-Agent": (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:145.0) Gecko/20100101 Firefox/145.0"
        ),
        "Accept-Language": "en-US,en;q=0.5",
        **_FETCH,
    },
    {
        "User-Agent": (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/26.1 Safari/605.1.15"
        ),
        "Accept-Language": "en-US,en;q=0.9",
        **_FETCH,
    },
)
"""One header set per desktop browser, in rotation order."""


class HeaderRotator:
    """Hands out header sets round-robin, or always the first when rotation is off.

    Each set is built as `httpx.Headers` once: httpx merges a built set into a request at half
    the CPU of a plain mapping, which it would otherwise rebuild for every request.
    """

    def __init__(
        self, rotate: bool = True, profiles: Sequence[Mapping[str, str]] = BROWSER_PROFILES
    ) -> None:
        if not profiles:
            raise ValueError("HeaderRotator needs at least one header set")
        built = [httpx.Headers(p) for p in profiles]
        self._profiles: Iterator[httpx.Headers] = (
            itertools.cycle(built) if rotate else itertools.repeat(built[0])
        )

    def next_headers(self) -> httpx.Headers:
        return next(self._profiles)
