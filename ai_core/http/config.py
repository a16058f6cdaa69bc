"""Settings of the shared HTTP client; the one place their defaults live."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MIB = 1024 * 1024


class HttpClientConfig(BaseModel):
    """How one run talks to an upstream: time-outs, retries, concurrency and limits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="Bound on each connect, read, write and pool wait; twice this on a whole try.",
    )
    max_retries: int = Field(default=3, ge=0, description="Retries after the first attempt.")
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
    http2: bool = Field(default=True, description="Use HTTP/2 when the server offers it.")
    rotate_headers: bool = Field(
        default=True,
        description="Rotate browser-like header sets per request instead of using one.",
    )
    retry_after_cap_s: float = Field(
        default=60.0,
        ge=0,
        description="Longest `Retry-After` wait honoured; longer ones are cut to it.",
    )
