"""One entity's consolidated day from its sources: stack, match, merge, identify, link, track.

Pure Polars. The work runs in two passes so memory stays near the size of a chunk, not the day:

1. narrow, over all rows but only the columns it needs (keys, discrepancy fields, provenance):
   match groups, the merged key fields and so the ids, the source counts and the
   discrepancies; the ids, sorted, cut the day into chunks of about `chunk_rows` entities;
2. wide, one chunk at a time: the sources are read again batch by batch and each row goes to
   its chunk's files on local disk (`spill`); then, chunk by chunk, every field by its policy,
   foreign keys, history, and the rows that left the feed, in id order.

`ConsolidationStream` yields the chunks (the Iceberg IO manager writes them as they come);
`consolidate` gathers them into one frame for callers that want it whole.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from ai_core.consolidate.checks import (
    DiscrepancyFacts,
    IntegrityFacts,
    OrphanFacts,
    discrepancies,
    id_facts,
    orphan_keys,
    source_usage,
)
from ai_core.consolidate.chunks import chunk_ids, plan_chunks
from ai_core.consolidate.columns import column_docs
from ai_core.consolidate.foreign_keys import LookupTable, attach_foreign_keys, lookup_frames
from ai_core.consolidate.frames import refuse_float_for_decimal, with_aligned
from ai_core.consolidate.history import (
    HISTORY_COLUMNS,
    departed,
    previous_state,
    with_history,
)
from ai_core.consolidate.ids import entity_id
from ai_core.consolidate.matching import GROUP, key_is_complete, match_groups
from ai_core.consolidate.policies import (
    GAP_FILLED,
    OBSERVED_ON,
    SOURCES,
    WINNER,
    in_precedence_order,
    merge_groups,
)
from ai_core.consolidate.sales import SOLD_DATE_SOURCE, with_observed_sales
from ai_core.consolidate.sources import (
    PROVENANCE_INPUT,
    SOURCE_AGE,
    SOURCE_DATE,
    SourceInput,
    source_frames,
    stack_sources,
    stacked_template,
)
from ai_core.consolidate.spec import EntitySpec, FieldPolicy, MergeSpec
from ai_core.consolidate.spill import ChunkSpill, routes, spill_sources
from ai_core.iceberg.output import PartitionOutput

PARTITION_DATE = "_partition_date"
PROVENANCE_OUTPUT = (WINNER, SOURCES, SOURCE_DATE, SOURCE_AGE, GAP_FILLED)
CHUNK_ROWS = 16_384


class NoSourceDataError(LookupError):
    """No source of an entity has a partition within its history window."""


@dataclass(frozen=True, slots=True)
class ConsolidationResult:
    """The day's rows in id order, and the facts the asset checks report."""

    frame: pl.DataFrame
    integrity: IntegrityFacts
    discrepancies: DiscrepancyFacts


def entity_namespace(oem: str, market: str, entity: str) -> str:
    """The namespace hashed into ids, e.g. `stellantis/US/dealers`."""
    return f"{oem}/{market}/{entity}"


