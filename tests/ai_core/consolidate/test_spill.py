"""The chunk spill: rows routed to chunk files come back chunk by chunk, as they were added."""

from __future__ import annotations

import polars as pl

from ai_core.consolidate.chunks import CHUNK
from ai_core.consolidate.matching import GROUP
from ai_core.consolidate.spill import WRITE_BUFFER, ChunkSpill


def test_each_chunk_reads_back_its_rows_in_the_order_added() -> None:
    template = pl.DataFrame(schema={"vin": pl.String, "note": pl.String})
    spill = ChunkSpill(template, chunks=5)
    batches = []
    for b in range(6):
        n = 4_000
        batch = pl.DataFrame(
            {
                "vin": [f"V{b}-{i:05d}" for i in range(n)],
                # Long enough that a chunk's file is written in several buffers' worth.
                "note": ["x" * 200] * n,
                GROUP: pl.Series(range(b * n, (b + 1) * n), dtype=pl.UInt32),
                CHUNK: pl.Series([(i * 7 + b) % 4 for i in range(n)], dtype=pl.UInt32),
            }
        )
        batches.append(batch)
        spill.add(batch)
    assert sum(b.estimated_size() for b in batches) / 4 > 4 * WRITE_BUFFER
    everything = pl.concat(batches)
    try:
        for k in range(4):
            expected = everything.filter(pl.col(CHUNK) == k).drop(CHUNK)
            assert spill.read(k).equals(expected)
        # A chunk no row was routed to reads as the template's columns, empty.
        empty = spill.read(4)
        assert empty.height == 0 and empty.columns == ["vin", "note", GROUP]
    finally:
        spill.close()
    assert not spill.folder.exists()
