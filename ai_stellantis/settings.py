"""Settings of the Stellantis public sites: defaults here, overrides from the environment.

Each field is overridden at run time by `STELLANTIS_<FIELD>` (for example
`STELLANTIS_INVENTORY_PAGES_WORKERS`) when that variable is set and not empty. The HTTP fields
default to the shared client's defaults (`ai_core.http.config.HttpClientConfig`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import dagster as dg
from pydantic import BaseModel, Field

from ai_core.http.config import HttpClientConfig
from ai_stellantis.brands import BRANDS, Brand, resolve_brands

ENV_PREFIX = "STELLANTIS_"
DEFAULT_PAGE_SIZE = 200
"""Vehicles asked for a page: a page costs the sites more the more it carries, but less per
vehicle, up to their cap of 500; benchmarks/README.md has the measurement."""
_HTTP = HttpClientConfig()


class StellantisSettings(BaseModel):
    """Everything the Stellantis raw sources need to know about where and how to fetch."""

    base_url_template: str = Field(
        "https://www.{domain}", description="The sites; a local stand-in's URL in tests."
    )
    brands: str = Field(
        ",".join(b.domain for b in BRANDS), description="Brand domains or names, comma-separated."
    )
    inventory_zip: str = Field("66952", description="Search centre: the contiguous US's.")
    inventory_radius: int = Field(5000, gt=0, description="Search radius in miles: national.")
    inventory_pages_workers: int = Field(
        _HTTP.workers, ge=1, le=64, description="Requests in flight at once."
    )
    inventory_timeout: float = Field(
        _HTTP.timeout_s, gt=0, description="Seconds per connect, read or write."
    )
    inventory_max_retries: int = Field(
        _HTTP.max_retries, ge=0, description="Retries after the first try."
    )
    inventory_retry_backoff: float = Field(
        _HTTP.retry_backoff_s, ge=0, description="Seconds, doubled per retry, with jitter."
    )
    inventory_max_per_model: int | None = Field(
        None, ge=1, description="Vehicles read per model-year code; unset: all of them."
    )
    page_size: int = Field(
        DEFAULT_PAGE_SIZE, ge=1, le=500, description="Vehicles asked for a page (the sites cap it)."
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StellantisSettings:
        """Defaults overridden by every `STELLANTIS_*` variable that is set and not empty."""
        env = os.environ if environ is None else environ
        values = {
            name: env[ENV_PREFIX + name.upper()]
            for name in cls.model_fields
            if env.get(ENV_PREFIX + name.upper(), "").strip()
        }
        return cls.model_validate(values)

    def base_url(self, brand: Brand) -> str:
        return self.base_url_template.format(domain=brand.domain).rstrip("/")

    def selected_brands(self) -> list[Brand]:
        return resolve_brands(self.brands)

    def http(self) -> HttpClientConfig:
        return HttpClientConfig(
            timeout_s=self.inventory_timeout,
            max_retries=self.inventory_max_retries,
            retry_backoff_s=self.inventory_retry_backoff,
            workers=self.inventory_pages_workers,
        )


class StellantisApiResource(dg.ConfigurableResource):
    """The Stellantis public sites. Fields left unset come from `STELLANTIS_*` or the defaults."""

    base_url_template: str | None = None
    brands: str | None = None
    inventory_zip: str | None = None
    inventory_radius: int | None = None
    inventory_pages_workers: int | None = None
    inventory_timeout: float | None = None
    inventory_max_retries: int | None = None
    inventory_retry_backoff: float | None = None
    inventory_max_per_model: int | None = None

    def settings(self) -> StellantisSettings:
        base = StellantisSettings.from_env()
        overrides = {k: v for k, v in self.model_dump().items() if v is not None}
        return StellantisSettings.model_validate(base.model_dump() | overrides)
