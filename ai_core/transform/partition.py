"""One entity's transformed day: its rows resolved by key, written as they are extracted.

The Iceberg IO manager consumes this object's chunks. Its `TransformedDay` (`day.py`) extracts
a group of raw batches of a few tens of megabytes of bodies at a time; the partition collapses
identical rows within it and hands its rows to the writer, which stages them as data files at
once; only what the key rule needs (key, provenance, hash and the entity's rule flags) stays in
memory, with the page facts. When every batch is staged, the writer asks `rows_to_drop`: keys
are resolved over the whole day, and the rows that lost to another version of their key
(usually none) are struck from the staged files before the one commit. Memory therefore holds
one group's rows, not the day's, and no row is written twice.

Raw rows of pages that could not be fetched (`_fetch_error` set) hold no records: the day leaves
them out of the extraction, and their sub-resources are recorded with the day as not observed, so
the consolidated tier carries those parts forward instead of reading them as gone.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import polars as pl

from ai_core.iceberg.output import PartitionOutput, StagedRows
from ai_core.iceberg.writer import unobserved_property
from ai_core.raw.parts import in_parts
from ai_core.transform.drift import DRIFT_SCHEMA
from ai_core.transform.extract import (
    PAGES_SCHEMA,
    REJECTED_SCHEMA,
    UNREADABLE_EMPTY,
    Extraction,
    Extractor,
    merge_unreadable,
)
from ai_core.transform.facts import (
    DISCREPANCY_SAMPLES_SCHEMA,
    DiscrepancyFacts,
    IntegrityFacts,
    discrepancy_facts,
    discrepancy_findings,
    integrity_facts,
    sub_resource_counts,
)
from ai_core.transform.keys import (
    FILLED,
    SAMPLE_LIMIT,
    KeyChoice,
    choose_rows,
    collapse_identical,
    conflict_samples,
    filled,
)
from ai_core.transform.schema import HASH_COLUMN

if TYPE_CHECKING:
    from ai_core.transform.day import TransformedDay

BATCH = "_batch"
ROW = "_row"
KEYLESS = "record without a key"


@dataclass(frozen=True, slots=True)
class KeptGroup:
    """What stays in memory of one written group until the day is resolved."""

    narrow: pl.DataFrame
    """Key, provenance, hash, position and rule flags of each written row."""
    pages: pl.DataFrame
    rejected: pl.DataFrame
    unknown_keys: pl.DataFrame


@dataclass(slots=True)
class Timings:
    extract_s: float = 0.0
    resolve_s: float = 0.0


def _by_batch(rows: pl.DataFrame) -> dict[int, pl.Series]:
    """Positions of `rows` within their groups, by group index."""
    return {
        int(batch): positions.to_series()
        for (batch,), positions in rows.select(BATCH, ROW)
        .partition_by(BATCH, as_dict=True, include_key=False)
        .items()
    }


def _flag(index: int) -> str:
    return f"_discrepancy{index}"


class TransformedPartition(PartitionOutput):
    """One entity's rows of a `TransformedDay` as `pl.DataFrame` chunks, one per extracted group
    of raw batches, for a writer that calls `rows_to_drop` before it commits (the Iceberg IO
    manager); consumable once. Made by `TransformedDay.partition`."""

    def __init__(self, label: str, extractor: Extractor, day: TransformedDay) -> None:
        self.label = label
        self.extractor = extractor
        self._day = day
        self._discrepancies = dict(extractor.plan.entity.discrepancies)
        self._kept: list[KeptGroup] = []
        self._choice: KeyChoice | None = None
        self._pages = pl.DataFrame(schema=PAGES_SCHEMA)
        self._rejected = pl.DataFrame(schema=REJECTED_SCHEMA)
        self._unknown = pl.DataFrame(schema=DRIFT_SCHEMA)
        self._missing: frozenset[str] | None = None
        self._unreadable: dict[str, int] = {}
        self._unreadable_samples = UNREADABLE_EMPTY
        schema = extractor.schema
        newest = extractor.plan.entity.newest_by
        self._newest = newest if newest not in self.key else None
        self._narrow_columns = [
            *self.key,
            "_sub_resource",
            "_page_number",
            "_fetched_at",
            HASH_COLUMN,
            *([self._newest] if self._newest else []),
        ]
        # A record repeated across the day's parents keeps its most filled copy (see `keys`).
        self._filled = (
            [filled(extractor.plan.hashed)] if extractor.plan.entity.repeated_records else []
        )
        self._narrow = pl.DataFrame(
            schema={
                **{c: schema[c] for c in self._narrow_columns},
                **({FILLED: pl.UInt32} if self._filled else {}),
                ROW: pl.UInt32,
                BATCH: pl.UInt32,
                **{_flag(i): pl.Boolean for i in range(len(self._discrepancies))},
            }
        )
        self._keyless = pl.DataFrame(schema=REJECTED_SCHEMA)
        """Records skipped for a missing key (`keyless_records_lost` false)."""
        self._conflict_samples: pl.DataFrame | None = None
        self._batch_duplicates = 0
        self._discrepancy_counts: dict[str, int] = {}
        self._discrepancy_samples = pl.DataFrame(schema=DISCREPANCY_SAMPLES_SCHEMA)
        self._consumed = False
        self.timings = Timings()

    @property
    def key(self) -> list[str]:
        return list(self.extractor.plan.key)

    def chunks(self) -> Iterator[pl.DataFrame]:
        if self._consumed:
            raise RuntimeError(f"{self.label}: a transformed partition can be written only once")
        self._consumed = True
        return self._extract()

    def _extract(self) -> Iterator[pl.DataFrame]:
        """Every group's rows, identical ones collapsed, in raw order. `extract_s` counts this
        generator's own time (the day's pass for the first table written, reading its rows
        back for the others), not the writer's between chunks."""
        started = time.perf_counter()
        for rows in self._day.rows(self):
            self.timings.extract_s += time.perf_counter() - started
            yield rows
            started = time.perf_counter()
        self.timings.extract_s += time.perf_counter() - started
        if not self._kept:
            # A day without a raw batch still gives the table its columns.
            yield pl.DataFrame(schema=self.extractor.schema)

    @property
    def unobserved(self) -> list[str]:
        """Sub-resources with a page that could not be fetched, known once the day is read."""
        return sorted(self._day.unobserved)

    def snapshot_properties(self) -> dict[str, str]:
        """The day's unobserved sub-resources, recorded with the commit."""
        return unobserved_property(self._day.unobserved)

    def keep(self, extraction: Extraction) -> pl.DataFrame:
        """One group's rows, identical ones collapsed; what stays in memory is their narrow
        columns and rule flags, the page facts, the rejections and the unknown keys. The day
        calls it group by group, in raw order."""
        index = len(self._kept)
        if not self.extractor.plan.entity.keyless_records_lost and extraction.rejected.height:
            extraction = self._skip_keyless(extraction)
        rows = collapse_identical(extraction.rows, self.key)
        self._batch_duplicates += extraction.collapsed + extraction.rows.height - rows.height
        narrow = rows.select(
            *self._narrow_columns,
            *self._filled,
            pl.int_range(pl.len(), dtype=pl.UInt32).alias(ROW),
            pl.lit(index, pl.UInt32).alias(BATCH),
            *(
                condition.fill_null(False).alias(_flag(i))
                for i, condition in enumerate(self._discrepancies.values())
            ),
        )
        self._kept.append(
            KeptGroup(narrow, extraction.pages, extraction.rejected, extraction.unknown_keys)
        )
        if extraction.unreadable:
            self._unreadable, self._unreadable_samples = merge_unreadable(
                [
                    (self._unreadable, self._unreadable_samples),
                    (extraction.unreadable, extraction.unreadable_samples),
                ]
            )
        if extraction.missing_keys is not None:
            # Missing from the day means missing from every group's sample.
            self._missing = (
                extraction.missing_keys
                if self._missing is None
                else self._missing & extraction.missing_keys
            )
        return rows

    def _skip_keyless(self, extraction: Extraction) -> Extraction:
        """The extraction without its records that lack only key fields, which are counted."""
        missing_key = {f"no {k}" for k in self.key}
        keyless = (
            pl.col("reason").str.split("; ").list.eval(pl.element().is_in(missing_key)).list.all()
        )
        skipped = extraction.rejected.filter(keyless)
        if skipped.height:
            self._keyless = pl.concat([self._keyless, skipped])
        return replace(extraction, rejected=extraction.rejected.filter(~keyless))

    def rows_to_drop(self, staged: StagedRows) -> dict[int, pl.Series]:
        """Resolve keys over the day; the rows that lost (positions by chunk index), which the
        writer strikes before the commit. Conflicts are sampled from the staged rows."""
        started = time.perf_counter()
        if self._kept:
            kept, self._kept = self._kept, []
            self._narrow = pl.concat(k.narrow for k in kept)
            self._pages = pl.concat(k.pages for k in kept)
            self._rejected = pl.concat(k.rejected for k in kept)
            self._unknown = (
                pl.concat(k.unknown_keys for k in kept)
                .group_by("key")
                .agg(pl.col("occurrences").sum())
                .sort("key")
                .select(DRIFT_SCHEMA.names())
            )
        choice = self._choice = choose_rows(
            self._narrow,
            self.key,
            most_filled=self.extractor.plan.entity.repeated_records,
            newest=self._newest,
        )
        if choice.conflicts:
            self._conflict_samples = self._sample_conflicts(choice, staged)
        lost = self._narrow.join(choice.kept.select(BATCH, ROW), on=[BATCH, ROW], how="anti")
        drops = _by_batch(lost)
        self._discrepancy_counts, self._discrepancy_samples = discrepancy_findings(
            choice.kept,
            {name: pl.col(_flag(i)) for i, name in enumerate(self._discrepancies)},
            self.key,
        )
        self.timings.resolve_s = time.perf_counter() - started
        return drops

    def _sample_conflicts(self, choice: KeyChoice, staged: StagedRows) -> pl.DataFrame:
        """The conflicted keys' differing columns, read back from the staged rows of a few keys."""
        sampled = choice.conflicted.head(SAMPLE_LIMIT)
        where = self._narrow.join(sampled, on=self.key, how="semi")
        rows = pl.DataFrame(staged.rows(_by_batch(where)))
        return conflict_samples(rows, choice.kept, self.key, self.extractor.plan.hashed)

    def _resolved(self) -> KeyChoice:
        if self._choice is None:
            raise RuntimeError(
                f"{self.label}: the day is not resolved yet; write it with the Iceberg IO "
                "manager, which calls rows_to_drop before its commit"
            )
        return self._choice

    def integrity(self) -> IntegrityFacts:
        """Data lost between the raw pages and the table (known once written)."""
        self._resolved()
        rejected = (
            pl.concat([self._rejected, self._keyless]) if self._keyless_lost() else self._rejected
        )
        counts = sub_resource_counts(self._pages, self._narrow, rejected, self.key)
        # A part the raw day could not fetch is short by the upstream's fault, which the raw
        # asset's completeness check reports; here it is only named.
        unobserved = self._day.unobserved
        observed = counts.filter(~in_parts(unobserved)) if unobserved else counts
        return integrity_facts(observed, self._pages, rejected, self.unobserved)

    def _keyless_lost(self) -> bool:
        """Whether the records without a key are most of the day's: then the key's field is
        more likely gone upstream (renamed, say) than left empty by a few parents, and they are
        lost data after all."""
        records = int(self._pages["records"].sum()) if self._pages.height else 0
        return self._keyless.height * 2 > records

    def discrepancies(self) -> DiscrepancyFacts:
        """Rule findings on the written rows, values no type could read, unknown keys and
        conflicts (known once written)."""
        unreadable = {f"unreadable {column}": n for column, n in sorted(self._unreadable.items())}
        counted = self._keyless.height and not self._keyless_lost()
        keyless = {KEYLESS: self._keyless.height} if counted else {}
        samples = self._unreadable_samples.select(
            pl.format("unreadable {}", "column").alias("rule"),
            pl.format(
                "{} ({} page {}, record {})",
                # Quoted on one line, so blank and multi-line values read in a table.
                pl.format(
                    "'{}'", pl.col("value").fill_null("").str.replace_all(r"[\r\n\t]", " ")
                ).str.slice(0, 82),
                "_sub_resource",
                "_page_number",
                "_record_index",
            ).alias("detail"),
        )
        skipped = self._keyless.head(SAMPLE_LIMIT if counted else 0).select(
            pl.lit(KEYLESS).alias("rule"),
            pl.format(
                "{} page {} record {}: {}",
                "_sub_resource",
                "_page_number",
                "_record_index",
                "reason",
            ).alias("detail"),
        )
        return discrepancy_facts(
            {**self._discrepancy_counts, **unreadable, **keyless},
            pl.concat([self._discrepancy_samples, samples, skipped]),
            self._unknown,
            self._conflict_samples,
            self._resolved().conflicts,
        )

    def missing_keys(self) -> list[str]:
        """Declared key paths absent from every sampled record of the day."""
        return sorted(self._missing or ())

    def output_metadata(self) -> dict[str, Any]:
        """What the day cost and what it found, for the asset's materialization."""
        choice = self._resolved()
        pages = self._pages
        return {
            "pages": pages.height,
            "bad_pages": int((pages["status"] != "ok").sum()) if pages.height else 0,
            "records": int(pages["records"].sum()) if pages.height else 0,
            "rejected_records": self._rejected.height,
            "keyless_records": self._keyless.height,
            "rows_written": choice.kept.height,
            "duplicates_collapsed": self._batch_duplicates + choice.duplicates,
            "key_conflicts": choice.conflicts,
            "unknown_keys": self._unknown.height,
            "unobserved_sub_resources": self.unobserved[:200],
            "extract_seconds": round(self.timings.extract_s, 3),
            "resolve_seconds": round(self.timings.resolve_s, 3),
        }
