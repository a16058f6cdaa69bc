"""Every wait for a catalog server is bounded: a server that accepts and never answers, or a
row lock a stuck session holds, fails the write within the time-out instead of holding it."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg2
import pytest
from sqlalchemy.engine import make_url

from ai_core.iceberg.catalog import TIMEOUT_PROPERTY, bounded, load_catalog
from ai_core.iceberg.resource import IcebergCatalogResource
from ai_core.iceberg.rest import BoundedRestCatalog
from tests.ai_core.iceberg.writer_proc import day_rows
from tests.catalogs import CatalogBackend, postgres_backend
from tests.servers import Postgres

DAY = dt.date(2026, 11, 20)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers on them."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not done.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    done.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


@pytest.mark.parametrize(
    "login",
    # The token a credential is exchanged for is asked for through the catalog's session too.
    [{}, {"credential": "client:secret"}],
)
def test_a_rest_catalog_that_never_answers_fails_within_the_time_out(
    silent_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, login: dict[str, str]
) -> None:
    monkeypatch.setenv("PYICEBERG_HOME", str(tmp_path))
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="could not open the Iceberg catalog 'lake'") as caught:
        load_catalog(
            name="lake",
            properties={"type": "rest", "uri": f"http://127.0.0.1:{silent_port}/", **login},
            timeout_s=1.5,
        )
    assert time.monotonic() - started < 10
    assert "Timeout" in str(caught.value) and f"127.0.0.1:{silent_port}" in str(caught.value)


def test_a_postgres_catalog_that_never_answers_fails_within_the_connect_time_out(
    silent_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYICEBERG_HOME", str(tmp_path))
    uri = f"postgresql+psycopg2://ingest:pw@127.0.0.1:{silent_port}/lake"
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="could not open the Iceberg catalog 'lake'"):
        load_catalog(name="lake", properties={"type": "sql", "uri": uri}, timeout_s=2)
    assert time.monotonic() - started < 15


def test_the_bounds_are_added_to_a_postgres_uri_unless_it_sets_its_own(
    postgres: Postgres, tmp_path: Path
) -> None:
    backend = postgres_backend(postgres, tmp_path)
    own = backend.properties | {"uri": backend.properties["uri"] + "?connect_timeout=7"}
    catalog = load_catalog(name="lake", properties=own, timeout_s=3)
    query = parse_qs(urlsplit(catalog.properties["uri"]).query)
    assert query["connect_timeout"] == ["7"]
    assert query["tcp_user_timeout"] == ["3000"]
    assert query["options"] == ["-c statement_timeout=3000"]
    assert query["keepalives"] == ["1"]


def test_a_postgres_uri_keeps_its_password_and_every_host_through_the_bounds() -> None:
    uri = "postgresql+psycopg2://ingest:a/b?c#d@/lake?host=db-a:5432&host=db-b:5432"
    url = make_url(bounded({"type": "sql", "uri": uri}, 3)["uri"])
    assert url.password == "a/b?c#d"
    assert url.query["host"] == ("db-a:5432", "db-b:5432")
    assert url.query["options"] == "-c statement_timeout=3000"


def test_a_commit_waiting_on_a_row_lock_fails_within_the_time_out(
    postgres: Postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = postgres_backend(postgres, tmp_path)
    for name, value in backend.environ().items():
        monkeypatch.setenv(name, value)
    resource = IcebergCatalogResource(request_timeout_s=2)
    resource.write_partition("ns/t", DAY, [day_rows(DAY, 0, 3, "x")])
    # Another session holds the table's catalog row and stays idle in its transaction.
    database = urlsplit(backend.properties["uri"]).path.lstrip("/")
    stuck = psycopg2.connect(
        host="127.0.0.1",
        port=postgres.port,
        user=postgres.user,
        password=postgres.password,
        dbname=database,
    )
    try:
        with stuck.cursor() as cur:
            cur.execute("SELECT * FROM iceberg_tables FOR UPDATE")
        started = time.monotonic()
        with pytest.raises(Exception, match="statement timeout"):
            later = DAY + dt.timedelta(days=1)
            resource.write_partition("ns/t", later, [day_rows(later, 0, 3, "y")])
        assert time.monotonic() - started < 20
    finally:
        stuck.rollback()
        stuck.close()
    assert IcebergCatalogResource().partition_dates("ns/t") == [DAY]


@pytest.mark.parametrize("catalog_backend", ["rest"], indirect=True)
def test_a_rest_catalog_opens_with_its_bounded_session_and_signs_its_requests(
    catalog_backend: CatalogBackend,
) -> None:
    catalog = load_catalog(name="lake", properties=catalog_backend.properties, timeout_s=4)
    assert isinstance(catalog, BoundedRestCatalog)
    assert catalog.properties[TIMEOUT_PROPERTY] == "4"
    catalog.create_namespace("bounded")
    assert ("bounded",) in catalog.list_namespaces()
