"""The HTTP raw asset's output: a lazily fetched stream of sub-resources, written as it comes.

The asset returns this object instead of data; the Iceberg IO manager consumes its chunks, one
Arrow table per fetched group of pages, so the fetch and the write overlap and only a few
sub-resources are ever held in memory. After the last chunk the IO manager asks for
`output_metadata()`, which reports the whole run in one record: pages, bytes, retries, the
client's timings, each sub-resource's completeness figures, and which pages could not be fetched
and why. With a completeness rule the
stream also tallies the record keys in the bodies it hands the writer, and `completeness_result()`
is the check over exactly those rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

import dagster as dg
import pyarrow as pa

from ai_core.http.client import AsyncHttpClient
from ai_core.http.config import HttpClientConfig
from ai_core.http.sync import iterate_in_thread
from ai_core.iceberg.writer import unobserved_property
from ai_core.raw.checks import CompletenessTally, written_completeness
from ai_core.raw.layout import CompletenessRule
from ai_core.raw.output import LazyRawFetch
from ai_core.raw.paging import (
    DEFAULT_CHUNK_PAGES,
    FetchProgress,
    PagedSubResource,
    fetch_paged,
)
from ai_core.raw.result import RawFetchResult, SubResourceSummary

SubResourcePlan = Callable[[], Sequence[PagedSubResource]]


class RawFetchStream(LazyRawFetch):
    """The day's sub-resources fetched through one shared client, as raw rows."""

    def __init__(
        self,
        source_name: str,
        plan: SubResourcePlan,
        http: HttpClientConfig,
        *,
        chunk_pages: int = DEFAULT_CHUNK_PAGES,
        partition_date: dt.date,
        completeness: CompletenessRule | None = None,
        on_progress: Callable[[str], None] | None = None,
    ) -> None:
        self.source_name = source_name
        self._date = partition_date
        self._tally = CompletenessTally(completeness) if completeness is not None else None
        self._plan = plan
        self._http = http
        self._chunk_pages = chunk_pages
        self._on_progress = on_progress
        self._summaries: list[SubResourceSummary] = []
        self._client_stats: dict[str, Any] = {}
        self._chunks = 0

    def fetch(self) -> Iterator[pa.Table]:
        # No bound on the whole fetch, which grows with the pages: each page has its deadline,
        # a rate-limit block its own bound, and the fetch a watchdog on progress
        # (`HttpClientConfig`).
        for result in iterate_in_thread(self._produce, maxsize=1, name=self.source_name):
            if result.summary is not None:
                self._summaries.append(result.summary)
                self._note_served_page_size(result.summary)
                self._note_unsettled(result.summary)
                self._note_blank_unconfirmed(result.summary)
                self._note_end_unconfirmed(result.summary)
            if not result.pages:  # only pages fetched again that did not arrive
                continue
            self._chunks += 1
            rows = result.to_arrow(self._date)
            del result  # the rows hold the bodies now: free the pages
            if self._tally is not None:
                self._tally.add(rows)  # exactly the rows the writer is about to store
            yield rows
            del rows  # the writer is done with them: free them before the next fetch

    async def _produce(self) -> AsyncIterator[RawFetchResult]:
        subs = self._plan()
        if self._tally is not None:
            self._tally.expect_listed(
                {s.key: s.listed_records for s in subs if s.listed_records is not None}
            )
        async with AsyncHttpClient(self._http) as client:
            try:
                async for result in fetch_paged(
                    client,
                    subs,
                    workers=self._http.workers,
                    chunk_pages=self._chunk_pages,
                    stall_s=self._http.stall_s,
                    on_progress=self._report,
                ):
                    yield result
            finally:
                self._client_stats = client.stats.summary()

    def _note_served_page_size(self, summary: SubResourceSummary) -> None:
        """Say once a fetch that the server pages by fewer records than asked."""
        size = summary.served_page_size
        if size is None or self._on_progress is None:
            return
        if not any(s.served_page_size for s in self._summaries[:-1]):
            self._on_progress(
                f"{self.source_name}: {summary.sub_resource} came in pages of {size} records, "
                "fewer than asked; its pages were planned by the server's size"
            )

    def _note_unsettled(self, summary: SubResourceSummary) -> None:
        """Say when a listing still moved once no more of its pages could be fetched again."""
        if summary.unsettled_boundaries and self._on_progress is not None:
            pages = ", ".join(f"{p}/{p + 1}" for p in summary.unsettled_boundaries[:10])
            self._on_progress(
                f"{self.source_name}: {summary.sub_resource} kept moving while paged; pages "
                f"{pages} were never answered in one state, so a record at their boundary may "
                "be missing (the completeness check fails for it)"
            )

    def _note_blank_unconfirmed(self, summary: SubResourceSummary) -> None:
        """Say when pages that answered empty, though pages past them held records, got no new
        copy."""
        if summary.blank_unconfirmed and self._on_progress is not None:
            blank = summary.blank_unconfirmed
            pages = ("pages " if len(blank) > 1 else "page ") + ", ".join(map(str, blank[:10]))
            self._on_progress(
                f"{self.source_name}: {summary.sub_resource} {pages} answered empty or "
                "repeated page 1 while pages past them held records, and no new copy of them "
                "came in, so records on them may be missing"
            )

    def _note_end_unconfirmed(self, summary: SubResourceSummary) -> None:
        """Say when a whole list may have been cut by the server and page 2 could not tell."""
        if summary.end_unconfirmed and self._on_progress is not None:
            self._on_progress(
                f"{self.source_name}: {summary.sub_resource} is kept as page 1 gave it "
                f"({summary.records} records), fewer than asked, as page 2 failed "
                f"({summary.end_unconfirmed}); if the server serves fewer records a page than "
                "asked, the rest are missing: rerun the asset for the day"
            )

    def _report(self, progress: FetchProgress) -> None:
        if self._on_progress is not None:
            self._on_progress(f"{self.source_name}: {progress.describe()}")

    @property
    def unobserved(self) -> list[str]:
        """Sub-resources with at least one page that could not be fetched or read."""
        return [s.sub_resource for s in self._summaries if s.failed_pages]

    def snapshot_properties(self) -> dict[str, str]:
        """The day's unobserved sub-resources, recorded with the commit."""
        return unobserved_property(self.unobserved)

    def completeness_result(self) -> dg.AssetCheckResult:
        """The completeness check over every page this stream delivered to the writer."""
        return written_completeness(self.source_name, self._tally, self.consumed)

    @property
    def summaries(self) -> list[SubResourceSummary]:
        """Per sub-resource: pages, records, distinct records, expected records, retries."""
        return list(self._summaries)

    def output_metadata(self) -> dict[str, Any]:
        pages = sum(s.pages for s in self._summaries)
        served = [s.served_page_size for s in self._summaries if s.served_page_size]
        failures = [
            {"sub_resource": s.sub_resource, "page": f.page, "error": f.error}
            for s in self._summaries
            for f in s.failures
        ]
        return {
            "failed_pages": sum(s.failed_pages for s in self._summaries),
            "unobserved_sub_resources": self.unobserved[:200],
            "fetch_failures": dg.MetadataValue.json(failures[:50]),
            "redirects": self._client_stats.get("redirects", 0),
            "sub_resources": len(self._summaries),
            # Set when the server capped the page size below the one asked.
            "served_page_size": min(served) if served else None,
            "pages": pages,
            "fetch_chunks": self._chunks,
            "records": sum(s.records for s in self._summaries),
            # Copies fetched again because their totals said the listing moved while paged.
            "pages_again": sum(s.pages_again for s in self._summaries),
            "pages_again_failed": sum(s.pages_again_failed for s in self._summaries),
            "pages_recovered": sum(s.pages_recovered for s in self._summaries),
            "unsettled_sub_resources": [
                s.sub_resource for s in self._summaries if s.unsettled_boundaries
            ][:200],
            # Pages that answered empty among pages with records, and got no new copy.
            "blank_unconfirmed_sub_resources": [
                s.sub_resource for s in self._summaries if s.blank_unconfirmed
            ][:200],
            # Whole lists short of the size asked whose page 2 failed (see `ai_core.raw.paging`).
            "end_unconfirmed_sub_resources": [
                s.sub_resource for s in self._summaries if s.end_unconfirmed
            ][:200],
            "retries": sum(s.retries for s in self._summaries),
            "fetch_wall_s": round(self.fetch_wall_s, 3),
            "workers": self._http.workers,
            "http": dg.MetadataValue.json(self._client_stats),
            "http_requests": self._client_stats.get("requests"),
            # The client's own work (requests, parsing, each page's reading) runs on its event
            # loop's thread; the process meanwhile also writes the chunks and tallies their keys.
            "client_cpu_s": self._client_stats.get("loop_cpu_s"),
            "client_cpu_ms_per_page": round(
                1000 * self._client_stats.get("loop_cpu_s", 0.0) / pages if pages else 0.0, 3
            ),
            "fetch_cpu_s": self._client_stats.get("cpu_s"),
        }
