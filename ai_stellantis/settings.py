"""Settings of the Stellantis sources: defaults here, overrides from the environment at run time.

| variable | default |
|---|---|
| `STELLANTIS_BASE_URL_TEMPLATE` | `https://www.{domain}` |
| `STELLANTIS_BRANDS` | all six brand domains |
| `STELLANTIS_INVENTORY_ZIP` | `66952` (centre of the contiguous US) |
| `STELLANTIS_INVENTORY_RADIUS` | `5000` (miles: national) |
| `STELLANTIS_INVENTORY_PAGES_WORKERS` | `10` concurrent requests |
| `STELLANTIS_INVENTORY_TIMEOUT` | `20` seconds per connect, read or write |
| `STELLANTIS_INVENTORY_MAX_RETRIES` | `3` retries after the first try |
| `STELLANTIS_INVENTORY_RETRY_BACKOFF` | `2.0` seconds, doubled per retry, with jitter |
| `STELLANTIS_INVENTORY_MAX_PER_MODEL` | unset: every vehicle of a model-year code |
| `STELLANTIS_PAGE_SIZE` | `200` vehicles a page (the sites cap it at 500) |
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


class StellantisSettings(BaseModel):
    """Everything the Stellantis raw sources need to know about where and how to fetch."""

    base_url_template: str = "https://www.{domain}"
    brands: str = ",".join(b.domain for b in BRANDS)
    inventory_zip: str = "66952"
    inventory_radius: int = Field(5000, gt=0)
    inventory_pages_workers: int = Field(10, ge=1, le=64)
    inventory_timeout: float = Field(20.0, gt=0)
    inventory_max_retries: int = Field(3, ge=0)
    inventory_retry_backoff: float = Field(2.0, ge=0)
    inventory_max_per_model: int | None = Field(None, ge=1)
    page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=500)

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
