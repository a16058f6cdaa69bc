"""`PartitionOutput`: the contract between an asset that produces a day lazily and the writer.

An asset returns one of these instead of data. The Iceberg IO manager writes its chunks as they
are produced, asks it which staged rows to leave out, commits the day once with its snapshot
properties, and adds its metadata to the materialization. The tiers implement it; this package
knows none of them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import pyarrow as pa

from ai_core.iceberg.schema import Chunk
from ai_core.iceberg.staging import Positions


class StagedRows(Protocol):
    """The writer's staged chunks, readable back by chunk index and row positions."""

    def rows(self, wanted: Mapping[int, Positions]) -> pa.Table: ...


class PartitionOutput(ABC):
    """One day's rows, produced while the writer consumes them; consumable once.

    A base class rather than a structural protocol, so the IO manager tells these outputs from
    plain iterables by their type.
    """

    @abstractmethod
    def chunks(self) -> Iterator[Chunk]:
        """The day's rows, chunk by chunk, each written as soon as it is produced."""

    def rows_to_drop(self, staged: StagedRows) -> Mapping[int, Positions]:
        """Called once every chunk is staged, before the commit: rows of the staged chunks the
        day leaves out after all, as 0-based positions by 0-based chunk index."""
        return {}

    def snapshot_properties(self) -> Mapping[str, str]:
        """Properties recorded with the day's commit, known once every chunk is produced."""
        return {}

    def output_metadata(self) -> Mapping[str, Any]:
        """Entries added to the materialization's metadata after the commit."""
        return {}

    def column_docs(self) -> Mapping[str, str]:
        """Descriptions of columns known only once the day is produced, by column name; the
        asset's declared column schema is applied over them."""
        return {}
