"""What a raw asset hands the IO manager: chunks to write, then its metadata and completeness."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import dagster as dg

from ai_core.raw.result import RawFetchResult


class RawOutput(Protocol):
    """An iterable of `RawFetchResult` chunks, consumed once by the IO manager."""

    def __iter__(self) -> Iterator[RawFetchResult]: ...

    def output_metadata(self) -> dict[str, Any]:
        """The run's figures, asked for once every chunk is written."""
        ...

    def completeness_result(self) -> dg.AssetCheckResult:
        """The completeness check over exactly the chunks written."""
        ...
