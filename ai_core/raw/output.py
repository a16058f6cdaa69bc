"""What a raw asset returns: its fetch, not yet run, which runs as the IO manager writes it."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator

import dagster as dg
import pyarrow as pa

from ai_core.iceberg.output import PartitionOutput


class LazyRawFetch(PartitionOutput):
    """A day's fetch that runs while the Iceberg IO manager consumes its chunks: one Arrow table
    of raw rows (`RAW_SCHEMA`) per fetched group of pages, so pages are written as they arrive."""

    @abstractmethod
    def chunks(self) -> Iterator[pa.Table]:
        """Fetch the day, yielding each group of pages as raw rows; consumable once."""

    @abstractmethod
    def completeness_result(self) -> dg.AssetCheckResult:
        """The completeness check over exactly the chunks written."""
