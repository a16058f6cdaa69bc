"""`ConsolidatedComponent`: an OEM's consolidated tier, one asset per entity, from YAML.

Each entity asset reads its sources through the catalog resource (so a source missing today can
be filled from an earlier day), its foreign-key targets as same-day inputs, and its own previous
partition for history; it writes through the Iceberg IO manager and reports the `integrity`
and `discrepancies` checks from the facts computed along the way.
"""

# No `from __future__ import annotations`: Dagster inspects the asset function's `context`
# annotation as an object when the asset is defined.
import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
import polars as pl
from pydantic import model_validator

from ai_core.consolidate.check_results import discrepancy_check_result, integrity_check_result
from ai_core.consolidate.engine import ConsolidationStream, NoSourceDataError, entity_namespace
from ai_core.consolidate.foreign_keys import LookupTable
from ai_core.consolidate.history import leaving_unseen, previous_day
from ai_core.consolidate.lineage import (
    HISTORY_FROM_PROPERTY,
    history_stamp,
    later_days,
    stale_days,
)
from ai_core.consolidate.sources import (
    CarriedRows,
    SourceInput,
    choose_partition,
    latest_observations,
    with_keys_from,
    without_held_keys,
)
from ai_core.consolidate.spec import EntitySpec, KeyLookup, SourceGroup
from ai_core.iceberg.resource import IcebergCatalogResource
from ai_core.location import COMPUTE, STEP_KIND_TAG
from ai_core.partitions import daily_partitions, partition_date
from ai_core.raw.parts import in_parts


