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


def total_bounds(pages: pl.DataFrame, column: str, records: str) -> pl.DataFrame:
    """Per sub-resource whose pages report a total, over the pages holding records: `moved`,
    whether their copies reported more than one total (the listing moved while it was paged);
    `lowest_total`, the lowest they reported (a record added while the pages were fetched again
    may be on none of them, so a later copy's total is no floor); and `unsettled_boundaries`, pages
    whose copies and the next page's do not agree (as the fetcher's `paging.agree` has it: a
    total in common, or a page past the end reporting 0), so the two were never answered from
    one state of the listing and a record at their boundary may be on neither.

    `pages` holds `_sub_resource`, `_page_number`, the total in `column` and the page's record
    count in `records`, one row per copy.
    """
    reported = pages.drop_nulls(column)
    holding = reported.filter(pl.col(records) > 0)
    spread = holding.group_by("_sub_resource").agg(
        (pl.col(column).n_unique() > 1).alias("moved"), pl.col(column).min().alias("lowest_total")
    )
    # The fullest page stands for the page size, as the fetcher's own is not stored.
    sizes = reported.group_by("_sub_resource").agg(pl.col(records).max().alias("size"))
    page = pl.col("_page_number").cast(pl.Int64)
    copies = reported.select(
        "_sub_resource", page, pl.col(column).cast(pl.Int64).alias("t")
    ).unique()
    pairs = copies.join(
        copies.with_columns(pl.col("_page_number") - 1),
        on=["_sub_resource", "_page_number"],
        suffix="_next",
    ).join(sizes, on="_sub_resource")
    size = pl.col("size").cast(pl.Int64)
    agree = pairs.filter(
        (pl.col("t") == pl.col("t_next"))
        | ((pl.col("t_next") == 0) & (pl.col("t") <= page * size))
        | ((pl.col("t") == 0) & (pl.col("t_next") <= (page - 1) * size))
    )
    boundaries = pairs.select("_sub_resource", "_page_number").unique()
    unsettled = (
        boundaries.join(agree, on=["_sub_resource", "_page_number"], how="anti")
        .group_by("_sub_resource")
        .agg(pl.len().cast(pl.Int64).alias("unsettled_boundaries"))
    )
    return (
        reported.select("_sub_resource")
        .unique()
        .join(spread, on="_sub_resource", how="left")
        .join(unsettled, on="_sub_resource", how="left")
        .with_columns(pl.col("moved").fill_null(False), pl.col("unsettled_boundaries").fill_null(0))
    )
