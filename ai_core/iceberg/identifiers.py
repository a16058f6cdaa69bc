"""Asset key to Iceberg table identifier: the key's path is the table's address.

`["stellantis", "raw", "public_inventory"]` is the table `public_inventory` in the namespace
`stellantis_raw`: every element but the last joins into the namespace, the last names the table.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

AssetKeyLike = dg.AssetKey | Sequence[str] | str


def table_identifier(asset_key: AssetKeyLike) -> tuple[str, str]:
    """`(namespace, table)` for an asset key, a key path, or a `a/b/c` user string."""
    path: list[str]
    if isinstance(asset_key, dg.AssetKey):
        path = list(asset_key.path)
    elif isinstance(asset_key, str):
        path = list(dg.AssetKey.from_user_string(asset_key).path)
    else:
        path = list(asset_key)
    if len(path) < 2 or not all(path):
        raise ValueError(
            f"asset key {path!r} cannot name an Iceberg table: it needs at least two non-empty "
            "parts (namespace parts then the table), e.g. ['stellantis', 'raw', 'public_inventory']"
        )
    return "_".join(path[:-1]), path[-1]


def table_name(asset_key: AssetKeyLike) -> str:
    """The dotted identifier, `stellantis_raw.public_inventory`."""
    return ".".join(table_identifier(asset_key))


def asset_label(asset_key: AssetKeyLike) -> str:
    """The key as users type it, `stellantis/raw/public_inventory`."""
    if isinstance(asset_key, dg.AssetKey):
        return asset_key.to_user_string()
    if isinstance(asset_key, str):
        return asset_key
    return "/".join(asset_key)
