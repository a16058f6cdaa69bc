"""Cutting a day into chunks of consecutive ids, so the wide pass holds one chunk at a time."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ai_core.consolidate.matching import GROUP

CHUNK = "__chunk"


@dataclass(frozen=True, slots=True)
class ChunkPlan:
    """Which chunk each match group and each departed row belongs to."""

    count: int
    size: int
    groups: pl.DataFrame
    """`_group` to `__chunk`, for today's entities."""
    ids: pl.DataFrame
    """`_group` (null for departed rows) and the id of every row of the day, in chunk order."""
    departed: pl.DataFrame | None
    """The departed rows with their `__chunk`."""

    def split(self, frame: pl.DataFrame, id_column: str) -> dict[int, pl.DataFrame]:
        """`frame`'s rows by the chunk of their id among today's entities, one frame a chunk, so
        a chunk joins its own rows rather than the day's; other rows are dropped. An id two
        groups share (a duplicate the integrity check reports) brings its row once a chunk."""
        chunk_of = (
            self.ids.with_columns(
                (pl.int_range(pl.len(), dtype=pl.UInt32) // self.size).alias(CHUNK)
            )
            .filter(pl.col(GROUP).is_not_null())
            .select(id_column, CHUNK)
            .unique(maintain_order=True)
        )
        parts = frame.join(chunk_of, on=id_column).partition_by(
            CHUNK, as_dict=True, include_key=False
        )
        return {k: parts.get((k,), frame.clear()) for k in range(self.count)}

    def split_groups(self, frame: pl.DataFrame) -> dict[int, pl.DataFrame]:
        """`frame`'s rows (keyed by `_group`) by the chunk of their group, one frame a chunk."""
        parts = frame.join(self.groups, on=GROUP).partition_by(
            CHUNK, as_dict=True, include_key=False
        )
        return {k: parts.get((k,), frame.clear()) for k in range(self.count)}

    def departed_by_chunk(self) -> dict[int, pl.DataFrame]:
        """The departed rows of each chunk that has any."""
        if self.departed is None or self.departed.is_empty():
            return {}
        parts = self.departed.partition_by(CHUNK, as_dict=True)
        return {int(k): part for (k,), part in parts.items()}


def chunk_ids(ids: pl.DataFrame, size: int, k: int) -> pl.DataFrame:
    """Chunk `k`'s rows of a plan's `ids`: a slice, as they are in chunk order."""
    return ids.slice(k * size, size)


def plan_chunks(
    ids: pl.DataFrame, departed: pl.DataFrame | None, id_column: str, chunk_rows: int
) -> ChunkPlan:
    """Sort every id of the day (today's and departed) and cut runs of `chunk_rows`."""
    size = max(chunk_rows, 1)
    every = ids.select(GROUP, pl.col(id_column).cast(pl.String))
    if departed is not None and departed.height:
        gone = departed.select(pl.lit(None, pl.UInt32).alias(GROUP), id_column)
        every = pl.concat([every, gone], how="vertical_relaxed")
    chunked = (
        every.sort(id_column, nulls_last=True, maintain_order=True)
        .with_row_index("_rank")
        .with_columns((pl.col("_rank") // size).alias(CHUNK))
    )
    if departed is not None and departed.height:
        departed = departed.join(
            chunked.filter(pl.col(GROUP).is_null()).select(id_column, CHUNK), on=id_column
        )
    return ChunkPlan(
        count=max(-(-chunked.height // size), 1),
        size=size,
        groups=chunked.filter(pl.col(GROUP).is_not_null()).select(GROUP, CHUNK),
        ids=chunked.select(GROUP, id_column),
        departed=departed,
    )
