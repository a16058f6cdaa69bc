"""The consolidated tier: one merged, identified, linked table per entity and day.

`consolidate` is the engine (pure Polars); `ConsolidatedComponent` wires it into Dagster.
"""

from ai_core.consolidate.checks import DiscrepancyFacts, IntegrityFacts, discrepancies, integrity
from ai_core.consolidate.component import ConsolidatedComponent
from ai_core.consolidate.engine import (
    ConsolidationResult,
    NoSourceDataError,
    consolidate,
    entity_namespace,
)
from ai_core.consolidate.foreign_keys import LookupTable
from ai_core.consolidate.ids import canonical_key, entity_id
from ai_core.consolidate.sources import SourceInput, choose_partition
from ai_core.consolidate.spec import (
    EntitySpec,
    FieldPolicy,
    ForeignKey,
    HistorySpec,
    MergeSpec,
    SourceGroup,
)

__all__ = [
    "ConsolidatedComponent",
    "ConsolidationResult",
    "DiscrepancyFacts",
    "EntitySpec",
    "FieldPolicy",
    "ForeignKey",
    "HistorySpec",
    "IntegrityFacts",
    "LookupTable",
    "MergeSpec",
    "NoSourceDataError",
    "SourceGroup",
    "SourceInput",
    "canonical_key",
    "choose_partition",
    "consolidate",
    "discrepancies",
    "entity_id",
    "entity_namespace",
    "integrity",
]
