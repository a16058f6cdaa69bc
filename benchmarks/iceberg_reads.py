"""What reading one day of each table costs in metadata, table by table and as the days add up.

A verify callable: after a day's run, outside its measurement, it loads every table of the
namespaces named in `namespaces` (default the three tiers of `stellantis`) and repeats the
metadata work the tiers' reads do, counting the files each opens and timing it:

- loading the table (the `metadata.json` it parses: its size, the snapshots it holds);
- listing the days that hold rows (`partition_dates`: the manifest list, and any manifest
  spanning several days);
- planning the read of the day (`plan_files` with the day's filter, as the readers and the
  commit do): manifests opened, data files planned;
- the Polars scan of the day that the consolidated tier makes, timed, with the manifests its
  planner read and the data files it planned as its verbose log states them.

A table that keeps more days should not cost more to read one day from: the counts of manifests
opened and data files planned stay flat, while `metadata.json` and the manifest list grow with
the snapshots and days kept.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from pyiceberg.io import FileIO, InputFile, OutputFile
from pyiceberg.table import Table

from ai_core.iceberg.catalog import load_catalog
from ai_core.iceberg.reader import lazy_frame
from ai_core.iceberg.tables import day_filter, partition_dates
from benchmarks.context import StageContext

NAMESPACES = ("stellantis_raw", "stellantis_transformed", "stellantis_consolidated")


@dataclass
class CountingFileIO(FileIO):
    """A FileIO that counts the metadata files opened through it, by kind."""

    inner: FileIO
    opened: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.inner.properties)

    def new_input(self, location: str) -> InputFile:
        kind = file_kind(location)
        self.opened[kind] = self.opened.get(kind, 0) + 1
        return self.inner.new_input(location)

    def new_output(self, location: str) -> OutputFile:
        return self.inner.new_output(location)

    def delete(self, location: str | InputFile | OutputFile) -> None:
        self.inner.delete(location)

    def take(self) -> dict[str, int]:
        """The counts since the last call."""
        counts, self.opened = self.opened, {}
        return counts


def file_kind(location: str) -> str:
    """`manifest_list`, `manifest`, `metadata_json` or `data`, from an Iceberg file's name."""
    name = location.rsplit("/", 1)[-1]
    if name.endswith(".metadata.json"):
        return "metadata_json"
    if name.endswith(".avro"):
        return "manifest_list" if name.startswith("snap-") else "manifest"
    return "data"


@contextmanager
def timed(figures: dict[str, Any], name: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    figures[name] = round(time.perf_counter() - started, 4)


def table_reads(table: Table, day: dt.date) -> dict[str, Any]:
    """One table's metadata and the cost of listing its days and planning one day's read."""
    counting = CountingFileIO(table.io)
    counted = Table(table.name(), table.metadata, table.metadata_location, counting, table.catalog)
    snapshot = table.current_snapshot()
    figures: dict[str, Any] = {
        "snapshots": len(table.metadata.snapshots),
        "metadata_log": len(table.metadata.metadata_log),
        "manifests_listed": len(snapshot.manifests(table.io)) if snapshot else 0,
    }
    with timed(figures, "partition_dates_s"):
        figures["days"] = len(partition_dates(counted))
    figures["partition_dates_manifests_read"] = counting.take().get("manifest", 0)
    with timed(figures, "plan_s"):
        tasks = list(counted.scan(row_filter=day_filter([day])).plan_files())
    figures["plan_manifests_read"] = counting.take().get("manifest", 0)
    figures["plan_data_files"] = len(tasks)
    with timed(figures, "polars_day_s"), stderr_text() as said, pl.Config(verbose=True):
        lazy_frame(table, [day]).select(pl.len()).collect()
    figures.update(polars_plan("".join(said)))
    return figures


POLARS_PLANNED = re.compile(r"planned (\d+) files .*pruned (\d+) / (\d+) manifests")
"""What Polars' Iceberg planner says when verbose (polars 2.1); a change of wording leaves the
two Polars counts out rather than wrong."""


def polars_plan(said: str) -> dict[str, int]:
    """The manifests Polars' planner read and the data files it planned, from its own words."""
    found = POLARS_PLANNED.search(said)
    if found is None:
        return {}
    files, pruned, manifests = (int(g) for g in found.groups())
    return {"polars_manifests_read": manifests - pruned, "polars_data_files": files}


@contextmanager
def stderr_text() -> Iterator[list[str]]:
    """What this process writes to its standard error in the block, Rust's writes included;
    the yielded list holds it once the block is over."""
    said: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield said
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            said.append(captured.read().decode(errors="replace"))


def probe(context: StageContext) -> dict[str, Any]:
    """Every table's figures for the stage's day, and the largest of each figure by tier."""
    namespaces = context.params.get("namespaces", NAMESPACES)
    catalog = load_catalog(context.data_dir)
    tables: dict[str, dict[str, Any]] = {}
    for namespace in namespaces:
        for identifier in sorted(catalog.list_tables(namespace)):
            name = ".".join(identifier)
            started = time.perf_counter()
            table = catalog.load_table(identifier)
            load_s = round(time.perf_counter() - started, 4)
            location = table.metadata_location
            with table.io.new_input(location).open() as stream:
                size = len(stream.read())
            tables[name] = {"load_s": load_s, "metadata_json_bytes": size}
            tables[name].update(table_reads(table, context.partition))
    return {**tier_maxima(tables), "tables": tables}


def tier_maxima(tables: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per tier (`raw`, `transformed`, `consolidated`), the largest value of each figure."""
    maxima: dict[str, Any] = {}
    for name, figures in tables.items():
        tier = name.split(".")[0].rsplit("_", 1)[-1]
        for key, value in figures.items():
            slot = f"{tier}.{key}"
            maxima[slot] = max(maxima.get(slot, value), value)
    return maxima
