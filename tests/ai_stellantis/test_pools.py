"""Steps that call the sites share the `stellantis_sites` concurrency pool."""

from __future__ import annotations

from ai_stellantis.definitions import defs

POOL = "stellantis_sites"
BIGQUERY_POOL = "stellantis_bigquery"


def test_every_raw_asset_and_only_raw_assets_are_in_the_sites_pool() -> None:
    pools = {
        key.to_user_string(): assets.op.pool
        for assets in defs().resolve_asset_graph().assets_defs
        if assets.is_executable
        for key in assets.keys
    }
    in_pool = sorted(k for k, pool in pools.items() if pool == POOL)
    assert in_pool == sorted(k for k in pools if k.startswith("stellantis/raw/public_"))
    assert len(in_pool) == 3
    # DealerConnect is another site (BigQuery), with a pool of its own.
    bigquery = sorted(k for k, pool in pools.items() if pool == BIGQUERY_POOL)
    assert bigquery == sorted(k for k in pools if k.startswith("stellantis/raw/dealerconnect_"))
    assert len(bigquery) == 3
