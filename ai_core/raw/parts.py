"""Parts of a source: sub-resource keys, where a key covers the keys below it.

`jeep.com` covers `jeep.com/IUJ202610`, so a brand whose list of codes failed marks every code of
that brand as not observed.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl


def covers(part: str, sub_resource: str) -> bool:
    """Whether `part` is `sub_resource` or lies above it."""
    return sub_resource == part or sub_resource.startswith(part + "/")


def in_parts(parts: Iterable[str], column: str = "_sub_resource") -> pl.Expr:
    """Rows whose sub-resource one of `parts` covers."""
    wanted = sorted(set(parts))
    values = pl.col(column)
    return pl.any_horizontal(
        values.is_in(wanted), *(values.str.starts_with(p + "/") for p in wanted)
    )
