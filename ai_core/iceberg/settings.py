"""The catalog configuration shared by the IO manager and the catalog resource."""

from __future__ import annotations

import dagster as dg
from pydantic import Field, PrivateAttr
from pyiceberg.catalog import Catalog

from ai_core.iceberg.catalog import DEFAULT_CATALOG_NAME, REQUEST_TIMEOUT_S, load_catalog
from ai_core.iceberg.commit import DEFAULT_MAX_ATTEMPTS


class IcebergCatalogConfig(dg.ConfigurableResource):
    """Which catalog to use; see `ai_core.iceberg.catalog` for how the name is resolved."""

    catalog_name: str = Field(
        default=DEFAULT_CATALOG_NAME,
        description="pyiceberg catalog name, looked up in .pyiceberg.yaml / PYICEBERG_CATALOG__*",
    )
    data_dir: str | None = Field(
        default=None,
        description="Folder of the embedded SQLite catalog used when the name is not configured; "
        "defaults to $AI_DATA_DIR, then .data/",
    )
    catalog_properties: dict[str, str] = Field(
        default_factory=dict,
        description="Extra catalog properties; they override the pyiceberg configuration",
    )
    request_timeout_s: float = Field(
        default=REQUEST_TIMEOUT_S,
        gt=0,
        description="Seconds a catalog server (REST, Postgres) may take over one request or "
        "statement; the catalog's own properties may set tighter bounds",
    )
    max_commit_attempts: int = Field(
        default=DEFAULT_MAX_ATTEMPTS,
        description="Commits of one partition tried before giving up to concurrent writers",
    )

    _catalog: Catalog | None = PrivateAttr(default=None)

    def catalog(self) -> Catalog:
        """The catalog, opened on first use (so the environment is read then, not at import)."""
        if self._catalog is None:
            self._catalog = load_catalog(
                self.data_dir,
                name=self.catalog_name,
                properties=self.catalog_properties,
                timeout_s=self.request_timeout_s,
            )
        return self._catalog
