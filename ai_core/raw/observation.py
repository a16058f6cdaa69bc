"""Observations of an upstream source: one per fetch, recorded on its `<oem>/sources/*` node.

Each records the fetch's pages, requests and HTTP status mix, whether it succeeded (or got only
part of the day), and when the source last answered a whole fetch (`last_success`, carried over
from the previous observation otherwise), so the source's page in the UI shows its health day by
day.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Mapping
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
    }
    unobserved = fetched.get("unobserved_sub_resources")
    if unobserved:
        metadata["unobserved_sub_resources"] = dg.MetadataValue.json(list(unobserved))
    if isinstance(raw_http, Mapping):
        # Only a fetch through the platform's HTTP client counts its requests and statuses.
        statuses: dict[str, int] = dict(raw_http.get("statuses") or {})
        metadata |= {
            "requests": int(raw_http.get("requests") or 0),
            "failures": int(raw_http.get("failures") or 0),
            "retries": int(raw_http.get("retries") or 0),
            "http_statuses": dg.MetadataValue.json(statuses),
            **{f"http_{status}": count for status, count in sorted(statuses.items())},
        }
    metadata[LAST_SUCCESS] = (
        dg.MetadataValue.timestamp(last_success) if last_success is not None else "never"
    )
    return dg.AssetObservation(asset_key=source, metadata=metadata)


def record_observation(
    context: dg.AssetExecutionContext,
    source: dg.AssetKey,
    partition_date: dt.date,
    fetched: Mapping[str, Any],
    error: BaseException | None,
) -> None:
    """Log what one fetch of `source` saw; only a fetch that got every page is a success, and a
    partial or failed one keeps the previous `last_success`."""
    whole = error is None and not int(fetched.get("failed_pages") or 0)
    last = time.time() if whole else previous_success(context.instance, source)
    observation = source_observation(source, partition_date, fetched, error, last)
    if error is None:
        context.log_event(observation)
    else:
        # A failing step drops the events it logged, so the failure is reported directly.
        context.instance.report_runless_asset_event(observation)


def observed(
    chunks: Iterator[pa.Table], observe: Callable[[BaseException | None], None]
) -> Iterator[pa.Table]:
    """`chunks` as they come; once the fetch ends either way, `observe` gets its error, if any."""
    error: BaseException | None = None
    try:
        yield from chunks
    except BaseException as exc:
        error = exc
        raise
    finally:
        observe(error)


class ObservedFetchStream(RawFetchStream):
    """A fetch stream that, when its fetch ends either way, records an observation of its source."""

    def __init__(
        self, *args: Any, source: dg.AssetKey, context: dg.AssetExecutionContext, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._source = source
        self._context = context

    def chunks(self) -> Iterator[pa.Table]:
        return observed(super().chunks(), self._observe)

    def _observe(self, error: BaseException | None) -> None:
        record_observation(self._context, self._source, self._date, self.output_metadata(), error)
