"""Day-over-day history, carried forward from the previous consolidated partition only.

Each day's partition holds the entities present today plus those that left the feed within the
last `retain_sold_days`, so the work grows with a day's data and the retention window, never
with the whole history:

- `first_seen`: the first day the entity was observed (kept from the previous partition);
- `last_seen`: the latest day a source observed it (for a gap-filled row, the source's day);
- `active`: present in today's sources;
- `sold_date`: for an entity that left the feed, its `last_seen`: a listing comes down after the
  sale, so the last day listed is the closest estimate the feed allows. An entity one source
  gave only as carried (its part unobserved), that nothing saw since, and whose part that source
  still does not see once the carry ends (a dealer's table gone for good, a page down past the
  history days) was not seen to leave: it leaves without a sold date;
- `relisted`: present today after having left the feed (its first_seen is kept).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence

import polars as pl

from ai_core.consolidate.policies import GAP_FILLED, OBSERVED_ON, SOURCES, WINNER
from ai_core.consolidate.sources import SOURCE_AGE, SOURCE_DATE, SourceInput
from ai_core.raw.parts import in_parts

PART = "_sub_resource"
"""The part of a source a row belongs to (a dealer's table, a brand's model-year code)."""

FIRST_SEEN = "first_seen"
LAST_SEEN = "last_seen"
ACTIVE = "active"
SOLD_DATE = "sold_date"
RELISTED = "relisted"
HISTORY_COLUMNS = (FIRST_SEEN, LAST_SEEN, ACTIVE, SOLD_DATE, RELISTED)

_PREV = "__prev_"


def previous_day(day: dt.date, written: list[dt.date]) -> dt.date | None:
    """The latest partition before `day`: history continues across days the run skipped."""
    return max((d for d in written if d < day), default=None)


def _require_history(previous: pl.LazyFrame, id_column: str) -> None:
    names = previous.collect_schema().names()
    missing = [c for c in (id_column, FIRST_SEEN, LAST_SEEN, ACTIVE, SOLD_DATE) if c not in names]
    if missing:
        raise KeyError(
            f"the previous partition lacks {missing}: it was not written with history; "
            "rematerialize it or start history from a day without a previous partition"
        )


def previous_state(previous: pl.LazyFrame | pl.DataFrame | None, id_column: str) -> pl.DataFrame:
    """The previous partition's id and history columns only: what today's rows need from it."""
    schema = {
        id_column: pl.String,
        **{
            _PREV + c: t
            for c, t in ((FIRST_SEEN, pl.Date), (LAST_SEEN, pl.Date), (ACTIVE, pl.Boolean))
        },
    }
    if previous is None:
        return pl.DataFrame(schema=schema)
    lazy = previous.lazy()
    _require_history(lazy, id_column)
    return (
        lazy.select(
            pl.col(id_column).cast(pl.String),
            *(pl.col(c).alias(_PREV + c) for c in (FIRST_SEEN, LAST_SEEN, ACTIVE)),
        )
        .unique(id_column, keep="first")
        .collect()
    )


def with_history(today: pl.DataFrame, state: pl.DataFrame, id_column: str) -> pl.DataFrame:
    """Today's rows (carrying `_observed_on`) with their history columns.

    Only the id column is joined and the result added back, so the wide frame is not copied.
    """
    columns = (
        today.select(id_column, OBSERVED_ON)
        .join(state, on=id_column, how="left", maintain_order="left")
        .select(
            pl.min_horizontal(_PREV + FIRST_SEEN, OBSERVED_ON).alias(FIRST_SEEN),
            pl.max_horizontal(_PREV + LAST_SEEN, OBSERVED_ON).alias(LAST_SEEN),
            pl.lit(True).alias(ACTIVE),
            pl.lit(None, pl.Date).alias(SOLD_DATE),
            (pl.col(_PREV + ACTIVE) == False).fill_null(False).alias(RELISTED),  # noqa: E712
        )
    )
    return today.drop(OBSERVED_ON).hstack(columns)


def departed(
    previous: pl.LazyFrame | pl.DataFrame | None,
    state: pl.DataFrame,
    present_ids: pl.Series,
    day: dt.date,
    id_column: str,
    retain_sold_days: int,
    unseen_ids: pl.Series | None = None,
) -> pl.DataFrame | None:
    """Rows of the previous partition absent today: leaving now, or left within the retention.

    The ids are found from `state` (see `previous_state`); only those rows are then read in
    full, batch by batch, from the previous partition. Those of `unseen_ids` that leave now
    (see `carried_out_of_view`) get no sold date.
    """
    if previous is None:
        return None
    oldest_kept = day - dt.timedelta(days=retain_sold_days)
    unseen = pl.Series(id_column, [], pl.String) if unseen_ids is None else unseen_ids
    today_ids = pl.DataFrame({id_column: present_ids.drop_nulls().cast(pl.String)})
    gone_ids = (
        state.join(today_ids, on=id_column, how="anti")
        .filter(pl.col(_PREV + ACTIVE) | (pl.col(_PREV + LAST_SEEN) >= oldest_kept))
        .get_column(id_column)
    )
    return (
        previous.lazy()
        .with_columns(pl.col(id_column).cast(pl.String))
        .filter(pl.col(id_column).is_in(gone_ids.implode()))
        .unique(id_column, keep="first")
        .with_columns(
            pl.when(pl.col(ACTIVE) & ~pl.col(id_column).is_in(unseen.implode()))
            .then(pl.col(LAST_SEEN))
            .otherwise(pl.col(SOLD_DATE))
            .alias(SOLD_DATE),
            pl.lit(False).alias(ACTIVE),
            pl.lit(False).alias(RELISTED),
            (pl.lit(day) - pl.col(SOURCE_DATE)).dt.total_days().cast(pl.Int32).alias(SOURCE_AGE),
            pl.lit(day, pl.Date).alias("_partition_date"),
        )
        .collect(engine="streaming")
    )


def carried_rows(
    previous: pl.LazyFrame | pl.DataFrame | None, id_column: str, key_columns: Sequence[str]
) -> pl.DataFrame:
    """The previous partition's active rows that one source alone gave, from an earlier day of
    it (carried for a part it did not observe) and that nothing saw since that day: id, that
    source, its day and the key fields."""
    if previous is None:
        return pl.DataFrame()
    lazy = previous.lazy()
    names = lazy.collect_schema().names()
    if not {WINNER, SOURCES, GAP_FILLED} <= set(names):
        return pl.DataFrame()
    return (
        lazy.filter(
            pl.col(ACTIVE)
            & pl.col(GAP_FILLED)
            & (pl.col(SOURCES).list.len() == 1)
            & (pl.col(LAST_SEEN) <= pl.col(SOURCE_DATE))
        )
        .select(
            pl.col(id_column).cast(pl.String),
            WINNER,
            SOURCE_DATE,
            *(c for c in key_columns if c in names),
        )
        .collect()
    )


def carried_out_of_view(
    carried: pl.DataFrame,
    source_rows: pl.LazyFrame,
    seen_parts: Collection[str],
    id_column: str,
    key_alternatives: Sequence[Sequence[str]],
) -> pl.Series:
    """Ids of `carried` rows (of one source and day, see `carried_rows`) whose part of the
    source was not seen today: unobserved (a page of it failed) or holding nothing. Today's
    carry no longer covers them, so they leave without anything having seen them go.

    `source_rows` is that source's day the rows were carried from, its key fields named as the
    entity's, with `_sub_resource`; a carried row is matched to it by any key alternative.
    """
    gone = source_rows.filter(~pl.col(PART).is_in(sorted(seen_parts))).drop(PART).collect()
    found: list[pl.Series] = []
    for alternative in key_alternatives:
        key = list(alternative)
        if not set(key) <= set(gone.columns) or not set(key) <= set(carried.columns):
            continue
        held = gone.select(key).drop_nulls().unique()
        cast = held.with_columns(pl.col(k).cast(carried.schema[k]) for k in key)
        found.append(carried.join(cast, on=key, how="semi").get_column(id_column))
    if not found:
        return pl.Series(id_column, [], pl.String)
    return pl.concat(found).unique()


def leaving_unseen(
    previous: pl.LazyFrame | None,
    inputs: Sequence[SourceInput],
    scan: Callable[[str, dt.date], pl.LazyFrame],
    id_column: str,
    key_alternatives: Sequence[Sequence[str]],
) -> pl.Series | None:
    """Ids of the previous day's records that one source gave from an earlier day of it and
    whose part of that source was not seen today (see `carried_out_of_view`); `scan` reads a
    source's day. A source with nothing in its window today sees none of its parts. A source
    that takes its key fields from another table (`key_from`) is not matched: its records keep
    their inferred sale."""
    key_columns = [f for alternative in key_alternatives for f in alternative]
    carried = carried_rows(previous, id_column, key_columns)
    if carried.is_empty():
        return None
    by_name = {i.group.name: i for i in inputs}
    found: list[pl.Series] = []
    for (name, day), rows in carried.partition_by([WINNER, SOURCE_DATE], as_dict=True).items():
        source = by_name.get(str(name))
        if source is None or not isinstance(day, dt.date):
            continue
        if source.frame is None:
            found.append(rows.get_column(id_column))
            continue
        then = scan(source.group.source, day)
        names = then.collect_schema().names()
        today = source.frame.lazy()
        if PART not in names or PART not in today.collect_schema().names():
            continue  # a source without parts is carried whole or not at all
        seen = today.select(PART).unique().drop_nulls()
        if source.unobserved:
            seen = seen.filter(~in_parts(source.unobserved))
        rename = source.group.rename
        wanted = [c for c in names if rename.get(c, c) in key_columns]
        then = then.select(*wanted, PART).rename({c: rename[c] for c in wanted if c in rename})
        found.append(
            carried_out_of_view(
                rows,
                then,
                seen.collect().get_column(PART).to_list(),
                id_column,
                key_alternatives,
            )
        )
    return pl.concat(found).unique() if found else None
