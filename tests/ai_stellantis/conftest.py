"""Fixtures: the local upstream server (one per session) and an isolated catalog per test."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from ai_stellantis.definitions import defs
from standin.stellantis.dealerconnect.process import serve_dealerconnect
from standin.stellantis.sites.process import UpstreamHandle, serve_upstream
from tests.standin.conftest import DOMAINS

DAY = "2026-11-20"
RAW_KEYS = [
    "stellantis/raw/public_model_year_codes",
    "stellantis/raw/public_inventory",
    "stellantis/raw/public_dealers",
]


@dataclass
class UpstreamEnv:
    upstream: UpstreamHandle
    data_dir: Path
    environ: dict[str, str]
    brands: list[str]


@pytest.fixture(scope="session")
def upstream() -> Iterator[UpstreamHandle]:
    with serve_upstream(scope="tiny", seed=7, date=DAY) as handle:
        yield handle


@pytest.fixture(scope="session")
def dealerconnect_endpoint() -> Iterator[str]:
    """DealerConnect's stand-in for the day, so a whole-job run reads it and never Google."""
    with serve_dealerconnect("tiny", seed=7, date=DAY) as handle:
        yield handle.endpoint


@pytest.fixture
def stellantis_env(
    upstream: UpstreamHandle,
    dealerconnect_endpoint: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> UpstreamEnv:
    upstream.set_state(
        date=DAY,
        faults="",
        latency=0.0,
        max_page_size=500,
        max_dealers_per_page=5000,
        schema_drift=0.0,
        blocked_until=None,
    )
    home = tmp_path / "dagster_home"
    home.mkdir()
    settings = {
        "STELLANTIS_BASE_URL_TEMPLATE": upstream.base_url_template,
        "STELLANTIS_INVENTORY_RETRY_BACKOFF": "0.01",
        "STELLANTIS_INVENTORY_TIMEOUT": "5",
        "AI_DATA_DIR": str(tmp_path / "data"),
        "DAGSTER_HOME": str(home),
        "AI_TODAY": DAY,
        "STELLANTIS_BIGQUERY_ENDPOINT": dealerconnect_endpoint,
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("STELLANTIS_BRANDS", raising=False)
    return UpstreamEnv(upstream, tmp_path / "data", dict(os.environ), list(ALL_DOMAINS))


ALL_DOMAINS = tuple(DOMAINS)
"""The six brands' sites, in the order the location lists them when `STELLANTIS_BRANDS` is unset."""

DEALERCONNECT_PARTS = ("dealerconnect", "code_guide", "consolidated/trims", "guide_features")


def public_only(keys: Sequence[str]) -> list[str]:
    """The keys of assets fed by the public sites alone (no DealerConnect stand-in needed)."""
    return [k for k in keys if not any(part in k for part in DEALERCONNECT_PARTS)]


DEALERCONNECT_GROUPS = {"dealerconnect", "code_guides", "guide_options", "guide_packages"}
"""The consolidated source groups read from DealerConnect's tables."""


def only_dealerconnect_missing(check: dg.AssetCheckEvaluation) -> bool:
    """An integrity warning saying only that DealerConnect's sources were not run."""
    missing = check.metadata.get("missing_sources")
    problems = check.metadata.get("problem_count")
    if missing is None or problems is None or not isinstance(missing.value, list):
        return False
    named = set(missing.value)
    return bool(named) and named <= DEALERCONNECT_GROUPS and problems.value == len(named)


def materialize_day(
    keys: Sequence[str] = RAW_KEYS,
    day: str = DAY,
    *,
    raise_on_error: bool = True,
    instance: dg.DagsterInstance | None = None,
) -> dg.ExecuteInProcessResult:
    """Run the daily job for `day`, restricted to `keys`, in this process."""
    job = defs().resolve_job_def("stellantis_daily")
    return job.execute_in_process(
        partition_key=day,
        asset_selection=[dg.AssetKey.from_user_string(k) for k in keys],
        raise_on_error=raise_on_error,
        instance=instance,
    )


def unknown_keys(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, int]]:
    """Each asset's `discrepancies` check: the unknown upstream keys it names, with counts."""
    prefix = "count.unknown key "
    named: dict[str, dict[str, int]] = {}
    for check in result.get_asset_check_evaluations():
        if check.check_name != "discrepancies":
            continue
        keys = {
            k.removeprefix(prefix): int(v.value)
            for k, v in check.metadata.items()
            if k.startswith(prefix)
        }
        assert not (keys and check.passed)
        named[check.asset_key.to_user_string()] = keys
    return named
