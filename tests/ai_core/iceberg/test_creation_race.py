"""Creating the embedded catalog, a namespace and a table is safe when processes do it at once,
as the parallel steps of a first run on a fresh data directory do."""

from __future__ import annotations

import multiprocessing
import traceback
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pyarrow as pa

from ai_core.iceberg.catalog import load_catalog
from ai_core.iceberg.tables import ensure_table

PROCESSES = 6
ROUNDS = 4
SCHEMA = pa.schema([pa.field("_partition_date", pa.date32(), nullable=False), ("v", pa.int64())])


def _create(data_dir: str, table: str, barrier: Barrier, errors: multiprocessing.Queue) -> None:
    try:
        barrier.wait(timeout=30)
        catalog = load_catalog(data_dir)
        ensure_table(catalog, ("race_raw", table), SCHEMA)
    except BaseException:
        errors.put(traceback.format_exc())


def test_processes_creating_the_same_catalog_namespace_and_tables_at_once_all_succeed(
    tmp_path: Path,
) -> None:
    ctx = multiprocessing.get_context("fork")
    for round_ in range(ROUNDS):
        data_dir = tmp_path / f"round{round_}"
        barrier = ctx.Barrier(PROCESSES)
        errors: multiprocessing.Queue = ctx.Queue()
        # Half create one table, half another, all in one new namespace of a new catalog.
        procs = [
            ctx.Process(target=_create, args=(str(data_dir), f"t{i % 2}", barrier, errors))
            for i in range(PROCESSES)
        ]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(timeout=60)
        found = [errors.get() for _ in range(errors.qsize())] if not errors.empty() else []
        assert not found, found[0]
        assert all(proc.exitcode == 0 for proc in procs)
        catalog = load_catalog(data_dir)
        assert sorted(catalog.list_tables("race_raw")) == [("race_raw", "t0"), ("race_raw", "t1")]
