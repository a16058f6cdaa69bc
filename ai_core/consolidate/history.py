"""Day-over-day history, carried forward from the previous consolidated partition only.

Each day's partition holds the entities present today plus those that left the feed within the
last `retain_sold_days`, so the work grows with a day's data and the retention window, never
with the whole history:

- `first_seen`: the first day the entity was observed (kept from the previous partition);
- `last_seen`: the latest day a source observed it (for a gap-filled row, the source's day);
- `active`: present in today's sources;
- `sold_date`: for an entity that left the feed, its `last_seen`: a listing comes down after the
  sale, so the last day listed is the closest estimate the feed allows;
- `relisted`: present today after having left the feed (its first_seen is kept).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from ai_core.consolidate.policies import OBSERVED_ON
from ai_core.consolidate.sources import SOURCE_AGE, SOURCE_DATE

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
) -> pl.DataFrame | None:
    """Rows of the previous partition absent today: leaving now, or left within the retention.

    The ids are found from `state` (see `previous_state`); only those rows are then read in
    full, batch by batch, from the previous partition.
    """
    if previous is None:
        return None
    oldest_kept = day - dt.timedelta(days=retain_sold_days)
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
            pl.when(pl.col(ACTIVE))
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
