"""A partition writer run as its own process, for the kill, concurrency and memory tests.

    python -m tests.ai_core.iceberg.writer_proc TABLE DAY MODE [options]

The catalog is the one `PYICEBERG_CATALOG__DEFAULT__*` variables configure (see
`tests/catalogs.py`), so the same writer runs against every catalog backend.

Modes:
- `kill`: writes `--chunks` chunks, one data file each; after chunk `--signal-after` is on disk
  it prints `staged N` and blocks on stdin until the parent kills it.
- `race`: writes `--chunks` chunks, prints `ready` before the last one and waits for a line on
  stdin, so two processes can be released into their commits together; prints the report.
- `memory`: writes `--chunks` chunks of `--chunk-mb` MiB each; prints the report and peak RSS.

Also the row builders the tests share, so parent and child write the same rows, and
`start_writer`, which starts this module as a process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from ai_core.iceberg.catalog import configured_catalog_properties, load_catalog
from ai_core.iceberg.writer import write_partition
from tests.catalogs import CatalogBackend, data_files

ROOT = Path(__file__).resolve().parents[3]
TABLE = "shop_raw.items"

SCHEMA = pa.schema(
    [
        pa.field("_partition_date", pa.date32(), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("tag", pa.large_string()),
    ]
)


def day_rows(day: dt.date, start: int, n: int, tag: str) -> pa.Table:
    """`n` rows of `day` numbered from `start`, all tagged `tag`."""
    return pa.table(
        {
            "_partition_date": pa.repeat(pa.scalar(day, pa.date32()), n),
            "seq": pa.array(range(start, start + n), pa.int64()),
            "tag": pa.repeat(pa.scalar(tag, pa.large_string()), n),
        },
        schema=SCHEMA,
    )


def chunked_rows(day: dt.date, chunks: int, rows_per_chunk: int, tag: str) -> list[pa.Table]:
    return [day_rows(day, i * rows_per_chunk, rows_per_chunk, tag) for i in range(chunks)]


_LETTERS = bytes(97 + i % 26 for i in range(256))


def poor_text(seed: int, n: int, row_bytes: int) -> pa.LargeStringArray:
    """`n` texts of `row_bytes` letters that compress poorly, as page bodies do."""
    body = random.Random(seed).randbytes(n * row_bytes).translate(_LETTERS)
    offsets = pa.array(range(0, n * row_bytes + 1, row_bytes), pa.int64())
    return pa.LargeStringArray.from_buffers(n, offsets.buffers()[1], pa.py_buffer(body))


def wide_chunk(day: dt.date, index: int, megabytes: int) -> pa.Table:
    """About `megabytes` MiB of 1 KiB text rows that compress poorly, different per chunk."""
    row_bytes = 1024
    n = megabytes * 1024 * 1024 // row_bytes
    payload = poor_text(index, n, row_bytes)
    return pa.table(
        {
            "_partition_date": pa.repeat(pa.scalar(day, pa.date32()), n),
            "seq": pa.array(range(index * n, (index + 1) * n), pa.int64()),
            "payload": payload,
        }
    )


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _files_of(day: dt.date) -> int:
    properties = configured_catalog_properties()
    if properties is None:
        raise RuntimeError("set PYICEBERG_CATALOG__DEFAULT__* for the writer's catalog")
    return len(data_files(properties, day))


def _kill_chunks(day: dt.date, args: argparse.Namespace) -> Iterator[pa.Table]:
    already = _files_of(day)
    for i, chunk in enumerate(chunked_rows(day, args.chunks, args.rows, args.tag), start=1):
        yield chunk
        if i == args.signal_after:
            # The writer stages chunk i on its own thread while it asks for chunk i+1: wait
            # for chunk i's file to be on disk before saying so.
            deadline = time.monotonic() + 60
            while _files_of(day) < already + i:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"chunk {i} was not written within 60 s")
                time.sleep(0.01)
            _say(f"staged {i}")
            sys.stdin.readline()


def _race_chunks(day: dt.date, args: argparse.Namespace) -> Iterator[pa.Table]:
    chunks = chunked_rows(day, args.chunks, args.rows, args.tag)
    yield from chunks[:-1]
    _say("ready")
    sys.stdin.readline()
    yield chunks[-1]


def _memory_chunks(day: dt.date, args: argparse.Namespace) -> Iterator[pa.Table]:
    for i in range(args.chunks):
        yield wide_chunk(day, i, args.chunk_mb)


def start_writer(
    backend: CatalogBackend, day: dt.date, mode: str, *args: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.ai_core.iceberg.writer_proc", TABLE, day.isoformat(), mode,
         *args],
        cwd=ROOT,
        env={**os.environ, **backend.environ()},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("table")
    parser.add_argument("day", type=dt.date.fromisoformat)
    parser.add_argument("mode", choices=["kill", "race", "memory"])
    parser.add_argument("--chunks", type=int, default=5)
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--tag", default="new")
    parser.add_argument("--signal-after", type=int, default=2)
    parser.add_argument("--chunk-mb", type=int, default=50)
    args = parser.parse_args()
    chunks = {"kill": _kill_chunks, "race": _race_chunks, "memory": _memory_chunks}[args.mode]
    report = write_partition(
        load_catalog(),
        args.table,
        args.day,
        chunks(args.day, args),
        snapshot_properties={"writer": args.tag},
        # One file per chunk, so a kill after chunk N leaves N files on disk.
        coalesce_bytes=0 if args.mode == "kill" else 32 * 1024 * 1024,
    )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _say(json.dumps({**report.as_metadata(), "peak_rss_mib": round(peak_mib, 1)}))


if __name__ == "__main__":
    main()
