"""The chunk spill: rows routed to chunk files come back chunk by chunk, as they were added."""

from __future__ import annotations

import polars as pl

from ai_core.consolidate.chunks import CHUNK
from ai_core.consolidate.matching import GROUP
from ai_core.consolidate.spill import WRITE_BUFFER, ChunkSpill, routes, spill_sources


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


def test_sources_are_routed_by_either_key_across_batches() -> None:
    # Groups as the narrow pass found them: by VIN, or by order number for a unit without one.
    narrow = pl.DataFrame(
        {
            "vin": ["V1", "V2", None, "V3"],
            "order_number": ["O1", None, "O9", None],
            GROUP: pl.Series([0, 1, 2, 3], dtype=pl.UInt32),
        }
    )
    chunk_of_group = pl.DataFrame(
        {
            GROUP: pl.Series([0, 1, 2, 3], dtype=pl.UInt32),
            CHUNK: pl.Series([1, 0, 1, 0], dtype=pl.UInt32),
        }
    )
    found = routes(narrow, [["vin"], ["order_number"]], chunk_of_group)
    template = pl.DataFrame(schema={"vin": pl.String, "order_number": pl.String, "n": pl.Int64})
    first = pl.DataFrame(
        {
            "vin": ["V1", "V2", None, None, "V3"],
            "order_number": [None, None, "O9", "O7", None],  # O7 is in no group: dropped
            "n": [1, 2, 3, 4, 5],
        }
    )
    second = pl.DataFrame({"vin": [None, "V2"], "order_number": ["O1", None], "n": [6, 7]})
    # Three rows a batch, so each source's routes are read across several batches.
    spill = spill_sources([first.lazy(), second.lazy()], template, found, chunks=2, batch_rows=3)
    try:
        chunks = [spill.read(k) for k in range(2)]
    finally:
        spill.close()
    assert chunks[0].select("n", GROUP).rows() == [(2, 1), (5, 3), (7, 1)]
    assert chunks[1].select("n", GROUP).rows() == [(1, 0), (3, 2), (6, 0)]
