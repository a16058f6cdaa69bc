"""The HTTP client as a Dagster resource, so its settings are run configuration."""

from __future__ import annotations

from typing import Any

import dagster as dg
from pydantic import Field

from ai_core.http.client import AsyncHttpClient
from ai_core.http.config import HttpClientConfig

_DEFAULTS = HttpClientConfig()
_DOCS = {name: info.description for name, info in HttpClientConfig.model_fields.items()}


class HttpClientResource(dg.ConfigurableResource):
    """Settings of the shared HTTP client; `client()` opens one per run."""

    timeout_s: float = Field(default=_DEFAULTS.timeout_s, description=_DOCS["timeout_s"])
    page_deadline_s: float = Field(
        default=_DEFAULTS.page_deadline_s, description=_DOCS["page_deadline_s"]
    )
    stall_s: float = Field(default=_DEFAULTS.stall_s, description=_DOCS["stall_s"])
    cross_host_redirects: bool = Field(
        default=_DEFAULTS.cross_host_redirects, description=_DOCS["cross_host_redirects"]
    )
    max_retries: int = Field(default=_DEFAULTS.max_retries, description=_DOCS["max_retries"])
    retry_backoff_s: float = Field(
        default=_DEFAULTS.retry_backoff_s, description=_DOCS["retry_backoff_s"]
    )
    max_backoff_s: float = Field(
        default=_DEFAULTS.max_backoff_s, description=_DOCS["max_backoff_s"]
    )
    workers: int = Field(default=_DEFAULTS.workers, description=_DOCS["workers"])
    max_response_bytes: int = Field(
        default=_DEFAULTS.max_response_bytes, description=_DOCS["max_response_bytes"]
    )
    http2: bool = Field(default=_DEFAULTS.http2, description=_DOCS["http2"])
    rotate_headers: bool = Field(
        default=_DEFAULTS.rotate_headers, description=_DOCS["rotate_headers"]
    )
    retry_after_cap_s: float = Field(
        default=_DEFAULTS.retry_after_cap_s, description=_DOCS["retry_after_cap_s"]
    )

    def client_config(self, **overrides: Any) -> HttpClientConfig:
        """The validated settings, with `overrides` (same names) taking precedence."""
        values = {name: getattr(self, name) for name in HttpClientConfig.model_fields}
        return HttpClientConfig.model_validate({**values, **overrides})

    def client(self, **overrides: Any) -> AsyncHttpClient:
        """A new, unopened client; open it with `async with`."""
        return AsyncHttpClient(self.client_config(**overrides))
