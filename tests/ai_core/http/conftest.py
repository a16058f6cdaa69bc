"""Fixtures shared by the library's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ai_core.http.fault_server import FaultServer


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server
