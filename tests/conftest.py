"""Servers shared by the whole session, and the catalog backends tests are parametrised over."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# No test may look for Google's metadata server: credentials are always given or anonymous.
os.environ["NO_GCE_CHECK"] = "True"

from tests.catalogs import (
    BACKENDS,
    CatalogBackend,
    embedded_backend,
    postgres_backend,
    rest_backend,
)
from tests.servers import Postgres, Redis, Seaweed, postgres_server, redis_server, seaweed_server


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def seaweed() -> Iterator[Seaweed]:
    with seaweed_server() as server:
        yield server


@pytest.fixture(scope="session")
def redis() -> Iterator[Redis]:
    with redis_server() as server:
        yield server


@pytest.fixture
def catalog_backend(request: pytest.FixtureRequest, tmp_path: Path) -> CatalogBackend:
    """A fresh, empty catalog of the kind named by the test's `catalog_backend` parameter."""
    kind = request.param
    if kind == "embedded":
        return embedded_backend(tmp_path / "data")
    if kind == "postgres":
        return postgres_backend(request.getfixturevalue("postgres"), tmp_path / "postgres")
    if kind == "rest":
        return rest_backend(request.getfixturevalue("seaweed"))
    raise ValueError(f"unknown catalog backend {kind!r}; expected one of {BACKENDS}")
