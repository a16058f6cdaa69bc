"""The Stellantis raw components: the public sites (`StellantisRawSource`) and DealerConnect.

One YAML instance per endpoint (`model_year_codes`, `inventory`, `dealers`); the component turns
the run's settings into sub-resources. The inventory fetches one brand's model-year code at a
time, reading the day's codes from the stored `public_model_year_codes` partition, so both assets
agree on what existed that day. `DealerConnectRawSource` reads one kind of DealerConnect table
(`inventory`, `sales`, `code_guides`) from BigQuery, one sub-resource per dealer table.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import dagster as dg
import orjson
import polars as pl
import pyarrow as pa

from ai_core.http.config import HttpClientConfig
from ai_core.iceberg.resource import IcebergCatalogResource
from ai_core.partitions import partition_date
from ai_core.raw.component import RawSourceComponent
from ai_core.raw.layout import CompletenessRule, whole_number
from ai_core.raw.observation import observed, record_observation
from ai_core.raw.output import LazyRawFetch
from ai_core.raw.paging import PagedSubResource, Unobservable
from ai_core.transform.scalars import as_text, text_rule
from ai_stellantis.brands import BY_DOMAIN
from ai_stellantis.settings import StellantisApiResource
from ai_stellantis.sources.bigquery import DealerConnectBigQuery
from ai_stellantis.sources.dealerconnect import NO_ROWS, PAGE, DealerConnectStream, TableKind
from ai_stellantis.sources.public_sites import (
    DEALERS,
    INVENTORY,
    MODEL_YEAR_CODES,
    DealerLocator,
    InventoryCode,
    ModelYearCodes,
)

if TYPE_CHECKING:
    from google.cloud import bigquery

RESOURCE_KEY = "stellantis_api"
BIGQUERY_RESOURCE_KEY = "dealerconnect_bigquery"


class StellantisRawSource(RawSourceComponent):
    """A raw table of one Stellantis public endpoint, for every selected brand."""

    endpoint: Literal["model_year_codes", "inventory", "dealers"]
    required_resource_keys: list[str] = [RESOURCE_KEY]
    present_only: bool = True  # the public sites answer with today's data whatever the day

    def settings(self, context: dg.AssetExecutionContext) -> StellantisApiResource:
        return getattr(context.resources, RESOURCE_KEY)

    def http_config(self, context: dg.AssetExecutionContext) -> HttpClientConfig:
        return self.settings(context).http()

    def completeness_rule(self) -> CompletenessRule:
        layouts = {"model_year_codes": MODEL_YEAR_CODES, "inventory": INVENTORY, "dealers": DEALERS}
        return layouts[self.endpoint].completeness()

    def plan(
        self, context: dg.AssetExecutionContext, inputs: Mapping[str, pl.LazyFrame]
    ) -> Sequence[PagedSubResource]:
        settings = self.settings(context)
        brands = settings.selected_brands()
        if self.endpoint == "model_year_codes":
            return [ModelYearCodes(b, settings) for b in brands]
        if self.endpoint == "dealers":
            return [DealerLocator(b, settings) for b in brands]
        # One page a brand: read the day's table once for the three looks below.
        raw_codes = inputs["public_model_year_codes"].collect().lazy()
        lists = read_model_year_codes(raw_codes)
        codes = lists.codes
        unlisted = {
            domain: f"public_model_year_codes of {domain} failed today: {error}"
            for domain, error in unlisted_brands(raw_codes).items()
        }
        # A list of entries none of which has a code is a shape this reader does not know.
        unlisted |= {
            domain: f"public_model_year_codes of {domain} lists {n} entries without a code, a "
            "shape this reader does not know: check the page against the filters contract"
            for domain, n in lists.codeless.items()
        }
        selected = {b.domain for b in brands}
        fetched = set(raw_codes.select("_sub_resource").unique().collect()["_sub_resource"])
        if missing := selected - fetched:
            raise dg.Failure(
                f"public_model_year_codes of {context.partition_key} has no filter page of "
                f"{sorted(missing)}: materialise public_model_year_codes for this day first",
                allow_retries=False,
            )
        # A brand can answer with no codes at all, for example with nothing in stock.
        if empty := selected - {domain for domain, _ in codes} - set(unlisted):
            context.log.warning(f"{sorted(empty)} list no model-year codes today")
        # A brand whose code list failed or was not read today is not observed, not empty.
        plan: list[PagedSubResource] = [
            Unobservable(domain, reason)
            for domain, reason in sorted(unlisted.items())
            if domain in selected
        ]
        plan += [
            InventoryCode(
                BY_DOMAIN[domain], code, settings, listed_records=lists.counts.get((domain, code))
            )
            for domain, code in codes
            if domain in selected
        ]
        return plan


def unlisted_brands(raw_codes: pl.LazyFrame) -> dict[str, str]:
    """Brand domains whose filter page failed that day, with the failure."""
    if "_fetch_error" not in raw_codes.collect_schema().names():
        return {}
    failed = (
        raw_codes.filter(pl.col("_fetch_error").is_not_null())
        .select("_sub_resource", "_fetch_error")
        .collect()
    )
    return dict(failed.iter_rows())


@dataclass(frozen=True, slots=True)
class ModelYearCodeLists:
    """A day's stored filter pages: the codes they list, and the brands whose entries had none."""

    codes: list[tuple[str, str]]
    """(brand domain, model-year code) pairs, sorted."""
    counts: dict[tuple[str, str], int]
    """The vehicles each listed the code with (its `count`), where it gives one."""
    codeless: dict[str, int]
    """Brand domain -> entries listed, for brands that listed entries but no code."""


