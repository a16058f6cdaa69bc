"""`StellantisResources`: the location's resources, their values from `defs/resources/defs.yaml`."""

from __future__ import annotations

from typing import Annotated

import dagster as dg
from pydantic import Field

from ai_core.iceberg.io_manager import IcebergIOManager
from ai_core.iceberg.resource import IcebergCatalogResource
from ai_core.resources import env_var_if_set, from_yaml
from ai_stellantis.components import BIGQUERY_RESOURCE_KEY, RESOURCE_KEY
from ai_stellantis.settings import StellantisApiResource
from ai_stellantis.sources.bigquery import CREDENTIALS_ENV, DealerConnectBigQuery

# Dagster would check the resource class's fields as YAML types; the resolver builds it instead.
Configured = dg.ConfigurableResource


class StellantisResources(dg.Component, dg.Model, dg.Resolvable):
    """The Iceberg catalog and IO manager, the public sites' client and DealerConnect's BigQuery.

    Each takes a mapping of its fields to values; a value left out, or templated from a variable
    that is unset, keeps the field's default.
    """

    catalog: Annotated[Configured, from_yaml(IcebergCatalogResource)] = Field(
        default_factory=IcebergCatalogResource
    )
    public_sites: Annotated[Configured, from_yaml(StellantisApiResource)] = Field(
        default_factory=StellantisApiResource
    )
    dealerconnect: Annotated[Configured, from_yaml(DealerConnectBigQuery)] = Field(
        default_factory=DealerConnectBigQuery
    )

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        catalog = self.catalog.model_dump(exclude_unset=True)
        bigquery = self.dealerconnect.model_dump(exclude_unset=True)
        return dg.Definitions(
            resources={
                "iceberg_io_manager": IcebergIOManager(**catalog),
                "iceberg": self.catalog,
                RESOURCE_KEY: self.public_sites,
                BIGQUERY_RESOURCE_KEY: DealerConnectBigQuery(
                    **bigquery, gcp_credentials=env_var_if_set(CREDENTIALS_ENV)
                ),
            }
        )
