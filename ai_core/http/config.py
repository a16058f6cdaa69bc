"""Settings of the shared HTTP client; the one place their defaults live.

How long a page can hold the fetch: each connect, read and write waits at most `timeout_s` and a
whole try at most twice that (a body trickling in); a page's tries and the backoff waits between
them end at `page_deadline_s`, after which the page is recorded as missing and the day goes on.
Waiting out a host's 429s spends no deadline: `max_throttled_s` bounds a rate-limit block.
`stall_s` is the watchdog over the whole fetch: when requests are in flight and no page has
finished, well or badly, nor a 429 come, for that long, every page not yet finished is recorded
as missing. None of these depends on the number of pages, so a long healthy fetch is never cut
short; `stall_s` must outlast the longest quiet such a fetch has (see `_stall_outlasts_waits`).
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

MIB = 1024 * 1024


class HttpClientConfig(BaseModel):
    """How one run talks to an upstream: time-outs, retries, concurrency and limits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_s: float = Field(
        default=20.0,
        gt=0,
        description="Bound on each connect, read, write and pool wait; twice this on a whole try.",
    )
    page_deadline_s: float = Field(
        default=120.0,
        gt=0,
        description="Bound on one page across all its tries and backoff waits; waiting out a "
        "host's 429s is bounded by max_throttled_s instead.",
    )
    stall_s: float = Field(
        default=180.0,
        gt=0,
        description="A fetch with requests in flight, no page finished and no 429 answered for "
        "this long stops.",
    )
    max_retries: int = Field(
        default=3,
        ge=0,
        description="Retries after the first attempt; a 429 is waited out and uses up none.",
    )
    retry_backoff_s: float = Field(
        default=2.0,
        ge=0,
        description="Base of the exponential backoff; each wait is full-jittered.",
    )
    max_backoff_s: float = Field(default=30.0, ge=0, description="Cap on one backoff wait.")
    workers: int = Field(default=10, ge=1, description="Most requests in flight at once.")
    max_response_bytes: int = Field(
        default=32 * MIB,
        ge=1,
        description="A body past this size aborts the request without retry.",
    )
    http2: bool = Field(
        default=False,
        description="Offer HTTP/2 through httpx's own pool; HTTP/1.1 goes through aiohttp's, "
        "at a fraction of the CPU a page.",
    )
    rotate_headers: bool = Field(
        default=True,
        description="Rotate browser-like header sets per request instead of using one.",
    )
    cross_host_redirects: bool = Field(
        default=False,
        description="Follow redirects to another host; by default they fail the page.",
    )
    retry_after_cap_s: float = Field(
        default=60.0,
        ge=0,
        description="Longest `Retry-After` wait honoured; longer ones are cut to it.",
    )
    max_throttled_s: float = Field(
        default=900.0,
        gt=0,
        description="How long a host may answer nothing but 429 before its pages fail; until "
        "then they wait, without spending their deadline.",
    )

    @model_validator(mode="after")
    def _stall_outlasts_waits(self) -> Self:
        """A healthy fetch can go a page's deadline without a page finishing, and a throttled
        host the longest wait honoured plus a whole try between two 429s; a watchdog shorter
        than either would give up on a fetch that is still working."""
        between_429s = max(self.retry_after_cap_s, self.max_backoff_s) + 2 * self.timeout_s
        if self.stall_s <= max(self.page_deadline_s, between_429s):
            raise ValueError(
                f"stall_s ({self.stall_s:g} s) must be longer than page_deadline_s "
                f"({self.page_deadline_s:g} s) and than a throttled host's longest wait between "
                f"two 429s, max(retry_after_cap_s, max_backoff_s) + 2 × timeout_s "
                f"({between_429s:g} s): raise stall_s or lower the others"
            )
        return self
