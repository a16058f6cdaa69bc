"""What the production-path tests share: running the daily job and reading every table back."""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import polars as pl
import psycopg2
import pytest
from polars.testing import assert_frame_equal

from ai_core.iceberg.catalog import load_catalog
from ai_stellantis.definitions import defs
from tests.ai_stellantis.conftest import DAY
from tests.servers import Postgres

NAMESPACES = ("stellantis_raw", "stellantis_transformed", "stellantis_consolidated")
# When a page was fetched differs between two runs by design; which page an entity collapsed
# from many pages cites depends on the order pages arrived in.
VOLATILE = ("_fetched_at",)
ARRIVAL_ORDER = ("_sub_resource", "_page_number")


def run_daily_job() -> float:
    """Runs the whole job for DAY on the instance DAGSTER_HOME configures; returns its seconds."""
    job = defs().resolve_job_def("stellantis_daily")
    started = time.perf_counter()
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(partition_key=DAY, instance=instance)
    assert result.success
    return time.perf_counter() - started


def job_tables() -> int:
    """How many tables the daily job writes: one per raw, transformed and consolidated asset."""
    keys = defs().resolve_all_asset_keys()
    return sum(1 for k in keys if k.path[1] in ("raw", "transformed", "consolidated"))


def job_steps() -> int:
    """How many steps the daily job runs: the transformed tables of one raw table share a step."""
    return len(defs().resolve_job_def("stellantis_daily").graph.nodes)


def read_tables(properties: dict[str, str] | None) -> dict[str, pl.DataFrame]:
    """Every table of the job, read with pyiceberg and with Polars (which must agree)."""
    catalog = load_catalog(properties=properties)
    frames = {}
    for namespace in NAMESPACES:
        for identifier in catalog.list_tables(namespace):
            table = catalog.load_table(identifier)
            via_pyiceberg = pl.from_arrow(table.scan().to_arrow())
            assert isinstance(via_pyiceberg, pl.DataFrame)
            via_polars = pl.scan_iceberg(table).collect()
            name = ".".join(identifier)
            drop = VOLATILE + (ARRIVAL_ORDER if namespace == "stellantis_transformed" else ())
            frames[name] = canonical(via_pyiceberg, drop)
            assert_frame_equal(frames[name], canonical(via_polars, drop))
    return frames


def canonical(frame: pl.DataFrame, drop: tuple[str, ...]) -> pl.DataFrame:
    frame = frame.drop([c for c in drop if c in frame.columns])
    plain = [c for c, t in frame.schema.items() if not t.is_nested()]
    return frame.sort(plain)


def postgres_instance(home: Path, server: Postgres, monkeypatch: pytest.MonkeyPatch) -> str:
    """dagster.yaml with run, event and schedule storage on Postgres; the password from the env."""
    database = server.create_database("dagster")
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", server.password)
    (home / "dagster.yaml").write_text(
        "storage:\n"
        "  postgres:\n"
        "    postgres_db:\n"
        f"      username: {server.user}\n"
        "      password:\n"
        "        env: DAGSTER_PG_PASSWORD\n"
        "      hostname: 127.0.0.1\n"
        f"      port: {server.port}\n"
        f"      db_name: {database}\n"
        # SQLAlchemy 2.1 reads a bare `postgresql://` as psycopg 3; the driver here is psycopg2.
        "      scheme: postgresql+psycopg2\n"
        "telemetry:\n"
        "  enabled: false\n"
    )
    return database


def stored_runs(server: Postgres, database: str) -> list[tuple[str, str]]:
    """The runs Dagster recorded in its Postgres storage, read with SQL."""
    conn = psycopg2.connect(
        host="127.0.0.1", port=server.port, user=server.user, password=server.password,
        dbname=database,
    )  # fmt: skip
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pipeline_name, status FROM runs")
            return [(str(a), str(b)) for a, b in cur.fetchall()]
    finally:
        conn.close()