def read_model_year_codes(raw_codes: pl.LazyFrame) -> ModelYearCodeLists:
    """The model-year codes listed in a day's stored filter pages."""
    if "_fetch_error" in raw_codes.collect_schema().names():
        raw_codes = raw_codes.filter(pl.col("_fetch_error").is_null())
    pages = raw_codes.select("_sub_resource", "_response_body").collect()
    pairs: set[tuple[str, str]] = set()
    counts: dict[tuple[str, str], int] = {}
    entries: Counter[str] = Counter()
    for domain, body in pages.iter_rows():
        data = orjson.loads(body)
        for entry in data["result"]["data"].get("modelYearCodes") or []:
            entries[domain] += 1
            code = text_rule(as_text(entry.get("code"))) if isinstance(entry, dict) else None
            # Trimmed, as the transformed code list reads it: servers match a code exactly.
            if code:
                pair = (domain, code)
                pairs.add(pair)
                count = whole_number(entry.get("count"))
                if count is not None:  # a code listed twice keeps its larger count
                    counts[pair] = max(count, counts.get(pair, count))
    coded = {domain for domain, _ in pairs}
    codeless = {domain: n for domain, n in entries.items() if domain not in coded}
    return ModelYearCodeLists(sorted(pairs), counts, codeless)


class DealerConnectRawSource(RawSourceComponent):
    """A raw table of one kind of DealerConnect BigQuery table, every dealer's for the day."""

    tables: TableKind
    dataset: str = "dealerconnect"
    page_rows: int = 1000
    carry_vanished_days: int = 3
    """A table read within this many days and missing today is recorded as not observed."""
    catalog_resource_key: str = "iceberg"
    required_resource_keys: list[str] = [BIGQUERY_RESOURCE_KEY, "iceberg"]
    kinds: list[str] = ["iceberg", "bigquery"]

    def completeness_rule(self) -> CompletenessRule | None:
        # A query's rows are counted: the contract does not say two rows never share a document
        # (blob_id). A dealer's sales table is empty on a day without sales, no missing read.
        return PAGE.completeness().model_copy(
            update={"keys_may_repeat": True, "empty_is_complete": self.tables == "sales"}
        )

    def fetch(
        self, context: dg.AssetExecutionContext, inputs: Mapping[str, pl.LazyFrame]
    ) -> LazyRawFetch:
        resource: DealerConnectBigQuery = getattr(context.resources, BIGQUERY_RESOURCE_KEY)
        catalog: IcebergCatalogResource = getattr(context.resources, self.catalog_resource_key)
        day = partition_date(context)
        known = recently_read_tables(catalog, self.key, day, self.carry_vanished_days)
        source = dg.AssetKey.from_user_string(self.source_key) if self.source_key else None

        def observe(fetched: Mapping[str, Any], error: BaseException | None) -> None:
            if source is not None:
                record_observation(context, source, day, fetched, error)

        return _ClientClosingStream(
            self.asset_key,
            resource,
            observe,
            lambda client: DealerConnectStream(
                self.asset_key,
                client,
                dataset=self.dataset,
                kind=self.tables,
                day=day,
                workers=resource.workers,
                timeout_s=resource.timeout,
                page_rows=self.page_rows,
                chunk_pages=self.chunk_pages,
                completeness=self.completeness_rule(),
                known_tables=known,
                log=context.log,
            ),
        )


def recently_read_tables(
    catalog: IcebergCatalogResource, key: dg.AssetKey, day: dt.date, days: int
) -> list[str]:
    """Sub-resources read without error, and holding rows, on the `days` stored days before
    `day`: a table stored as read and empty has nothing to carry."""
    earliest = day - dt.timedelta(days=days)
    dates = [d for d in catalog.partition_dates(key) if earliest <= d < day]
    if not dates:
        return []
    read = (
        catalog.scan_partitions(key, dates)
        .filter(
            pl.col("_fetch_error").is_null()
            & ~pl.col("_response_body").str.contains(NO_ROWS, literal=True)
        )
        .select("_sub_resource")
        .unique()
        .collect()
    )
    return sorted(read["_sub_resource"].to_list())


class _ClientClosingStream(LazyRawFetch):
    """Opens the BigQuery client when the IO manager starts reading and closes it after; when
    the read ends either way, `observe` gets its metadata and error, if any."""

    def __init__(
        self,
        source_name: str,
        resource: DealerConnectBigQuery,
        observe: Callable[[Mapping[str, Any], BaseException | None], None],
        build: Callable[[bigquery.Client], DealerConnectStream],
    ) -> None:
        self.source_name = source_name
        self._resource = resource
        self._observe = observe
        self._build = build
        self._stream: DealerConnectStream | None = None

    def chunks(self) -> Iterator[pa.Table]:
        return observed(super().chunks(), self._observe_read)

    def fetch(self) -> Iterator[pa.Table]:
        with self._resource.get_client() as client:
            self._stream = self._build(client)
            yield from self._stream.chunks()

    def _observe_read(self, error: BaseException | None) -> None:
        self._observe(self._stream.output_metadata() if self._stream is not None else {}, error)

    def _written(self) -> DealerConnectStream:
        if self._stream is None:
            raise RuntimeError("the DealerConnect stream has not been written yet")
        return self._stream

    def output_metadata(self) -> dict[str, Any]:
        return self._written().output_metadata()

    def completeness_result(self) -> dg.AssetCheckResult:
        return self._written().completeness_result()

    def snapshot_properties(self) -> dict[str, str]:
        return self._written().snapshot_properties()
