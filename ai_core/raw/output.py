"""What a raw asset returns: its fetch, not yet run, which runs as the IO manager writes it."""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Iterator

import dagster as dg
import pyarrow as pa

from ai_core.iceberg.output import PartitionOutput


class LazyRawFetch(PartitionOutput):
    """A day's fetch that runs while the Iceberg IO manager consumes its chunks: one Arrow table
    of raw rows (`RAW_SCHEMA`) per fetched group of pages, so pages are written as they arrive."""

    source_name: str
    consumed = False
    """Whether the IO manager has started reading the fetch."""
    fetch_wall_s = 0.0
    """Seconds from the first chunk asked for to the end of the fetch, however it ended."""

    def chunks(self) -> Iterator[pa.Table]:
        """The rows `fetch()` yields; consumable once, since a second read would fetch again."""
        if self.consumed:
            raise RuntimeError(f"{self.source_name}: a fetch stream can be consumed only once")
        self.consumed = True
        started = time.perf_counter()
        try:
            yield from self.fetch()
        finally:
            self.fetch_wall_s = time.perf_counter() - started

    @abstractmethod
    def fetch(self) -> Iterator[pa.Table]:
        """Fetch the day, yielding each group of pages as raw rows."""

    @abstractmethod
    def completeness_result(self) -> dg.AssetCheckResult:
        """The completeness check over exactly the chunks written."""
