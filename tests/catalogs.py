"""The catalogs tests run against: embedded SQLite, SQL on Postgres, and REST with an S3 warehouse.

A `CatalogBackend` is plain pyiceberg properties; `environ()` turns them into the
`PYICEBERG_CATALOG__DEFAULT__*` variables a user would set, so child processes and Dagster runs
find the catalog exactly as in production.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from pyarrow import fs

from tests.servers import Postgres, Seaweed

CATALOG_ENV_PREFIX = "PYICEBERG_CATALOG__DEFAULT__"
BACKENDS = ["embedded", "postgres", "rest"]
"""The catalog kinds tests are parametrised over (the `catalog_backend` fixture)."""


@dataclass(frozen=True)
class CatalogBackend:
    name: str
    properties: dict[str, str]

    def environ(self) -> dict[str, str]:
        """The properties as pyiceberg environment variables (`s3.endpoint` is `S3__ENDPOINT`)."""
        return {
            CATALOG_ENV_PREFIX + key.replace(".", "__").replace("-", "_").upper(): value
            for key, value in self.properties.items()
        }


def embedded_backend(data_dir: Path) -> CatalogBackend:
    from ai_core.iceberg.catalog import embedded_catalog_properties

    return CatalogBackend("embedded", embedded_catalog_properties(data_dir))


def postgres_backend(server: Postgres, data_dir: Path) -> CatalogBackend:
    warehouse = data_dir / "warehouse"
    warehouse.mkdir(parents=True, exist_ok=True)
    database = server.create_database("iceberg")
    return CatalogBackend(
        "postgres",
        {"type": "sql", "uri": server.url(database), "warehouse": warehouse.as_uri()},
    )


def rest_backend(server: Seaweed) -> CatalogBackend:
    """SeaweedFS's REST catalog, its requests signed with SigV4 as AWS S3 Tables expects."""
    bucket = server.create_table_bucket()
    return CatalogBackend(
        "rest",
        {
            "type": "rest",
            "uri": server.catalog_uri,
            "warehouse": f"s3://{bucket}/",
            "rest.sigv4-enabled": "true",
            "rest.signing-name": "s3tables",
            "rest.signing-region": server.region,
            "client.access-key-id": server.access_key,
            "client.secret-access-key": server.secret_key,
            "client.region": server.region,
            "s3.endpoint": server.s3_endpoint,
            "s3.access-key-id": server.access_key,
            "s3.secret-access-key": server.secret_key,
            "s3.region": server.region,
        },
    )


def data_files(properties: dict[str, str], day: dt.date) -> set[str]:
    """Every Parquet file of `day` under the warehouse, committed or not."""
    warehouse = urlparse(properties["warehouse"])
    if warehouse.scheme == "file":
        root = Path(warehouse.path)
        return {str(p) for p in root.rglob(f"_partition_date={day}/*.parquet")}
    s3 = fs.S3FileSystem(
        endpoint_override=properties["s3.endpoint"],
        access_key=properties["s3.access-key-id"],
        secret_key=properties["s3.secret-access-key"],
        region=properties["s3.region"],
    )
    found = s3.get_file_info(fs.FileSelector(warehouse.netloc, recursive=True))
    return {
        f.path
        for f in found
        if f.path.endswith(".parquet") and f"/_partition_date={day}/" in f.path
    }
