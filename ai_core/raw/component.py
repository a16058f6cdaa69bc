"""`RawSourceComponent`: one raw Iceberg table filled from one upstream source, a partition a day.

An instance in YAML names the asset, the upstream source it observes, and the raw assets it
reads (the inventory reads the day's model-year codes). Subclasses say what to fetch by
overriding `plan` (the sub-resources) and `http_config`; everything else — the stream, the
asset, the completeness check tallied while the pages are written — is shared.

A source that serves only the present (`present_only`, the public sites) refuses any partition
but today's (`ai_core.clock.today`): fetching now for a past day would store today's pages under
that day. Its stored days can still be transformed and consolidated again.
"""

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import dagster as dg
import polars as pl

from ai_core.clock import TODAY_ENV, today
from ai_core.http.config import HttpClientConfig
from ai_core.location import FETCH, STEP_KIND_TAG
from ai_core.partitions import daily_partitions, partition_date
from ai_core.raw.layout import CompletenessRule
from ai_core.raw.observation import ObservedFetchStream
from ai_core.raw.output import LazyRawFetch
from ai_core.raw.paging import DEFAULT_CHUNK_PAGES, PagedSubResource
from ai_core.raw.result import RAW_DOCS, RAW_SCHEMA
from ai_core.raw.stream import RawFetchStream
from ai_core.transform.columns import type_name


class RawSourceComponent(dg.Component, dg.Model, dg.Resolvable):
    """A raw-tier asset: every upstream page of the day, verbatim, one row per page."""

    asset_key: str
    description: str
    source_key: str | None = None
    source_description: str | None = None
    upstream: list[str] = []
    start_date: str
    """The first daily partition (YYYY-MM-DD)."""
    group_name: str = "raw"
    io_manager_key: str = "iceberg_io_manager"
    required_resource_keys: list[str] = []
    completeness: CompletenessRule | None = None
    chunk_pages: int = DEFAULT_CHUNK_PAGES
    present_only: bool = False
    owners: list[str] = []
    tags: dict[str, str] = {}
    # A Dagster concurrency pool shared by the assets that call one site: its limit caps the
    # steps (each with its own pages in flight) fetching at once across all runs and backfills.
    pool: str | None = None
    # Steps with a higher priority start first when a run has more steps ready than processes:
    # the longest fetch of the day should not wait behind short ones.
    priority: int = 0
    kinds: list[str] = ["iceberg", "http"]

    def plan(
        self, context: dg.AssetExecutionContext, inputs: Mapping[str, pl.LazyFrame]
    ) -> Sequence[PagedSubResource]:
        """The sub-resources to fetch for the run's partition, in a deterministic order."""
        raise NotImplementedError(f"{type(self).__name__} must say what {self.asset_key} fetches")

    def http_config(self, context: dg.AssetExecutionContext) -> HttpClientConfig:
        """Client settings for the run; subclasses read them from their source's resource."""
        return HttpClientConfig()

    def completeness_rule(self) -> CompletenessRule | None:
        """Where the bodies state their records' keys and total: the YAML's `completeness`, or
        what a subclass derives from its endpoint's `PageLayout`."""
        return self.completeness

    def fetch(
        self, context: dg.AssetExecutionContext, inputs: Mapping[str, pl.LazyFrame]
    ) -> LazyRawFetch:
        """The run's fetch, not yet started: it runs as the IO manager writes its chunks. With a
        source node, the stream records an observation of the source when the fetch ends."""
        day = partition_date(context)
        if self.present_only:
            self.require_today(day)
        http = self.http_config(context)
        options: dict[str, Any] = {
            "chunk_pages": self.chunk_pages,
            "partition_date": day,
            "completeness": self.completeness_rule(),
            "on_progress": context.log.info,
        }

        def plan() -> Sequence[PagedSubResource]:
            return self.plan(context, inputs)

        if self.source_key is None:
            return RawFetchStream(self.asset_key, plan, http, **options)
        source = dg.AssetKey.from_user_string(self.source_key)
        return ObservedFetchStream(
            self.asset_key, plan, http, source=source, context=context, **options
        )

    def require_today(self, day: dt.date) -> None:
        """Refuse a partition other than today's, saying why and what to do instead."""
        now = today()
        if day != now:
            raise dg.Failure(
                f"{self.asset_key} serves only the present: today is {now} ({TODAY_ENV} or the "
                f"UTC date), so partition {day} cannot be fetched now. Its stored pages, if any, "
                "can still be transformed and consolidated: materialise only the downstream "
                f"assets for {day}. To replay a day against a local stand-in, set {TODAY_ENV}.",
                allow_retries=False,
            )

    @property
    def key(self) -> dg.AssetKey:
        return dg.AssetKey.from_user_string(self.asset_key)

    def _input_name(self, key: str) -> str:
        return dg.AssetKey.from_user_string(key).path[-1]

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        partitions = daily_partitions(self.start_date)
        ins = {
            self._input_name(k): dg.AssetIn(key=dg.AssetKey.from_user_string(k))
            for k in self.upstream
        }
        deps = [dg.AssetKey.from_user_string(self.source_key)] if self.source_key else []
        component = self

        @dg.asset(
            key=self.key,
            description=self.description,
            group_name=self.group_name,
            partitions_def=partitions,
            ins=ins,
            deps=deps,
            io_manager_key=self.io_manager_key,
            required_resource_keys=set(self.required_resource_keys),
            kinds=set(self.kinds),
            owners=self.owners or None,
            tags=self.tags or None,
            check_specs=[self._completeness_spec()] if self.completeness_rule() else None,
            # Pages that fail are kept as missing, so a step fails only on what a fresh process
            # may get past: a lost commit, a crash. Jitter spreads the retries of many assets.
            retry_policy=dg.RetryPolicy(
                max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
            ),
            pool=self.pool,
            op_tags={
                STEP_KIND_TAG: FETCH,
                **({"dagster/priority": str(self.priority)} if self.priority else {}),
            },
            metadata={"dagster/column_schema": raw_column_schema()},
        )
        def _raw_asset(context: dg.AssetExecutionContext, **inputs: Any) -> Iterator[Any]:
            # Nothing is fetched here: the IO manager runs the fetch as it writes the chunks.
            stream = component.fetch(context, inputs)
            # Dagster hands the output to the IO manager before resuming here, so by the next
            # line every page is written and tallied.
            yield dg.Output(stream)
            if component.completeness_rule() is not None:
                yield stream.completeness_result()

        assets: list[Any] = [_raw_asset]
        if self.source_key:
            assets.append(
                dg.AssetSpec(
                    key=dg.AssetKey.from_user_string(self.source_key),
                    description=self.source_description or f"Upstream of {self.asset_key}",
                    group_name="sources",
                    kinds=set(self.kinds) - {"iceberg"},
                )
            )
        return dg.Definitions(assets=assets)

    def _completeness_spec(self) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(
            name="completeness",
            asset=self.key,
            description=(
                "Every sub-resource written for the day holds as many distinct records as the "
                "upstream reported, and none is empty unless the list it came from gave it no "
                "records and it answers a total of 0 (an empty whole list, which can be true, "
                "fails as a warning): tallied from the bodies as they are written, so it covers "
                "exactly the committed rows."
            ),
        )


def raw_column_schema() -> dg.TableSchema:
    """The raw table's columns with their Iceberg types and descriptions, for Dagster's UI."""
    schema = pl.DataFrame(RAW_SCHEMA.empty_table()).schema
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, type_name(dtype), description=RAW_DOCS[name])
            for name, dtype in schema.items()
        ]
    )
