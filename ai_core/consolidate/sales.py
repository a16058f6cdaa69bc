"""Observed sales: a sale date reported by a source replaces the sold date inferred from the feed.

The feed only shows that a vehicle stopped being listed, so `history` infers `sold_date` from
`last_seen`. A sales source knows the day. Each row of the day (present or departed) is looked up
in the sales rows by the spec's keys in order (dealer and order number, then VIN); a match sets
`sold_date` to the sale date and `sold_date_source` to `observed`. Any other sold date is
`inferred`; a mark carried from the previous partition is kept, so an observed date stays
observed.
"""

from __future__ import annotations

import polars as pl

from ai_core.consolidate.history import SOLD_DATE
from ai_core.consolidate.spec import SalesSpec

SOLD_DATE_SOURCE = "sold_date_source"
OBSERVED = "observed"
INFERRED = "inferred"
_SALE = "__sale_date_"


def with_observed_sales(
    frame: pl.DataFrame, sales: pl.DataFrame | None, spec: SalesSpec
) -> pl.DataFrame:
    """`frame` with `sold_date` from matching sales and `sold_date_source` set on every row."""
    if SOLD_DATE_SOURCE not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.String).alias(SOLD_DATE_SOURCE))
    found: list[str] = []
    if sales is not None and sales.height:
        for i, key in enumerate(spec.match_on):
            if not set(key) <= set(frame.columns) or not set(key) <= set(sales.columns):
                continue
            column = f"{_SALE}{i}"
            # The earliest report of a sale wins: a later day may repeat it.
            dates = (
                sales.drop_nulls(key).group_by(key).agg(pl.col(spec.date_field).min().alias(column))
            )
            cast = [pl.col(k).cast(frame.schema[k]) for k in key]
            frame = frame.join(dates.with_columns(cast), on=key, how="left", maintain_order="left")
            found.append(column)
    sale = pl.coalesce(found) if found else pl.lit(None, pl.Date)
    inferred = pl.when(pl.col(SOLD_DATE).is_not_null()).then(pl.lit(INFERRED))
    return frame.with_columns(
        pl.coalesce(sale, pl.col(SOLD_DATE)).alias(SOLD_DATE),
        pl.when(sale.is_not_null())
        .then(pl.lit(OBSERVED))
        .otherwise(pl.coalesce(pl.col(SOLD_DATE_SOURCE), inferred))
        .alias(SOLD_DATE_SOURCE),
    ).drop(found)
