"""The total a sub-resource reports, when its pages do not all agree."""

from __future__ import annotations

import polars as pl


def modal_totals(pages: pl.DataFrame, column: str) -> pl.DataFrame:
    """Per sub-resource: the total most of its pages report (the larger on a tie) as `column`,
    and how many different totals they reported (`reported_totals`)."""
    return (
        pages.drop_nulls(column)
        .group_by("_sub_resource", column)
        .agg(pl.len().alias("n"))
        .sort("_sub_resource", "n", column, descending=[False, True, True])
        .group_by("_sub_resource", maintain_order=True)
        .agg(pl.col(column).first(), pl.col(column).n_unique().alias("reported_totals"))
    )