class ConsolidatedComponent(dg.Component, dg.Model, dg.Resolvable):
    """The consolidated tier of one OEM and market: merged, identified, linked entities."""

    oem: str
    market: str
    start_date: str
    entities: list[EntitySpec]
    group_name: str = "consolidated"
    io_manager_key: str = "iceberg_io_manager"
    catalog_resource_key: str = "iceberg"
    owners: list[str] = []
    tags: dict[str, str] = {}

    @model_validator(mode="after")
    def _links_resolve(self) -> "ConsolidatedComponent":
        names = [e.name for e in self.entities]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.oem} consolidated: entity names repeat ({names})")
        for entity in self.entities:
            for fk in entity.foreign_keys:
                if fk.entity not in names or fk.entity == entity.name:
                    raise ValueError(
                        f"{self.oem} consolidated entity {entity.name!r}: foreign key "
                        f"{fk.column} targets {fk.entity!r}; declare that entity in the same "
                        f"component (declared: {names})"
                    )
        return self

    def asset_key(self, entity: EntitySpec | str) -> dg.AssetKey:
        name = entity if isinstance(entity, str) else entity.name
        return dg.AssetKey([self.oem, "consolidated", name])

    def entity(self, name: str) -> EntitySpec:
        return next(e for e in self.entities if e.name == name)

    def source_inputs(
        self, catalog: IcebergCatalogResource, entity: EntitySpec, day: dt.date
    ) -> list[SourceInput]:
        """Each source group's rows for the day, or its latest day within `history_days`; parts
        the chosen day did not observe are carried from the latest day that did."""
        inputs = []
        for group in entity.source_groups:
            available = catalog.partition_dates(group.source)
            chosen = choose_partition(day, available, group.history_days)
            if chosen is None:
                inputs.append(SourceInput(group, None, None))
                continue
            # The window is the consolidated day's, whichever day of it the source last wrote.
            earliest = day - dt.timedelta(group.history_days)
            window = [d for d in available if earliest <= d <= chosen]
            unobserved = catalog.unobserved(group.source, window)
            frame = catalog.scan_partition(group.source, chosen)
            missing = unobserved.get(chosen, frozenset())
            carried = tuple(
                CarriedRows(earlier, self._carried(catalog, group, entity, earlier, parts, frame))
                for earlier, parts in latest_observations(
                    chosen, missing, available, unobserved, earliest
                ).items()
            )
            if group.key_from is not None:
                table = self._key_table(catalog, group.key_from, day, group.history_days)
                frame = with_keys_from(frame, table, group.key_from)
                carried = tuple(
                    CarriedRows(
                        c.partition_date, with_keys_from(c.frame.lazy(), table, group.key_from)
                    )
                    for c in carried
                )
            inputs.append(SourceInput(group, frame, chosen, missing, carried))
        return inputs

    @staticmethod
    def _key_table(
        catalog: IcebergCatalogResource, lookup: KeyLookup, day: dt.date, history_days: int
    ) -> pl.LazyFrame | None:
        """The `key_from` table's day, or its latest within the source's `history_days`."""
        chosen = choose_partition(day, catalog.partition_dates(lookup.source), history_days)
        return None if chosen is None else catalog.scan_partition(lookup.source, chosen)

    @staticmethod
    def _carried(
        catalog: IcebergCatalogResource,
        group: SourceGroup,
        entity: EntitySpec,
        earlier: dt.date,
        parts: frozenset[str],
        today: pl.LazyFrame,
    ) -> pl.LazyFrame:
        """An earlier day's rows of `parts`, less those whose key today's rows already hold."""
        rows = catalog.scan_partition(group.source, earlier).filter(in_parts(parts))
        return without_held_keys(rows, today, entity.key_alternatives, group.rename)

    def previous_partition(
        self, catalog: IcebergCatalogResource, entity: EntitySpec, day: dt.date
    ) -> pl.LazyFrame | None:
        """The entity's latest partition before `day`, for history; None on the first day."""
        if entity.history is None:
            return None
        key = self.asset_key(entity)
        before = previous_day(day, catalog.partition_dates(key))
        return None if before is None else catalog.scan_partition(key, before)

    def sales_rows(
        self, catalog: IcebergCatalogResource, entity: EntitySpec, day: dt.date
    ) -> pl.DataFrame | None:
        """The entity's observed sales of the day and its `history_days` before, if declared."""
        spec = entity.history.sales if entity.history is not None else None
        if spec is None:
            return None
        earliest = day - dt.timedelta(days=spec.history_days)
        dates = [d for d in catalog.partition_dates(spec.source) if earliest <= d <= day]
        if not dates:
            return None
        rows = catalog.scan_partitions(spec.source, dates)
        # Only the keys and the date are read: a sales table may carry whole documents.
        wanted = {spec.date_field, *(f for key in spec.match_on for f in key)}
        return rows.select(c for c in rows.collect_schema().names() if c in wanted).collect()

    def consolidate(
        self,
        context: dg.AssetExecutionContext,
        entity: EntitySpec,
        targets: Mapping[str, pl.LazyFrame],
    ) -> ConsolidationStream:
        """One entity's day as a stream of chunks; override to change how inputs are gathered."""
        day = partition_date(context)
        catalog: IcebergCatalogResource = getattr(context.resources, self.catalog_resource_key)
        lookups = {
            name: LookupTable(frame, self.entity(name).id_column) for name, frame in targets.items()
        }
        properties: dict[str, str] = {}
        later: list[dt.date] = []
        if entity.history is not None:
            key = self.asset_key(entity)
            written = catalog.partition_dates(key)
            before = previous_day(day, written)
            properties = history_stamp(before, catalog.day_writes(key, [before] if before else []))
            later = later_days(day, written)
            if later:
                context.log.warning(
                    f"{key.to_user_string()} {day} is rebuilt while {len(later)} later days "
                    f"({later[0]}..{later[-1]}) hold history built on its previous version; "
                    "the history repair sensor rebuilds them in order, or rerun them yourself"
                )
        inputs = self.source_inputs(catalog, entity, day)
        if all(i.frame is None for i in inputs):
            self._require_a_source_row(catalog, entity, day)
        previous = self.previous_partition(catalog, entity, day)
        return ConsolidationStream(
            entity,
            day,
            inputs,
            entity_namespace(self.oem, self.market, entity.name),
            lookups,
            previous,
            properties=properties,
            later_days=later,
            sales=self.sales_rows(catalog, entity, day),
            source_docs={g.source: catalog.column_docs(g.source) for g in entity.source_groups},
            unseen_ids=leaving_unseen(
                previous, inputs, catalog.scan_partition, entity.id_column, entity.key_alternatives
            ),
        )

    def _require_a_source_row(
        self, catalog: IcebergCatalogResource, entity: EntitySpec, day: dt.date
    ) -> None:
        """Say why there is nothing to consolidate when every source wrote the day empty (its
        raw day failed: a first day with the upstream down, say); a source not written for the
        day is left to the engine's error, which asks to materialise it."""
        sources = [g.source for g in entity.source_groups]
        if not all(day in catalog.day_writes(s, [day]) for s in sources):
            return
        raise NoSourceDataError(
            f"{self.asset_key(entity).to_user_string()} {day}: every source was written for the "
            f"day without a row ({', '.join(sources)}), and no earlier day within its history "
            "holds one: their raw days failed (see the raw assets' completeness checks). Rerun "
            "the raw assets for the day once the upstream answers, then their downstream assets"
        )

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        partitions = daily_partitions(self.start_date)
        with_history = [e for e in self.entities if e.history is not None]
        return dg.Definitions(
            assets=[self._asset(e, partitions) for e in self.entities],
            sensors=[self._history_repair_sensor(with_history)] if with_history else [],
        )

    def _history_repair_sensor(self, entities: list[EntitySpec]) -> dg.SensorDefinition:
        """Rebuilds, earliest first, each day whose history was read from a previous day that
        has since been written again; a rebuilt day makes the next one stale in turn."""
        component = self
        keys = [self.asset_key(e) for e in entities]

        @dg.sensor(
            name=f"{self.oem}_history_repair_sensor",
            minimum_interval_seconds=60,
            required_resource_keys={self.catalog_resource_key},
            asset_selection=keys,
            default_status=dg.DefaultSensorStatus.RUNNING,
            description="Reruns consolidated days whose history was built on an earlier "
            "version of the day before them, one day at a time, earliest first.",
        )
        def _repair(
            context: dg.SensorEvaluationContext, **resources: Any
        ) -> dg.SensorResult | dg.SkipReason:
            # Dagster passes the required resources by key, which YAML may rename.
            catalog: IcebergCatalogResource = resources[component.catalog_resource_key]
            requests = []
            for key in keys:
                writes, written = catalog.day_writes(key), catalog.partition_dates(key)
                stale = stale_days(writes, written)
                if stale:
                    day = stale[0]
                    # Keyed by the version it will read, so each repair is requested once.
                    reads = history_stamp(previous_day(day, written), writes)
                    requests.append(
                        dg.RunRequest(
                            run_key=f"{key.to_user_string()}:{day}:{reads[HISTORY_FROM_PROPERTY]}",
                            asset_selection=[key],
                            partition_key=day.isoformat(),
                            tags={"ai/reason": "history repair"},
                        )
                    )
            if not requests:
                return dg.SkipReason("every consolidated day's history is current")
            return dg.SensorResult(run_requests=requests)

        return _repair

    def _asset(
        self, entity: EntitySpec, partitions: dg.PartitionsDefinition
    ) -> dg.AssetsDefinition:
        key = self.asset_key(entity)
        targets = sorted({fk.entity for fk in entity.foreign_keys})
        deps: list[dg.AssetDep] = [
            dg.AssetDep(dg.AssetKey.from_user_string(g.source)) for g in entity.source_groups
        ]
        lookups = {g.key_from.source for g in entity.source_groups if g.key_from is not None}
        deps += [dg.AssetDep(dg.AssetKey.from_user_string(s)) for s in sorted(lookups)]
        if entity.history is not None and entity.history.sales is not None:
            deps.append(dg.AssetDep(dg.AssetKey.from_user_string(entity.history.sales.source)))
        if entity.history is not None:
            # History reads yesterday's partition: the dependency makes backfills run in order.
            yesterday = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
            deps.append(dg.AssetDep(key, partition_mapping=yesterday))
        component = self

        @dg.asset(
            key=key,
            description=entity.description
            or f"{entity.name} of {self.oem} ({self.market}), merged across sources.",
            group_name=self.group_name,
            partitions_def=partitions,
            ins={t: dg.AssetIn(key=self.asset_key(t)) for t in targets},
            deps=deps,
            io_manager_key=self.io_manager_key,
            required_resource_keys={self.catalog_resource_key},
            kinds={"iceberg", "polars"},
            owners=self.owners or None,
            tags={"oem": self.oem, "market": self.market, **self.tags},
            op_tags={STEP_KIND_TAG: COMPUTE},
            check_specs=[
                dg.AssetCheckSpec(
                    "integrity",
                    asset=key,
                    description="Rows per source, ids present and unique, foreign keys resolved.",
                ),
                dg.AssetCheckSpec(
                    "discrepancies",
                    asset=key,
                    description="Entities whose sources disagree on important fields.",
                ),
            ],
        )
        def _consolidated(context: dg.AssetExecutionContext, **inputs: Any) -> Iterator[Any]:
            stream = component.consolidate(context, entity, inputs)
            # The IO manager writes the chunks as they come and then asks the stream for its
            # metadata; the integrity facts are complete by the time the checks are yielded.
            yield dg.Output(stream)
            yield integrity_check_result(stream.integrity)
            yield discrepancy_check_result(stream.discrepancies)

        return _consolidated
