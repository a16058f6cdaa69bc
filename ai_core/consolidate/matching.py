"""Match groups: rows of any source that share any complete alternative key are one entity.

Each alternative key (`[vin]`, `[dealer_code, order_number]`...) is indexed once to a
dense integer id by a join; the rows are then the nodes of a graph whose edges are shared key
ids, and its connected components are found by min-label propagation with pointer jumping, a
few vectorised rounds over integers. Every merge policy then runs as one group-by over the
resulting `_group` index. Only the key columns are touched, so the wide frame is never copied.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

GROUP = "_group"


def key_is_complete(fields: Sequence[str], schema: pl.Schema) -> pl.Expr:
    """A key links rows only when every part has a value; an empty string is no value."""
    parts = []
    for name in fields:
        present = pl.col(name).is_not_null()
        if schema[name] == pl.String:
            present = present & (pl.col(name).str.len_bytes() > 0)
        parts.append(present)
    return pl.all_horizontal(parts)


def index_keys(frame: pl.DataFrame, match_on: Sequence[Sequence[str]], where: str) -> pl.DataFrame:
    """`_key0`, `_key1`...: per row, a dense id of each complete key, null when incomplete."""
    schema = frame.schema
    for key in match_on:
        missing = [f for f in key if f not in schema]
        if missing:
            raise KeyError(
                f"{where}: match_on key {list(key)} names {missing}, which no source provides; "
                f"available fields: {sorted(n for n in schema if not n.startswith('_'))}"
            )
    columns = []
    for i, key in enumerate(match_on):
        name = f"_key{i}"
        narrow = frame.select(key).with_columns(key_is_complete(key, schema).alias("_complete"))
        ids = narrow.filter("_complete").select(key).unique().with_row_index(name)
        joined = narrow.join(ids, on=list(key), how="left", maintain_order="left")
        columns.append(joined.select(pl.when("_complete").then(pl.col(name)).alias(name)))
    return pl.concat(columns, how="horizontal")


def match_groups(frame: pl.DataFrame, match_on: Sequence[Sequence[str]], where: str) -> pl.Series:
    """`_group` per row: the least row number of its connected component; null without a key.

    Rows without any complete key cannot be matched or identified; callers leave them out.
    """
    keys = index_keys(frame, match_on, where)
    names = keys.columns
    labels = keys.with_row_index(GROUP)
    step = pl.min_horizontal(
        pl.col(GROUP),
        *(pl.when(pl.col(k).is_not_null()).then(pl.col(GROUP).min().over(k)) for k in names),
    )
    # Labels only decrease and always name a row of the same component, so following a label
    # to its row's label (pointer jumping) is safe and halves the remaining distance each round.
    while True:
        moved = labels.select(step.alias("_next")).select(pl.col("_next").gather(pl.col("_next")))
        changed = int((moved["_next"] != labels[GROUP]).sum())
        labels = labels.with_columns(moved["_next"].alias(GROUP))
        if changed == 0:
            break
    keyed = pl.any_horizontal(pl.col(k).is_not_null() for k in names)
    return labels.select(pl.when(keyed).then(pl.col(GROUP)).alias(GROUP)).to_series()
