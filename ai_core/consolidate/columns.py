"""The descriptions of a consolidated table's columns: the engine's own, and its sources'.

Entity fields keep the description their transformed source declares (read from the source
table's Iceberg field docs, the first source in priority order that has one); the id, link,
history and provenance columns are described here, once.
"""

from __future__ import annotations

from collections.abc import Mapping

from ai_core.consolidate.history import ACTIVE, FIRST_SEEN, LAST_SEEN, RELISTED, SOLD_DATE
from ai_core.consolidate.policies import GAP_FILLED, SOURCES, WINNER
from ai_core.consolidate.sales import SOLD_DATE_SOURCE
from ai_core.consolidate.sources import SOURCE_AGE, SOURCE_DATE
from ai_core.consolidate.spec import EntitySpec

ENGINE_DOCS = {
    "_partition_date": "The day the row belongs to; the table's partition.",
    WINNER: "The source whose row won the merge: it gave every field the priority policy takes.",
    SOURCES: "The sources that had the entity on the day, in precedence order.",
    SOURCE_DATE: "The partition of the winning source the row was read from.",
    SOURCE_AGE: "Days between the row's day and that source partition: 0 unless gap-filled.",
    GAP_FILLED: "True when a source had no rows for the day and one of its earlier days was used.",
    FIRST_SEEN: "The first day any source listed the entity.",
    LAST_SEEN: "The latest day any source listed the entity; before today once it left the feed.",
    ACTIVE: "True when a source lists the entity today; false for one kept after it left.",
    SOLD_DATE: "The day the entity was sold: observed in a sales source, else the last day it "
    "was listed; null while it is listed, and for one that left only because no source could "
    "see its part any more (a dealer's table gone for good).",
    RELISTED: "True when the entity is listed again today after it had left the feed.",
    SOLD_DATE_SOURCE: "`observed` when the sold date comes from a sales source, `inferred` when "
    "it is the last day the entity was listed; null when the sold date is.",
}


def column_docs(entity: EntitySpec, source_docs: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """Every column's description; `source_docs` holds each source asset key's field docs."""
    docs: dict[str, str] = {}
    for group in sorted(entity.source_groups, key=lambda g: g.priority):
        renamed = {
            group.rename.get(name, name): doc
            for name, doc in source_docs.get(group.source, {}).items()
        }
        for name, doc in renamed.items():
            if not name.startswith("_") and name not in group.exclude:
                docs.setdefault(name, doc)
    how = "the first alternative with a value" if entity.id_policy == "first_non_empty" else "all"
    key = ", ".join(
        alt[0] if len(alt) == 1 else f"[{', '.join(alt)}]" for alt in entity.key_alternatives
    )
    docs[entity.id_column] = (
        f"Id of the {entity.name} entity: the SHA-256 of its key ({key}; "
        f"{how}), kept from the previous day when a match key is shared; stable across runs."
    )
    for fk in entity.foreign_keys:
        by = ", ".join(f"{mine} = {theirs}" for mine, theirs in fk.by.items())
        docs[fk.column] = f"Id of the matching {fk.entity} row of the same day ({by})."
    return {**docs, **ENGINE_DOCS}
