"""Observations of an upstream source: one per fetch, recorded on its `<oem>/sources/*` node.

Each records the fetch's pages, requests and HTTP status mix, whether it succeeded (or got only
part of the day), and when the source last answered a whole fetch (`last_success`, carried over
from the previous observation otherwise), so the source's page in the UI shows its health day by
day.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
import pyarrow as pa

from ai_core.alerts.scrub import scrub_text
from ai_core.raw.stream import RawFetchStream

LAST_SUCCESS = "last_success"


def previous_success(instance: dg.DagsterInstance, source: dg.AssetKey) -> float | None:
    """`last_success` of the source's latest observation, if any."""
    records = instance.fetch_observations(source, limit=1).records
    observation = records[0].asset_observation if records else None
    value = observation.metadata.get(LAST_SUCCESS) if observation else None
    return value.value if isinstance(value, dg.TimestampMetadataValue) else None


def source_observation(
    source: dg.AssetKey,
    partition_date: dt.date,
    fetched: Mapping[str, Any],
    error: BaseException | None,
    last_success: float | None,
) -> dg.AssetObservation:
    """What one fetch of `source` saw; `fetched` is the fetch stream's output metadata."""
    http_value = fetched.get("http")
    raw_http = http_value.value if isinstance(http_value, dg.JsonMetadataValue) else None
    http: Mapping[str, Any] = raw_http if isinstance(raw_http, Mapping) else {}
    statuses: dict[str, int] = dict(http.get("statuses") or {})
    reason = "" if error is None else scrub_text(str(error) or type(error).__name__)
    missing = int(fetched.get("failed_pages") or 0)
    if error is not None:
        outcome = f"failed: {reason.splitlines()[0][:500]}"
    else:
        outcome = f"partial: {missing} pages not fetched" if missing else "success"
    metadata: dict[str, Any] = {
        "partition_date": partition_date.isoformat(),
        "outcome": outcome,
        "failed_pages": missing,
        "pages": int(fetched.get("pages") or 0),
        "requests": int(http.get("requests") or 0),
        "failures": int(http.get("failures") or 0),
        "retries": int(http.get("retries") or 0),
        "http_statuses": dg.MetadataValue.json(statuses),
        **{f"http_{status}": count for status, count in sorted(statuses.items())},
        LAST_SUCCESS: dg.MetadataValue.timestamp(last_success)
        if last_success is not None
        else "never",
    }
    return dg.AssetObservation(asset_key=source, metadata=metadata)


class ObservedFetchStream(RawFetchStream):
    """A fetch stream that, when its fetch ends either way, records an observation of its source."""

    def __init__(
        self, *args: Any, source: dg.AssetKey, context: dg.AssetExecutionContext, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._source = source
        self._context = context

    def chunks(self) -> Iterator[pa.Table]:
        error: BaseException | None = None
        try:
            yield from super().chunks()
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._observe(error)

    def _observe(self, error: BaseException | None) -> None:
        # Only a fetch that got every page is a success; a partial day keeps the last one.
        whole = error is None and not self.unobserved
        last = time.time() if whole else previous_success(self._context.instance, self._source)
        self._context.log_event(
            source_observation(self._source, self._date, self.output_metadata(), error, last)
        )
