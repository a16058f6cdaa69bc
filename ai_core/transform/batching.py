"""Regrouping raw batches into units worth extracting, whatever size the reader yields them in.

The Iceberg reader yields batches of one data file's row group at a time, at most one decode
slice: extracted one by one they would leave the second core idle. Consecutive
batches are therefore joined until they hold `GROUP_BYTES` of bodies, enough slices to run side by
side, while memory still holds only a few tens of megabytes of raw pages.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from ai_core.arrow import Frame, as_arrow
from ai_core.transform.decode import CHUNK_BYTES

GROUP_BYTES = 2 * CHUNK_BYTES
"""Bodies extracted together: one slice per core on two cores."""


def body_bytes(table: pa.Table) -> int:
    """Bytes of response bodies in a raw table (0 without the column)."""
    if "_response_body" not in table.column_names or table.num_rows == 0:
        return 0
    return int(pc.sum(pc.binary_length(table["_response_body"])).as_py() or 0)


def grouped(raw: Iterable[Frame], target_bytes: int = GROUP_BYTES) -> Iterator[pa.Table]:
    """Consecutive raw batches joined into tables of about `target_bytes` of bodies, in order.

    A batch is never split; one whose schema differs from the group's starts a new group.
    """
    group: list[pa.Table] = []
    size = 0
    for batch in raw:
        table = as_arrow(batch)
        if group and table.schema != group[0].schema:
            yield pa.concat_tables(group)
            group, size = [], 0
        group.append(table)
        size += body_bytes(table)
        if size >= target_bytes:
            yield pa.concat_tables(group)
            group, size = [], 0
    if group:
        yield pa.concat_tables(group)


__all__ = ["GROUP_BYTES", "body_bytes", "grouped"]
