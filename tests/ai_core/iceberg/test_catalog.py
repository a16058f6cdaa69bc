"""Catalog resolution and the asset-key to table mapping."""

from __future__ import annotations

import datetime as dt
import traceback
from pathlib import Path

import dagster as dg
import pytest
from pyiceberg.catalog.sql import SqlCatalog

from ai_core.iceberg.catalog import load_catalog, resolve_data_dir
from ai_core.iceberg.identifiers import asset_label, table_identifier, table_name
from ai_core.iceberg.resource import IcebergCatalogResource
from tests.ai_core.iceberg.writer_proc import day_rows

DAY = dt.date(2026, 11, 23)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (
            dg.AssetKey(["stellantis", "raw", "public_inventory"]),
            ("stellantis_raw", "public_inventory"),
        ),
        (["stellantis", "consolidated", "vehicles"], ("stellantis_consolidated", "vehicles")),
        ("stellantis/transformed/dealers", ("stellantis_transformed", "dealers")),
        (["a", "b", "c", "d"], ("a_b_c", "d")),
        (["ns", "t"], ("ns", "t")),
    ],
)
def test_asset_key_names_the_table(key: object, expected: tuple[str, str]) -> None:
    assert table_identifier(key) == expected  # type: ignore[arg-type]
    assert table_name(key) == ".".join(expected)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", [dg.AssetKey(["alone"]), ["alone"], ["ns", ""]])
def test_a_key_without_namespace_is_refused(key: object) -> None:
    with pytest.raises(ValueError, match="at least two non-empty parts"):
        table_identifier(key)  # type: ignore[arg-type]


def test_asset_label_is_the_user_string() -> None:
    assert asset_label(dg.AssetKey(["a", "b"])) == "a/b"
    assert asset_label(["a", "b"]) == "a/b"


def test_unconfigured_name_uses_embedded_sqlite_under_ai_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AI_DATA_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("PYICEBERG_HOME", str(tmp_path))  # no .pyiceberg.yaml there
    catalog = load_catalog()
    assert isinstance(catalog, SqlCatalog)
    assert catalog.properties["uri"] == f"sqlite:///{tmp_path / 'from-env' / 'catalog.db'}"
    assert catalog.properties["warehouse"] == (tmp_path / "from-env" / "warehouse").as_uri()
    assert (tmp_path / "from-env" / "catalog.db").exists()


def test_explicit_data_dir_beats_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AI_DATA_DIR", str(tmp_path / "from-env"))
    assert resolve_data_dir(tmp_path / "given") == tmp_path / "given"
    monkeypatch.delenv("AI_DATA_DIR")
    monkeypatch.chdir(tmp_path)
    assert resolve_data_dir() == tmp_path / ".data"


def test_environment_variables_configure_a_named_catalog_after_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "configured"
    (elsewhere / "wh").mkdir(parents=True)
    monkeypatch.setenv("PYICEBERG_CATALOG__LAKE__TYPE", "sql")
    monkeypatch.setenv("PYICEBERG_CATALOG__LAKE__URI", f"sqlite:///{elsewhere / 'lake.db'}")
    monkeypatch.setenv("PYICEBERG_CATALOG__LAKE__WAREHOUSE", (elsewhere / "wh").as_uri())
    catalog = load_catalog(tmp_path / "unused", name="lake")
    assert catalog.name == "lake"
    assert catalog.properties["uri"] == f"sqlite:///{elsewhere / 'lake.db'}"
    assert not (tmp_path / "unused").exists()


def test_pyiceberg_yaml_configures_a_named_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "wh").mkdir()
    (tmp_path / ".pyiceberg.yaml").write_text(
        "catalog:\n"
        "  files:\n"
        "    type: sql\n"
        f"    uri: sqlite:///{tmp_path / 'yaml.db'}\n"
        f"    warehouse: {(tmp_path / 'wh').as_uri()}\n"
    )
    monkeypatch.setenv("PYICEBERG_HOME", str(tmp_path))
    resource = IcebergCatalogResource(catalog_name="files")
    resource.write_partition("ns/t", DAY, [day_rows(DAY, 0, 3, "x")])
    assert (tmp_path / "yaml.db").exists()
    assert resource.partition_dates(["ns", "t"]) == [DAY]
    assert (tmp_path / "wh" / "ns" / "t").is_dir()


def test_resource_uses_its_data_dir_and_lists_days(tmp_path: Path) -> None:
    resource = IcebergCatalogResource(data_dir=str(tmp_path))
    assert resource.table("ns/t") is None
    assert resource.partition_dates("ns/t") == []
    resource.write_partition("ns/t", DAY, [day_rows(DAY, 0, 3, "x")])
    resource.write_partition("ns/t", "2026-11-21", [day_rows(dt.date(2026, 11, 21), 0, 2, "y")])
    assert resource.partition_dates("ns/t") == [dt.date(2026, 11, 21), DAY]
    frame = resource.scan_partition("ns/t", DAY).collect()
    assert frame["seq"].to_list() == [0, 1, 2]
    assert (tmp_path / "catalog.db").exists()


@pytest.mark.parametrize(
    "properties",
    [
        # libpq takes the password as a query parameter; a password may hold an unencoded `@`.
        {"type": "sql", "uri": "postgresql+psycopg2://ingest@127.0.0.1:1/lake?password=hunter2"},
        {"type": "sql", "uri": "postgresql+psycopg2://ingest:p@ss-hunter2@127.0.0.1:1/lake"},
        # SQLAlchemy takes `/`, `?` and `#` in a password unencoded; URL readers do not.
        {"type": "sql", "uri": "postgresql+psycopg2://ingest:ab/hunter2@127.0.0.1:1/lake"},
        # A driver may quote a piece after the password's `:` as a port.
        {"type": "sql", "uri": "postgresql+psycopg2://ingest:Tr0ub4dor@x:hunter2@127.0.0.1:1/lake"},
        {"type": "sql", "uri": "postgresql+psycopg2://ingest:ab?hunter2@127.0.0.1:1/lake"},
        {"type": "sql", "uri": "postgresql+psycopg2://ingest:ab#hunter2@127.0.0.1:1/lake"},
        {"type": "rest", "uri": "http://127.0.0.1:1/", "header.Authorization": "Bearer hunter2"},
        {"type": "rest", "uri": "http://127.0.0.1:1/", "token": "hunter2"},
        # A URI that does not parse: SQLAlchemy quotes it whole in its error.
        {"type": "sql", "uri": "postgresql+psycopg2://ingest:hunter2@127.0.0.1:port/lake"},
    ],
)
def test_a_catalog_that_does_not_open_names_it_without_its_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, properties: dict[str, str]
) -> None:
    monkeypatch.setenv("PYICEBERG_HOME", str(tmp_path))
    with pytest.raises(RuntimeError, match="could not open the Iceberg catalog 'lake'") as caught:
        load_catalog(name="lake", properties={**properties, "warehouse": tmp_path.as_uri()})
    error = caught.value
    assert "127.0.0.1" in str(error)  # where it failed is still said
    assert error.__cause__ is None and error.__suppress_context__
    shown = "".join(traceback.format_exception(error))
    assert "hunter2" not in shown


def test_a_bare_postgresql_uri_is_told_to_name_its_driver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYICEBERG_HOME", str(tmp_path))
    uri = "postgresql://ingest:pw@127.0.0.1:1/lake"
    with pytest.raises(RuntimeError, match=r"name the installed driver, postgresql\+psycopg2://"):
        load_catalog(name="lake", properties={"type": "sql", "uri": uri})
