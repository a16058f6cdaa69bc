"""A day of schema drift through the daily job: the tables of a clean day, the new keys named.

The contract says keys may be missing, null or new. The stand-in serves that drift on a share
of its answers (`standin/stellantis/sites/schema_drift.py`); the job must store exactly what it
stores on the same day served clean, and the `discrepancies` checks must name every new key.
"""

from __future__ import annotations

from collections import Counter

import dagster as dg
import polars as pl
from polars.testing import assert_frame_equal

from ai_core.iceberg.catalog import load_catalog
from standin.stellantis.sites.schema_drift import REWRITES
from tests.ai_stellantis.conftest import DAY, UpstreamEnv, materialize_day, unknown_keys
from tests.ai_stellantis.test_unattended_day import job_keys

NAMESPACES = ("stellantis_transformed", "stellantis_consolidated")
FETCHED = "_fetched_at"
"""The one column a rerun of the same answers may change."""

NEW_KEYS = {
    "stellantis/transformed/inventory_vehicles": {
        "result.requestId",
        "result.data.metadata.sortBy",
        "result.data.vehicles[].listingType",
        "result.data.vehicles[].price.currency",
        "result.data.vehicles[].warranty",
        "result.data.vehicles[].badges",
        "result.data.vehicles[].similarVehicles",
    },
    "stellantis/transformed/model_year_codes": {
        "result.requestId",
        "result.data.modelYearCodes[].family",
    },
    "stellantis/transformed/locator_dealers": {
        "version",
        "dealer[].dealerType",
        "dealer[].departments.collision",
    },
}


def tables(env: UpstreamEnv) -> dict[str, pl.DataFrame]:
    """Every transformed and consolidated table of the day, rows in one order."""
    catalog = load_catalog(env.data_dir)
    out = {}
    for namespace in NAMESPACES:
        for _, name in catalog.list_tables(namespace):
            frame = pl.from_arrow(catalog.load_table(f"{namespace}.{name}").scan().to_arrow())
            assert isinstance(frame, pl.DataFrame)
            frame = frame.drop(FETCHED, strict=False)
            out[f"{namespace}.{name}"] = frame.sort(frame.columns)
    return out


RAW_TABLES = {
    "inventory": "public_inventory",
    "filters": "public_model_year_codes",
    "dealers": "public_dealers",
}


def raw_bodies(env: UpstreamEnv) -> dict[str, str]:
    """Each endpoint's stored answers of the day, as one text."""
    catalog = load_catalog(env.data_dir)
    out = {}
    for endpoint, name in RAW_TABLES.items():
        table = catalog.load_table(f"stellantis_raw.{name}").scan().to_arrow()
        out[endpoint] = "\n".join(pl.Series(table["_response_body"]).cast(pl.String).to_list())
    return out


def assert_rewritten(clean: dict[str, str], drifted: dict[str, str]) -> None:
    """Every rewrite whose text the clean day holds was applied to the drifted day."""
    for endpoint, rewrites in REWRITES.items():
        for old, new in (tuple(part.decode() for part in pair) for pair in rewrites):
            if old not in clean[endpoint]:
                continue
            if not new or old not in new:
                assert old not in drifted[endpoint], (endpoint, old)
            assert new in drifted[endpoint], (endpoint, new)


def assert_same_tables(got: dict[str, pl.DataFrame], expected: dict[str, pl.DataFrame]) -> None:
    assert got.keys() == expected.keys()
    for name, frame in expected.items():
        try:
            assert_frame_equal(got[name], frame)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None


def raw_completeness(result: dg.ExecuteInProcessResult) -> dict[str, tuple[bool, object]]:
    """Each raw table's `completeness` check: passed, and the distinct records it counted."""
    return {
        c.asset_key.to_user_string(): (c.passed, c.metadata["distinct_records"].value)
        for c in result.get_asset_check_evaluations()
        if c.check_name == "completeness" and c.asset_key.path[1] == "raw"
    }


def run_day(env: UpstreamEnv, share: float) -> dg.ExecuteInProcessResult:
    env.upstream.set_state(schema_drift=share)
    result = materialize_day(job_keys(), DAY)
    assert result.success
    return result


def run_drifted(env: UpstreamEnv, share: float) -> tuple[dg.ExecuteInProcessResult, Counter[str]]:
    """The day run with `share` of the answers drifted, and the drifted answers by endpoint."""
    before = Counter(env.upstream.stats()["schema_drifted"])
    result = run_day(env, share)
    return result, Counter(env.upstream.stats()["schema_drifted"]) - before


def test_a_drifted_day_stores_what_the_clean_day_does_and_names_every_new_key(
    stellantis_env: UpstreamEnv,
) -> None:
    clean = run_day(stellantis_env, 0.0)
    assert not any(unknown_keys(clean).values())
    expected = tables(stellantis_env)
    assert len(expected) > 10 and all(t.height for t in expected.values())
    served_clean = raw_bodies(stellantis_env)
    # The day holds the nulls that drift leaves out or sends as an empty object.
    for null in ("trimDesc", "incentives", "attributes", "mackevisionData"):
        assert f',"{null}":null' in served_clean["inventory"]

    checked = raw_completeness(clean)
    assert "stellantis/raw/public_inventory" in checked
    assert all(passed for passed, _ in checked.values())

    drifted, whole = run_drifted(stellantis_env, 1.0)
    # Each site's code list and both locator pages, and every inventory page.
    assert (whole["filters"], whole["dealers"]) == (6, 12) and whole["inventory"] > 0
    assert {k: set(v) for k, v in unknown_keys(drifted).items() if v} == NEW_KEYS
    assert_rewritten(served_clean, raw_bodies(stellantis_env))
    assert_same_tables(tables(stellantis_env), expected)
    # The related vehicles' `vin` is no record: the raw checks count what the clean day holds.
    assert raw_completeness(drifted) == checked

    # Half the answers drifted: runs of pages that disagree on shape decode to the same rows.
    half_day, half = run_drifted(stellantis_env, 0.5)
    assert 0 < half["inventory"] < whole["inventory"]
    assert_same_tables(tables(stellantis_env), expected)
    assert raw_completeness(half_day) == checked
