"""`StellantisApiResource`: where and how the Stellantis public sites are fetched, defaults here.

A deployment sets these from the environment in `defs/resources/defs.yaml` (`dg list env`); the
HTTP fields default to the shared client's defaults (`ai_core.http.config.HttpClientConfig`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import dagster as dg
from pydantic import Field, ValidationError, ValidationInfo, field_validator

from ai_core.http.config import HttpClientConfig
from ai_stellantis.brands import BRANDS, Brand, resolve_brands

DEFAULT_PAGE_SIZE = 200
"""Vehicles asked for a page: a page costs the sites more the more it carries, but less per
vehicle, up to their cap of 500; benchmarks/README.md has the measurement."""
_HTTP = HttpClientConfig()


class StellantisApiResource(dg.ConfigurableResource):
    """Everything the Stellantis raw sources need to know about where and how to fetch."""

    brands: str = Field(
        default=",".join(b.domain for b in BRANDS),
        description="Brand domains or names, comma-separated.",
    )
    base_url_template: str = Field(
        default="https://www.{domain}",
        description="The sites, `{domain}` standing for each brand's; a local stand-in's URL in "
        "tests.",
    )
    inventory_zip: str = Field(default="66952", description="Search centre: the contiguous US's.")
    inventory_radius: int = Field(
        default=5000, gt=0, description="Search radius in miles: national."
    )
    inventory_pages_workers: int = Field(
        default=_HTTP.workers, ge=1, le=64, description="Requests in flight at once."
    )
    inventory_timeout: float = Field(
        default=_HTTP.timeout_s, gt=0, description="Seconds per connect, read or write."
    )
    inventory_max_retries: int = Field(
        default=_HTTP.max_retries,
        ge=0,
        description="Retries after the first try; a 429 is waited out and uses up none.",
    )
    inventory_retry_backoff: float = Field(
        default=_HTTP.retry_backoff_s, ge=0, description="Seconds, doubled per retry, with jitter."
    )
    inventory_max_throttled: float = Field(
        default=_HTTP.max_throttled_s,
        gt=0,
        description="Seconds a site may answer nothing but 429 before its pages fail.",
    )
    inventory_max_per_model: int | None = Field(
        default=None, ge=1, description="Vehicles read per model-year code; unset: all of them."
    )
    page_size: int = Field(
        default=DEFAULT_PAGE_SIZE,
        ge=1,
        le=500,
        description="Vehicles asked for a page (the sites cap it).",
    )

    @field_validator("inventory_timeout")
    @classmethod
    def _watchdog_outlasts_a_try(cls, value: float) -> float:
        try:
            HttpClientConfig(timeout_s=value)
        except ValidationError:
            raise ValueError(
                f"{value:g} s is too long: a throttled site's probe (a Retry-After of up to "
                f"{_HTTP.retry_after_cap_s:g} s, then a try of up to twice the time-out) could "
                f"outlast the fetch's stall watchdog ({_HTTP.stall_s:g} s); lower it"
            ) from None
        return value

    @field_validator("brands")
    @classmethod
    def _known_brands(cls, value: str) -> str:
        resolve_brands(value)  # an unknown or empty list fails when the location loads
        return value

    @field_validator("base_url_template")
    @classmethod
    def _a_site_per_brand(cls, value: str, info: ValidationInfo) -> str:
        try:
            url = urlsplit(value.format(domain=BRANDS[0].domain))
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"the only placeholder it may hold is {{domain}}, not {exc}") from None
        if url.scheme not in ("http", "https") or not url.netloc:
            raise ValueError("it is not an http(s) URL with a host")
        brands = info.data.get("brands")
        # Without the placeholder every brand would be fetched from one site: one brand's data
        # stored under each brand's name, every check passing.
        if "{domain}" not in value and brands is not None and len(resolve_brands(brands)) > 1:
            raise ValueError("it has no {domain}, so every brand would be read from one site")
        return value

    def base_url(self, brand: Brand) -> str:
        return self.base_url_template.format(domain=brand.domain).rstrip("/")

    def selected_brands(self) -> list[Brand]:
        return resolve_brands(self.brands)

    def http(self) -> HttpClientConfig:
        return HttpClientConfig(
            timeout_s=self.inventory_timeout,
            max_retries=self.inventory_max_retries,
            retry_backoff_s=self.inventory_retry_backoff,
            max_throttled_s=self.inventory_max_throttled,
            workers=self.inventory_pages_workers,
        )
