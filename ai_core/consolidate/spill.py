"""A day's wide source rows on local disk, one set of files per chunk of ids.

The narrow pass decides which chunk each match group falls in; the sources are then read once
more, batch by batch, every row routed to its chunk by its match keys (looked up for the whole
source at once, from its key columns alone) and written to a temporary Arrow IPC file. The
wide pass reads back one chunk at a time, so memory holds a batch or a chunk of the day's rows
rather than all of them. The files are deleted when the stream closes them, or when the spill
is garbage-collected.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.ipc

from ai_core.consolidate.chunks import CHUNK
from ai_core.consolidate.matching import GROUP, key_is_complete

BATCH_ROWS = 32_768
"""Rows routed at a time while spilling."""
WRITE_BUFFER = 256 * 1024
"""Bytes gathered before a chunk's file is written to: a routed batch adds a small record batch
to every chunk, and each of its buffers would otherwise be a write of its own."""
WRITE_THREADS = 2
"""Threads writing a routed batch's parts to their chunks' files at once: a part's write is
Arrow's compression and framing, outside the GIL."""
_LZ4 = pa.ipc.IpcWriteOptions(compression="lz4")


@dataclass(frozen=True, slots=True)
class Route:
    """One alternative match key's complete values, to their match group."""

    key: list[str]
    groups: pl.DataFrame


def routes(
    narrow: pl.DataFrame, match_on: Sequence[Sequence[str]], chunk_of_group: pl.DataFrame
) -> list[Route]:
    """Per match key, value to `_group` and `__chunk`, from the narrow pass's rows.

    Rows sharing a complete key are one group, so each key value names exactly one group.
    """
    found = []
    for key in match_on:
        cols = list(key)
        complete = key_is_complete(cols, narrow.schema)
        groups = (
            narrow.filter(complete & pl.col(GROUP).is_not_null())
            .select(*cols, GROUP)
            .unique(cols, keep="first")
            .join(chunk_of_group, on=GROUP, how="left")
        )
        found.append(Route(cols, groups))
    return found


def routed(rows: pl.LazyFrame, found: Sequence[Route]) -> pl.DataFrame:
    """Each row's `_group` and `__chunk`, in the rows' order; null for a row without a key,
    which drops out, as it does from the merge.

    Only the key columns are read, for a whole source at once: joining batch by batch built
    each route's table of the day's groups once per batch.
    """
    hits = pl.collect_all(
        rows.select(r.key)
        .join(r.groups.lazy(), on=r.key, how="left", maintain_order="left")
        .select(GROUP, CHUNK)
        for r in found
    )
    return pl.select(
        pl.coalesce([h.get_column(GROUP) for h in hits]).alias(GROUP),
        pl.coalesce([h.get_column(CHUNK) for h in hits]).alias(CHUNK),
    )


@dataclass(frozen=True, slots=True)
class _ChunkFile:
    """A chunk's open file: the IPC writer and the buffered file under it, which the writer
    does not close."""

    writer: pa.ipc.RecordBatchFileWriter
    sink: pa.BufferedOutputStream

    def close(self) -> None:
        self.writer.close()
        self.sink.close()


class ChunkSpill:
    """Rows kept in a temporary folder, one Arrow file per chunk; `read(k)` gives chunk `k`'s
    rows in the order they were added.

    Each chunk's file stays open for appending until it is read: a batch adds a record batch
    to each chunk it touches rather than a file of its own.
    """

    def __init__(self, template: pl.DataFrame, chunks: int) -> None:
        self.template = template
        self._paths: list[Path | None] = [None] * chunks
        self._files: dict[int, _ChunkFile] = {}
        self.folder = Path(tempfile.mkdtemp(prefix="ai-consolidate-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.folder, True)

    def add(self, rows: pl.DataFrame) -> None:
        """Append rows carrying `_group` and `__chunk` (see `routed`) to their chunks."""
        # Ordered by chunk (stably) and converted to Arrow once, each chunk's part is a slice:
        # converting each part's columns on its own cost more than the strings they copy.
        ordered = rows.sort(CHUNK, maintain_order=True)
        runs = ordered.get_column(CHUNK).rle().struct.unnest()
        table = ordered.drop(CHUNK).to_arrow()
        parts: list[tuple[_ChunkFile, pa.Table]] = []
        start = 0
        for length, k in runs.select("len", "value").iter_rows():
            part = table.slice(start, length)
            start += length
            parts.append((self._file(k, part.schema), part))
        # Each chunk has one part here, so no two threads write one file; every write ends
        # before the next batch's, which keeps each chunk's rows in order.
        with ThreadPoolExecutor(WRITE_THREADS, thread_name_prefix="spill") as pool:
            done = [pool.submit(file.writer.write_table, part) for file, part in parts]
        for write in done:
            write.result()

    def _file(self, k: int, schema: pa.Schema) -> _ChunkFile:
        file = self._files.get(k)
        if file is None:
            path = self.folder / f"{k:06d}.arrow"
            sink = pa.BufferedOutputStream(pa.OSFile(str(path), "wb"), WRITE_BUFFER)
            writer = pa.ipc.new_file(sink, schema, options=_LZ4)
            file = self._files[k] = _ChunkFile(writer, sink)
            self._paths[k] = path
        return file

    def read(self, k: int) -> pl.DataFrame:
        """Chunk `k`'s rows (none, with the stacked columns and `_group`, when it has none)."""
        file = self._files.pop(k, None)
        if file is not None:
            file.close()
        path = self._paths[k]
        if path is None:
            return self.template.with_columns(pl.lit(None, pl.UInt32).alias(GROUP)).clear()
        return pl.read_ipc(path)

    def close(self) -> None:
        """Close and delete the files; reading afterwards is an error."""
        for file in self._files.values():
            file.close()
        self._files.clear()
        self._cleanup()


def spill_sources(
    frames: Sequence[pl.LazyFrame],
    template: pl.DataFrame,
    found: Sequence[Route],
    chunks: int,
    batch_rows: int = BATCH_ROWS,
) -> ChunkSpill:
    """Every source's rows, in precedence order, routed to their chunks on disk.

    Each source is first written whole to one local file by Polars' streaming sink and then
    read back a record batch at a time: the streaming engine buffers ahead of a slow consumer
    and its joins and partitioned sinks hold most of a source, which a batch loop does not.
    """
    spill = ChunkSpill(template, chunks)
    try:
        for i, frame in enumerate(frames):
            whole = spill.folder / f"source-{i}.arrow"
            # Aligned to the stacked columns and types, as `stack_sources` would give them.
            aligned = pl.concat([template.lazy(), frame], how="diagonal_relaxed")
            aligned.sink_ipc(whole, compression="lz4", record_batch_size=batch_rows)
            ids = routed(pl.scan_ipc(whole), found)
            with pa.memory_map(str(whole)) as source:
                reader = pa.ipc.open_file(source)
                start = 0
                for b in range(reader.num_record_batches):
                    batch = pl.DataFrame(reader.get_batch(b))
                    mine = ids.slice(start, batch.height)
                    start += batch.height
                    spill.add(batch.with_columns(mine).filter(pl.col(GROUP).is_not_null()))
            if start != ids.height:
                raise RuntimeError(
                    f"source {i}: {ids.height} rows routed but {start} read back from {whole}"
                )
            whole.unlink()
    except BaseException:
        spill.close()
        raise
    return spill