class ConsolidationStream(PartitionOutput):
    """One entity's day as chunks of rows; facts complete once it is exhausted.

    Each chunk covers a range of ids and holds both today's entities and those that left the
    feed, sorted by id, so the whole day comes out in id order. The stream is read once.
    """

    def __init__(
        self,
        entity: EntitySpec,
        day: dt.date,
        inputs: Sequence[SourceInput],
        namespace: str,
        lookups: Mapping[str, LookupTable] | None = None,
        previous: pl.LazyFrame | pl.DataFrame | None = None,
        chunk_rows: int = CHUNK_ROWS,
        *,
        properties: Mapping[str, str] | None = None,
        later_days: Sequence[dt.date] = (),
        sales: pl.DataFrame | None = None,
        source_docs: Mapping[str, Mapping[str, str]] | None = None,
        unseen_ids: pl.Series | None = None,
    ) -> None:
        self.entity = entity
        self._source_docs = dict(source_docs or {})
        self._sales = sales
        self.day = day
        self._properties = dict(properties or {})
        self.later_days = list(later_days)
        self._where = f"consolidated {namespace} {day}"
        self._lookups = lookup_frames(entity.foreign_keys, lookups or {}, self._where)
        self._integrity: IntegrityFacts | None = None
        if all(i.frame is None for i in inputs):
            windows = ", ".join(f"{i.group.source} ({i.group.history_days} d)" for i in inputs)
            raise NoSourceDataError(
                f"{self._where}: no source has a partition in its window: {windows}; "
                "materialize the transformed assets for this day first"
            )
        self._sources = source_frames(day, inputs)
        template = stacked_template(self._sources)
        if any(i.frame is None for i in inputs):
            # A source with nothing in its window cannot name its fields: keys only it provides
            # are empty today, rather than unknown.
            wanted = {f for key in entity.merge.match_on for f in key} | set(entity.key_columns)
            absent = sorted(wanted - set(template.columns))
            template = template.with_columns(pl.lit(None, pl.String).alias(f) for f in absent)
        self._template = template
        self._fields = [c for c in template.columns if c not in PROVENANCE_INPUT]
        present_keys = set(self._fields) & set(entity.key_columns)
        # The key alternatives of several fields (`[dealer_code, order_number]`) present today.
        self._groups = [a for a in entity.key_alternatives if len(a) > 1 and set(a) <= present_keys]
        self._merge = entity.merge
        if any(i.frame is None for i in inputs):
            # A field only an absent source provides has no policy to run today, rather than
            # being a mistake in the YAML.
            rules = {f: r for f, r in entity.merge.fields.items() if f in self._fields}
            self._merge = entity.merge.model_copy(update={"fields": rules})
        narrow_columns = self._narrow_columns()
        narrow = stack_sources(day, inputs, narrow_columns)
        narrow = narrow.with_columns(
            pl.lit(None, template.schema[c]).alias(c) for c in narrow_columns if c not in narrow
        )
        narrow = with_aligned(narrow, match_groups(narrow, entity.merge.match_on, self._where))
        self._rows = in_precedence_order(narrow)
        keys = self._key_pass(namespace)
        group_fields = [f for group in self._groups for f in group]
        pairs = keys.select(GROUP, *(pl.col(f).alias(_PAIR + f) for f in group_fields))
        merged_ids = pl.Series(entity.id_column, [], pl.String)
        if previous is not None:
            keys, merged_ids = keep_previous_ids(
                keys, previous, entity.merge.match_on, entity.id_column
            )
        self.merged_ids = merged_ids.len()
        self._usage = source_usage(inputs, self._rows, keys)
        ids = keys.select(GROUP, entity.id_column)
        self.discrepancies = discrepancies(
            self._rows,
            ids,
            entity.discrepancy_fields,
            entity.id_column,
            tolerances=entity.discrepancy_tolerance,
            prefixes=entity.discrepancy_prefix,
        )
        state: pl.DataFrame | None = None
        gone: pl.DataFrame | None = None
        if entity.history is not None:
            state = previous_state(previous, entity.id_column)
            gone = departed(
                previous,
                state,
                pl.concat([ids[entity.id_column].cast(pl.String), merged_ids]),
                day,
                entity.id_column,
                entity.history.retain_sold_days,
                unseen_ids,
            )
        plan = plan_chunks(ids, gone, entity.id_column, chunk_rows)
        self._n_chunks, self._ids, self._chunk_size = plan.count, plan.ids, plan.size
        # Each chunk joins and carries only its own rows of the previous day, not the day's;
        # each part is let go once its chunk is built.
        self._states = None if state is None else plan.split(state, entity.id_column)
        self._pairs = plan.split_groups(pairs.drop_nulls()) if group_fields else {}
        self._gone = plan.departed_by_chunk()
        self._routes = routes(self._rows, entity.merge.match_on, plan.groups)
        self._rows = self._rows.clear()

    def _narrow_columns(self) -> list[str]:
        """What the narrow pass reads: match and key fields, their recency columns, the
        discrepancy fields and the provenance."""
        entity = self.entity
        keys = [f for key in entity.merge.match_on for f in key] + entity.key_columns
        recency = [r.by for f in keys if (r := entity.merge.policy(f)).by]
        wanted = {*keys, *recency, *entity.discrepancy_fields, *PROVENANCE_INPUT}
        return [c for c in self._template.columns if c in wanted]

    def _key_pass(self, namespace: str) -> pl.DataFrame:
        """Per group: merged key fields, id and winner, from the key columns only.

        A group of key fields (`[dealer_code, order_number]`) is taken whole from the first row
        that has all of them, so the id never pairs one source's dealer with another's order
        number; a single key field is merged by its policy.
        """
        entity = self.entity
        keys = [f for f in entity.key_columns if f in self._fields]
        policies = {f: entity.merge.policy(f) for f in keys}
        groups = self._groups
        policies |= {f: FieldPolicy(policy="priority") for a in groups for f in a}
        recency = {p.by for p in policies.values() if p.by} - set(keys)
        narrow = self._rows.select(GROUP, *PROVENANCE_INPUT, *keys, *recency)
        schema = narrow.schema
        narrow = narrow.with_columns(
            pl.when(key_is_complete(a, schema)).then(pl.col(f)).alias(f) for a in groups for f in a
        )
        merge = MergeSpec(match_on=entity.merge.match_on, fields=policies)
        merged = merge_groups(narrow, keys, merge, self._where)
        return merged.with_columns(
            entity_id(
                namespace, entity.key_fields, merged.schema, entity.id_policy, self._where
            ).alias(entity.id_column)
        )

    @property
    def integrity(self) -> IntegrityFacts:
        """Counts, ids and orphans; available once every chunk has been read."""
        if self._integrity is None:
            raise RuntimeError(
                f"{self._where}: integrity facts are complete only after the stream is read"
            )
        return self._integrity

    def output_metadata(self) -> dict[str, Any]:
        """Summary numbers for the asset's materialization, once the stream is read."""
        facts = self.integrity
        return {
            "active_rows": facts.active_rows if facts.active_rows is not None else facts.rows,
            "discrepancies": self.discrepancies.total,
            "chunks": self._n_chunks,
            # Previous entities found today as part of another (a listing and a dealer's unit
            # joined by the unit's VIN): their ids end without a sale.
            **({"merged_ids": self.merged_ids} if self.merged_ids else {}),
            **(
                {"later_days_to_rebuild": [d.isoformat() for d in self.later_days]}
                if self.later_days
                else {}
            ),
        }

    def column_docs(self) -> dict[str, str]:
        """Each column's description, for the Iceberg field docs and Dagster's column schema."""
        return column_docs(self.entity, self._source_docs)

    def snapshot_properties(self) -> dict[str, str]:
        """Recorded with the commit: which version of the previous day the history read."""
        return dict(self._properties)

    def chunks(self) -> Iterator[pl.DataFrame]:
        orphan_parts: dict[str, list[pl.Series]] = {
            fk.column: [] for fk in self.entity.foreign_keys
        }
        orphan_counts = dict.fromkeys(orphan_parts, 0)
        rows = active = 0
        spill = spill_sources(self._sources, self._template, self._routes, self._n_chunks)
        try:
            for k in range(self._n_chunks):
                chunk = self._chunk(k, spill)
                present = chunk.filter(pl.col("active")) if self.entity.history else chunk
                for fk in self.entity.foreign_keys:
                    lost = orphan_keys(present, fk)
                    orphan_counts[fk.column] += lost.len()
                    orphan_parts[fk.column].append(lost.unique())
                rows += chunk.height
                active += present.height
                yield chunk
        finally:
            spill.close()
        self._integrity = id_facts(
            self._ids,
            self.entity.id_column,
            rows=rows,
            active_rows=active if self.entity.history else None,
            usage=self._usage,
            orphans=[
                OrphanFacts.from_keys(
                    fk.column, fk.entity, orphan_counts[fk.column], orphan_parts[fk.column]
                )
                for fk in self.entity.foreign_keys
            ],
        )

    def _chunk(self, k: int, spill: ChunkSpill) -> pl.DataFrame:
        """Chunk `k`: its groups merged field by field, linked, tracked, plus its departed rows."""
        entity = self.entity
        rows = in_precedence_order(spill.read(k))
        merged = merge_groups(rows, self._fields, self._merge, self._where)
        if self._pairs:
            merged = self._apart_from_their_pair(merged, self._pairs.pop(k))
        ids = chunk_ids(self._ids, self._chunk_size, k)
        merged = merged.join(ids, on=GROUP, how="left").drop(GROUP)
        if entity.foreign_keys:
            merged = attach_foreign_keys(merged, entity.foreign_keys, self._lookups, self._where)
        if self._states is not None:
            merged = with_history(merged, self._states.pop(k), entity.id_column)
        else:
            merged = merged.drop(OBSERVED_ON)
        frame = merged.select(self._columns())
        sales = entity.history.sales if entity.history is not None else None
        if sales is not None:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(SOLD_DATE_SOURCE))
        left = self._gone.pop(k, None)
        if left is not None:
            # Today's columns rule: a field the sources dropped is not revived from old rows.
            carried = left.select(c for c in frame.columns if c in left.columns)
            refuse_float_for_decimal(
                [(self._where, frame.schema), (f"{self._where}, previous day", carried.schema)]
            )
            frame = pl.concat([frame, carried], how="diagonal_relaxed")
        if sales is not None:
            frame = with_observed_sales(frame, self._sales, sales)
        return frame.sort(entity.id_column, nulls_last=True, maintain_order=True)

    def _apart_from_their_pair(self, merged: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
        """Where a group of key fields, merged field by field, disagrees with the pair the id
        was built from (the site's dealer over the portal's), the fields that only agree with
        the pair are left null: the portal's order number is no order of the site's dealer, and
        kept beside it would name another dealer's unit to sales and to the next day's ids."""
        merged = merged.join(pairs, on=GROUP, how="left", maintain_order="left")
        cleared: list[pl.Expr] = []
        for group in self._groups:
            disagrees = pl.any_horizontal(pl.col(f) != pl.col(_PAIR + f) for f in group)
            cleared += [
                pl.when(disagrees & (pl.col(f) == pl.col(_PAIR + f)))
                .then(None)
                .otherwise(pl.col(f))
                .alias(f)
                for f in group
            ]
        return merged.with_columns(cleared).drop(c for c in pairs.columns if c != GROUP)

    def _columns(self) -> list[pl.Expr | str]:
        entity = self.entity
        links = [fk.column for fk in entity.foreign_keys]
        history = list(HISTORY_COLUMNS) if entity.history is not None else []
        return [
            pl.lit(self.day, pl.Date).alias(PARTITION_DATE),
            entity.id_column,
            *links,
            *(f for f in self._fields if f not in (entity.id_column, *links)),
            *history,
            *PROVENANCE_OUTPUT,
        ]


def consolidate(
    entity: EntitySpec,
    day: dt.date,
    inputs: Sequence[SourceInput],
    namespace: str,
    lookups: Mapping[str, LookupTable] | None = None,
    previous: pl.LazyFrame | pl.DataFrame | None = None,
    chunk_rows: int = CHUNK_ROWS,
    sales: pl.DataFrame | None = None,
) -> ConsolidationResult:
    """Consolidate one day of `entity` into one frame; `previous` is its last partition."""
    stream = ConsolidationStream(
        entity, day, inputs, namespace, lookups, previous, chunk_rows, sales=sales
    )
    frame = pl.concat(list(stream.chunks()), how="vertical_relaxed")
    return ConsolidationResult(frame, stream.integrity, stream.discrepancies)


def keep_previous_ids(
    keys: pl.DataFrame,
    previous: pl.LazyFrame | pl.DataFrame,
    match_on: Sequence[Sequence[str]],
    id_column: str,
) -> tuple[pl.DataFrame, pl.Series]:
    """Entities that match one of the previous day's by any match key keep that entity's id;
    also the previous ids matched today but kept by no entity (merged into another).

    An id is computed from the key fields, so without this it would change when a key field
    gains a value (a public vehicle gaining a dealer's order number) or when the key's
    definition changes: history would then read one vehicle sold and another new. A previous
    entity whose id is the one the entity's own keys compute wins; else the first match key
    that finds one. An entity matching two previous ones (a listing and a dealer's unit, once
    its VIN joins them) keeps one id; the other is merged, present rather than sold. A previous
    entity that today's data splits in two (two dealers' units once merged by their shared
    order number) gives its id to one of them only, the one found by the earlier match key
    (then the lesser computed id); the other keeps its computed id, so ids stay unique.
    """
    lazy = previous.lazy()
    names = set(lazy.collect_schema().names())
    hits: list[pl.Series] = []
    for columns in match_on:
        cols = list(columns)
        if not set(cols) <= names or not set(cols) <= set(keys.columns):
            continue
        lookup = (
            lazy.select(*cols, pl.col(id_column).cast(pl.String).alias(_PREVIOUS_ID))
            .drop_nulls(cols)
            .unique(cols, keep="first")
            .collect()
        )
        hit = (
            keys.select(cols)
            .join(lookup, on=cols, how="left", maintain_order="left")
            .get_column(_PREVIOUS_ID)
        )
        hits.append(hit.alias(f"{_PREVIOUS_ID}{len(hits)}"))
    none = pl.Series(id_column, [], pl.String)
    if not hits or all(h.null_count() == h.len() for h in hits):
        return keys, none
    computed = pl.col(id_column).cast(pl.String)
    names_found = [h.name for h in hits]
    own = pl.any_horizontal(pl.col(n) == computed for n in names_found)
    claims = (
        keys.select(computed)
        .with_columns(hits)
        .select(
            id_column,
            pl.when(own).then(computed).otherwise(pl.coalesce(names_found)).alias(_PREVIOUS_ID),
            pl.when(own)
            .then(-1)
            .otherwise(
                pl.coalesce(
                    pl.when(pl.col(n).is_not_null()).then(i) for i, n in enumerate(names_found)
                )
            )
            .alias(_RANK),
        )
        .with_row_index(_ROW)
        .sort(_RANK, id_column, nulls_last=True)
    )
    first = pl.col(_PREVIOUS_ID).is_first_distinct() | pl.col(_PREVIOUS_ID).is_null()
    kept = claims.select(_ROW, pl.when(first).then(pl.col(_PREVIOUS_ID))).sort(_ROW)
    keys = keys.with_columns(pl.coalesce(kept[_PREVIOUS_ID], computed).alias(id_column))
    matched = pl.concat(hits).drop_nulls().unique()
    merged = matched.filter(~matched.is_in(keys[id_column].cast(pl.String).implode()))
    return keys, merged.alias(id_column)


_PAIR = "__pair_"
_PREVIOUS_ID = "__previous_id"
_RANK = "__match_key"
_ROW = "__row"
