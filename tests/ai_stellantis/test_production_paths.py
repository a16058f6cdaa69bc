"""The daily job on the production paths: the same tables and values as on the embedded default.

(a) the SQL catalog on PostgreSQL with Dagster's own storage on PostgreSQL, and (b) SeaweedFS's
REST catalog with an S3 warehouse. Each runs the whole `stellantis_daily` job for one day of the
tiny scope, then every table is read back with pyiceberg and with Polars and compared with the
same day run on the embedded catalog.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from tests.ai_stellantis.conftest import UpstreamEnv
from tests.ai_stellantis.production import (
    job_tables,
    postgres_instance,
    read_tables,
    run_daily_job,
    stored_runs,
)
from tests.catalogs import CatalogBackend
from tests.servers import Postgres


@pytest.mark.parametrize("catalog_backend", ["postgres", "rest"], indirect=True)
def test_the_daily_job_writes_the_same_tables_as_on_the_embedded_catalog(
    stellantis_env: UpstreamEnv,
    catalog_backend: CatalogBackend,
    postgres: Postgres,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    embedded_seconds = run_daily_job()
    expected = read_tables(None)
    embedded_files = sorted(stellantis_env.data_dir.rglob("*"))

    home = Path(stellantis_env.environ["DAGSTER_HOME"]) / catalog_backend.name
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    dagster_db = None
    if catalog_backend.name == "postgres":
        dagster_db = postgres_instance(home, postgres, monkeypatch)
    for name, value in catalog_backend.environ().items():
        monkeypatch.setenv(name, value)
    seconds = run_daily_job()
    got = read_tables(None)

    assert sorted(got) == sorted(expected)
    assert len(got) == job_tables() >= 24
    for name, frame in expected.items():
        assert frame.height > 0, name
        try:
            assert_frame_equal(got[name], frame)
        except AssertionError as exc:
            raise AssertionError(f"{name} differs: {exc}") from exc
    # Nothing of the second run went to the embedded catalog or its warehouse.
    assert sorted(stellantis_env.data_dir.rglob("*")) == embedded_files
    if dagster_db is not None:
        assert stored_runs(postgres, dagster_db) == [("stellantis_daily", "SUCCESS")]
    print(
        f"{catalog_backend.name}: daily job {seconds:.1f} s (embedded {embedded_seconds:.1f} s), "
        f"{sum(f.height for f in got.values())} rows in {len(got)} tables"
    )
