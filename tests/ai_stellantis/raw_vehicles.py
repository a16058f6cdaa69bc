"""The stored raw inventory and the stand-in's ground truth, as (sub-resource, page, vin) frames."""

from __future__ import annotations

import orjson
import polars as pl

from ai_core.iceberg.catalog import load_catalog
from tests.ai_stellantis.conftest import UpstreamEnv

ZIP, RADIUS = "66952", 5000


def stored(env: UpstreamEnv, name: str) -> pl.DataFrame:
    table = load_catalog(env.data_dir).load_table(f"stellantis_raw.{name}")
    return pl.from_arrow(table.scan().to_arrow())  # type: ignore[return-value]


def stored_vehicles(env: UpstreamEnv) -> pl.DataFrame:
    """(sub-resource, page, vin) of every vehicle in the stored inventory bodies."""
    pages = stored(env, "public_inventory")
    rows = []
    for sub, page, body in pages.select(
        "_sub_resource", "_page_number", "_response_body"
    ).iter_rows():
        for vehicle in orjson.loads(body)["result"]["data"]["vehicles"]:
            rows.append((sub, page, vehicle["vin"]))
    return pl.DataFrame(rows, schema=["sub_resource", "page", "vin"], orient="row")


def truth_vehicles(env: UpstreamEnv) -> pl.DataFrame:
    truth = env.upstream.truth(ZIP, RADIUS).vehicles
    return truth.select(
        (pl.col("domain") + "/" + pl.col("modelYearCode")).alias("sub_resource"),
        pl.col("page"),
        pl.col("vin"),
    )
