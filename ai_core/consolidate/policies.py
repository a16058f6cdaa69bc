"""Field policies, all evaluated in one group-by over the `_group` index.

Within every group, rows stand in precedence order (priority 1 first, then the fresher
partition, the source name, then `_snapshot_hash`), and a group-by keeps row order within each
group, so "highest-priority non-null" is a plain first-non-null and the group's first row is the
winner. The stacking already lays sources out in that order; the wide frame is only sorted when
a source holds two rows of one group, so the usual day costs no copy of the data.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from ai_core.consolidate.matching import GROUP
from ai_core.consolidate.sources import PRIORITY, SNAPSHOT_HASH, SOURCE, SOURCE_AGE, SOURCE_DATE
from ai_core.consolidate.spec import FieldPolicy, MergeSpec

WINNER = "_winner"
SOURCES = "_sources"
GAP_FILLED = "_gap_filled"
OBSERVED_ON = "_observed_on"

PRECEDENCE = [PRIORITY, SOURCE_DATE, SOURCE, SNAPSHOT_HASH]
PRECEDENCE_DESCENDING = [False, True, False, False]


def in_precedence_order(stacked: pl.DataFrame) -> pl.DataFrame:
    """`stack_sources` output with `_group`, ordered so the preferred row of a group is first.

    Sources are stacked in precedence order already; only a source with two rows in one group
    needs its `_snapshot_hash` tie-break, which a full sort provides.
    """
    repeated = stacked.select(
        pl.struct(GROUP, SOURCE).filter(pl.col(GROUP).is_not_null()).is_duplicated().any()
    ).item()
    if not repeated:
        return stacked
    return stacked.sort(
        PRECEDENCE, descending=PRECEDENCE_DESCENDING, nulls_last=True, maintain_order=True
    )


def policy_expr(name: str, field: FieldPolicy, schema: pl.Schema, where: str) -> list[pl.Expr]:
    """The aggregation(s) computing one field; `union` also counts the lists it saw."""
    dtype = schema[name]
    col = pl.col(name)
    is_list = isinstance(dtype, pl.List | pl.Array)
    if field.policy == "priority":
        return [col.first(ignore_nulls=True)]
    if field.policy == "most_recent":
        by = field.by or SOURCE_DATE
        if by not in schema:
            raise KeyError(f"{where}: field {name!r} is most_recent by {by!r}, which no source has")
        # A stable sort keeps precedence order among equally recent rows.
        ordered = col.sort_by(by, descending=True, nulls_last=True, maintain_order=True)
        return [ordered.first(ignore_nulls=True)]
    if field.policy in ("max", "min"):
        if is_list or isinstance(dtype, pl.Struct):
            raise TypeError(f"{where}: field {name!r} is {dtype}; {field.policy} needs scalars")
        return [col.max() if field.policy == "max" else col.min()]
    if not is_list:
        raise TypeError(f"{where}: field {name!r} is {dtype}; union needs a list field")
    elements = col.explode(keep_nulls=False, empty_as_null=False).drop_nulls().unique().sort()
    return [elements, col.is_not_null().any().alias(f"__{name}__seen")]


def provenance_exprs() -> list[pl.Expr]:
    """Which sources contributed, which one won, from which partition, and how fresh."""
    return [
        pl.col(SOURCE).first().alias(WINNER),
        pl.col(SOURCE).unique(maintain_order=True).alias(SOURCES),
        pl.col(SOURCE_DATE).first(),
        pl.col(SOURCE_AGE).first(),
        (pl.col(SOURCE_AGE) > 0).any().alias(GAP_FILLED),
        pl.col(SOURCE_DATE).max().alias(OBSERVED_ON),
    ]


def merge_groups(
    ordered: pl.DataFrame, fields: Sequence[str], merge: MergeSpec, where: str
) -> pl.DataFrame:
    """One row per `_group` of `ordered` (see `in_precedence_order`): every field by its policy,
    plus provenance columns."""
    schema = ordered.schema
    unknown = sorted(set(merge.fields) - set(fields))
    if unknown:
        raise KeyError(
            f"{where}: merge.fields names {unknown}, which no source provides; "
            f"available fields: {sorted(fields)}"
        )
    aggs = [e for f in fields for e in policy_expr(f, merge.policy(f), schema, where)]
    # Rows without a key form a null group; dropping it after the group-by avoids a filtered copy.
    merged = (
        ordered.group_by(GROUP).agg(*aggs, *provenance_exprs()).filter(pl.col(GROUP).is_not_null())
    )
    unions = [f for f in fields if merge.policy(f).policy == "union"]
    if not unions:
        return merged
    # A union is null only when no source had a list; an empty list from a source stays empty.
    return merged.with_columns(
        pl.when(pl.col(f"__{f}__seen")).then(pl.col(f)).alias(f) for f in unions
    ).drop([f"__{f}__seen" for f in unions])
