"""The raw tier's unit of work: the pages fetched for one sub-resource, and their row frame."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import orjson
import pyarrow as pa

RAW_SCHEMA = pa.schema(
    [
        pa.field("_partition_date", pa.date32(), nullable=False),
        pa.field("_sub_resource", pa.large_string(), nullable=False),
        pa.field("_page_number", pa.int32(), nullable=False),
        pa.field("_fetched_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("_request_url", pa.large_string(), nullable=False),
        pa.field("_request_params", pa.large_string(), nullable=False),
        pa.field("_http_status", pa.int32(), nullable=False),
        pa.field("_response_body", pa.large_string(), nullable=False),
        pa.field("_fetch_error", pa.large_string(), nullable=True),
    ]
)
"""Columns of every raw table, one row per HTTP page. `_request_params` is JSON.

A page that could not be fetched once its retries were spent (or could not be read) is a row too,
with `_fetch_error` saying why and, when nothing arrived, an empty body and status 0: the stored
day itself says which parts of the source were not observed."""


RAW_DOCS = {
    "_partition_date": "The day the page was fetched for; the table's partition.",
    "_sub_resource": "The part of the source the page belongs to (a site and query, a table), "
    "fetched page by page.",
    "_page_number": "The page's number within its sub-resource, from 1.",
    "_fetched_at": "When the page's answer arrived, in UTC.",
    "_request_url": "The URL requested, secrets redacted.",
    "_request_params": "The request's query parameters, as JSON.",
    "_http_status": "The HTTP status of the answer; 0 when none arrived.",
    "_response_body": "The body exactly as the upstream sent it (empty when nothing arrived).",
    "_fetch_error": "Why the page could not be fetched or read once its retries were spent; "
    "null for a page that was.",
}
"""The description of each `RAW_SCHEMA` column, declared on every raw asset."""


@dataclass(frozen=True, slots=True)
class RawPage:
    """One HTTP page exactly as the upstream answered it."""

    page_number: int
    url: str
    params: Mapping[str, str | int]
    status: int
    body: bytes
    fetched_at: dt.datetime
    error: str | None = None


@dataclass(frozen=True, slots=True)
class PageFailure:
    """A page that could not be fetched or read, and why."""

    page: int
    error: str


@dataclass(frozen=True, slots=True)
class SubResourceSummary:
    """How the fetch of one sub-resource went once its last page was in; never per record.

    Whether the sub-resource is complete is the completeness check's to say, from the bodies
    written (`ai_core.raw.checks`), not the fetcher's.
    """

    sub_resource: str
    pages: int
    """Pages fetched and read (failed pages are counted in `failed_pages`)."""
    records: int
    retries: int = 0
    failed_pages: int = 0
    served_page_size: int | None = None
    """The server's own page size, when it paged by fewer records than asked."""
    pages_again: int = 0
    """Copies of pages fetched again, and kept, because their totals said the listing moved."""
    pages_again_failed: int = 0
    """Copies fetched again that did not arrive or read: the first copies stand."""
    pages_recovered: int = 0
    """Pages that failed in the first pass and whose copy fetched again arrived: their failed
    copies are stored too, and are not counted in `failed_pages`."""
    unsettled_boundaries: tuple[int, ...] = ()
    """Pages whose copies and the next page's still reported no total in common once no more
    could be fetched again: a record at each such boundary may be missing."""
    blank_unconfirmed: tuple[int, ...] = ()
    """Pages that answered empty (or with page 1's records alone) before a later page brought new
    records, and of which no new copy came in: records on them may be missing."""
    end_unconfirmed: str | None = None
    """Why a whole list's page 2 failed: the list stands as page 1 gave it, which may be only
    the server's page size (see `ai_core.raw.paging`)."""
    failures: tuple[PageFailure, ...] = ()
    """The first few failed pages."""


@dataclass(frozen=True, slots=True)
class RawFetchResult:
    """Pages of one sub-resource (for example one brand's model-year code), in one or more parts.

    The last part of a sub-resource carries its `summary`, which ends up in the asset's metadata.
    """

    sub_resource: str
    pages: Sequence[RawPage]
    part: int = 1
    summary: SubResourceSummary | None = None

    @property
    def n_bytes(self) -> int:
        return sum(len(p.body) for p in self.pages)

    @property
    def failed_pages(self) -> list[RawPage]:
        return [p for p in self.pages if p.error is not None]

    def to_arrow(self, partition_date: dt.date) -> pa.Table:
        """The raw rows of these pages, one per page."""
        return make_raw_row_frame(partition_date, self.sub_resource, self.pages)


def make_raw_row_frame(
    partition_date: dt.date, sub_resource: str, pages: Sequence[RawPage]
) -> pa.Table:
    """Build the raw rows of one sub-resource column by column, pages sorted by number.

    Constants are broadcast with `pa.repeat`; bodies are concatenated into one buffer with
    offsets, so the frame costs one copy of the bytes and no per-row Python objects beyond the
    pages themselves.
    """
    ordered = sorted(pages, key=lambda p: p.page_number)
    n = len(ordered)
    bodies = [p.body for p in ordered]
    offsets = [0]
    for body in bodies:
        offsets.append(offsets[-1] + len(body))
    body_array = pa.LargeStringArray.from_buffers(
        n, pa.py_buffer(pa.array(offsets, pa.int64()).buffers()[1]), pa.py_buffer(b"".join(bodies))
    )
    columns = [
        pa.repeat(pa.scalar(partition_date, pa.date32()), n),
        pa.repeat(pa.scalar(sub_resource, pa.large_string()), n),
        pa.array([p.page_number for p in ordered], pa.int32()),
        pa.array([p.fetched_at for p in ordered], pa.timestamp("us", tz="UTC")),
        pa.array([p.url for p in ordered], pa.large_string()),
        pa.array(
            [orjson.dumps(dict(p.params), option=orjson.OPT_SORT_KEYS).decode() for p in ordered],
            pa.large_string(),
        ),
        pa.array([p.status for p in ordered], pa.int32()),
        body_array,
        pa.array([p.error for p in ordered], pa.large_string()),
    ]
    return pa.Table.from_arrays(columns, schema=RAW_SCHEMA)
