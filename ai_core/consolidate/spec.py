"""What a consolidated entity is made of, as declared in YAML: sources, merge policies, ids, links.

These models are the component's schema and the engine's input; they hold no data and check
only what can be checked without seeing a table (field types are checked by the engine).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

from pydantic import BaseModel, Field, GetJsonSchemaHandler, field_validator, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

PolicyName = Literal["priority", "most_recent", "max", "min", "union"]
"""How a field is chosen among a match group's rows.

- `priority`: the value of the highest-priority source that has one (priority 1 first; among
  equal priorities the fresher partition, then the source name).
- `most_recent`: the non-null value with the greatest `by` (default `_source_partition_date`);
  ties go to priority.
- `max` / `min`: over every non-null value.
- `union`: for list fields, the sorted distinct elements of every source's list; null only when
  no source had a list.
"""

IdPolicy = Literal["hash_all", "first_non_empty"]
"""`hash_all` encodes every key field; `first_non_empty` only the first alternative with a value,
for identifiers that are mutually exclusive (a vehicle is known by its dealer and that dealer's
order number, or by its VIN). An alternative is a field, or a list of fields that identify only
together and count as a value when every one of them has one."""

KeyAlternative = str | list[str]
"""An entry of `key_fields`: one field, or fields that identify together (`[dealer_code,
order_number]`), for `first_non_empty`."""


def key_alternatives(fields: Sequence[str | Sequence[str]]) -> list[tuple[str, ...]]:
    """Key fields as alternatives, each a tuple of the fields that identify together."""
    return [(f,) if isinstance(f, str) else tuple(f) for f in fields]


class KeyLookup(BaseModel):
    """Where a source that names its rows by other fields finds the entity's key fields: a table
    holding both, joined on the fields they share."""

    source: str = Field(description="Asset key of the table holding both, `a/b/c`.")
    by: list[str] = Field(
        description="Fields the source and the table share (YAML reads a bare `on` as true)."
    )
    take: list[str] = Field(description="Fields the table adds to the source's rows.")

    @model_validator(mode="after")
    def _not_empty(self) -> KeyLookup:
        if not self.by or not self.take:
            raise ValueError(f"key_from {self.source}: `by` and `take` each need a field")
        return self


class SourceGroup(BaseModel):
    """One source of an entity: a transformed asset, ranked by priority (1 is highest)."""

    name: str = Field(description="Short name used in provenance columns, e.g. `public`.")
    source: str = Field(description="Asset key of the transformed table, `a/b/c`.")
    priority: int = Field(description="1 wins over 2 when both have a value.")
    history_days: int = Field(
        default=0,
        description="When the source has no rows for the day, use its latest partition at most "
        "this many days older.",
    )
    rename: dict[str, str] = Field(
        default_factory=dict, description="Source column to entity field, where they differ."
    )
    exclude: list[str] = Field(
        default_factory=list,
        description="Source columns the entity does not take, e.g. a finer-grained code than "
        "the entity's key.",
    )
    key_from: KeyLookup | None = Field(
        default=None,
        description="A table the source's rows are joined to for key fields they lack (a code "
        "guide's model code to the model-year code the inventory files it under). A row "
        "the table does not know has no key and is counted as such.",
    )

    @model_validator(mode="after")
    def _in_range(self) -> SourceGroup:
        if self.priority < 1 or self.history_days < 0:
            raise ValueError(
                f"source group {self.name!r}: priority must be 1 or more and history_days 0 or "
                f"more (got {self.priority} and {self.history_days})"
            )
        return self


class FieldPolicy(BaseModel):
    """A policy override for one field; YAML may give the policy name alone."""

    policy: PolicyName
    by: str | None = Field(
        default=None, description="Recency column for `most_recent` (default: source partition)."
    )

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: object) -> object:
        return {"policy": value} if isinstance(value, str) else value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # `_from_name` takes a policy's name alone, so the schema dg and editors check by does too.
        return {
            "anyOf": [handler(core_schema), {"type": "string", "enum": list(get_args(PolicyName))}]
        }


class MergeSpec(BaseModel):
    """How rows of different sources are recognised as one entity and merged."""

    match_on: list[list[str]] = Field(
        description="Alternative composite keys; rows sharing any complete key are one entity."
    )
    default: PolicyName = "priority"
    fields: dict[str, FieldPolicy] = Field(default_factory=dict)

    @field_validator("match_on")
    @classmethod
    def _keys_not_empty(cls, value: list[list[str]]) -> list[list[str]]:
        if not value or any(not key for key in value):
            raise ValueError("match_on needs at least one key, and every key at least one field")
        return value

    def policy(self, field: str) -> FieldPolicy:
        return self.fields.get(field) or FieldPolicy(policy=self.default)


class ForeignKey(BaseModel):
    """A lookup into another entity of the same component and day, adding its id."""

    column: str = Field(description="Column that receives the target's id, e.g. `dealer_id`.")
    entity: str = Field(description="Name of the target entity in the same component.")
    by: dict[str, str] = Field(
        description="This entity's field to the target's field (YAML reads a bare `on` as true, "
        "hence `by`)."
    )

    @field_validator("by")
    @classmethod
    def _by_not_empty(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("a foreign key needs at least one field in `by`")
        return value


class SalesSpec(BaseModel):
    """A source of observed sales: its sale dates replace the dates inferred from the feed."""

    source: str = Field(description="Asset key of the transformed sales table, `a/b/c`.")
    date_field: str = Field(default="sale_date", description="The sales table's date column.")
    match_on: list[list[str]] = Field(
        description="Alternative keys shared by the entity and the sales rows, tried in order."
    )
    history_days: int = Field(
        default=7, description="Sales of this many earlier days are read too."
    )

    @field_validator("history_days")
    @classmethod
    def _days_not_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError(f"sales history_days must be 0 or more (got {value})")
        return value


class HistorySpec(BaseModel):
    """Day-over-day tracking: first and last seen, active today, sold date (inferred from the
    feed, or observed in a sales source)."""

    retain_sold_days: int = Field(
        default=7,
        description="A vehicle that left the feed stays in the partition (inactive) while today "
        "is at most this many days after its last_seen, so one that comes back keeps its "
        "first_seen. On the day it leaves it is always there.",
    )
    sales: SalesSpec | None = Field(
        default=None,
        description="Observed sales; with them `sold_date_source` says `observed` or `inferred`.",
    )

    @field_validator("retain_sold_days")
    @classmethod
    def _not_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError(f"retain_sold_days must be 0 or more (got {value})")
        return value


class EntitySpec(BaseModel):
    """One consolidated table: its sources, merge policies, id and links."""

    name: str
    description: str | None = None
    id_column: str = "id"
    key_fields: list[KeyAlternative]
    id_policy: IdPolicy = "hash_all"
    source_groups: list[SourceGroup]
    merge: MergeSpec
    foreign_keys: list[ForeignKey] = Field(default_factory=list)
    discrepancy_fields: list[str] = Field(default_factory=list)
    discrepancy_tolerance: dict[str, float] = Field(
        default_factory=dict,
        description="Numeric discrepancy fields whose sources may differ by up to this much.",
    )
    discrepancy_prefix: dict[str, int] = Field(
        default_factory=dict,
        description="Discrepancy fields compared on the first this many characters of their "
        "text (a ZIP+4 against its 5-digit ZIP).",
    )
    history: HistorySpec | None = None

    @model_validator(mode="after")
    def _consistent(self) -> EntitySpec:
        where = f"entity {self.name!r}"
        if not self.key_fields or any(not alt for alt in self.key_alternatives):
            raise ValueError(f"{where}: key_fields is empty; name the fields the id is made of")
        if self.id_policy == "hash_all" and any(len(a) > 1 for a in self.key_alternatives):
            raise ValueError(
                f"{where}: key_fields groups fields ({self.key_fields}), which only "
                "id_policy first_non_empty chooses among; list the fields flat for hash_all"
            )
        if len(set(self.key_columns)) != len(self.key_columns):
            raise ValueError(f"{where}: key_fields names a field twice ({self.key_fields})")
        if not self.source_groups:
            raise ValueError(f"{where}: source_groups is empty; name at least one source")
        names = [g.name for g in self.source_groups]
        if len(set(names)) != len(names):
            raise ValueError(f"{where}: source group names repeat ({names}); make them unique")
        for rule_name, rule_fields in (
            ("discrepancy_tolerance", self.discrepancy_tolerance),
            ("discrepancy_prefix", self.discrepancy_prefix),
        ):
            if unknown := sorted(set(rule_fields) - set(self.discrepancy_fields)):
                raise ValueError(
                    f"{where}: {rule_name} names {unknown}, not in discrepancy_fields "
                    f"({self.discrepancy_fields}); list them there too"
                )
        if both := sorted(set(self.discrepancy_tolerance) & set(self.discrepancy_prefix)):
            raise ValueError(f"{where}: {both} has both a tolerance and a prefix; keep one")
        if short := sorted(f for f, n in self.discrepancy_prefix.items() if n < 1):
            raise ValueError(f"{where}: discrepancy_prefix of {short} is under 1 character")
        for field, rule in self.merge.fields.items():
            if rule.by and rule.policy != "most_recent":
                raise ValueError(
                    f"{where}: field {field!r} sets `by` but its policy is not most_recent"
                )
        return self

    @property
    def key_alternatives(self) -> list[tuple[str, ...]]:
        """`key_fields` as alternatives, each a tuple of the fields that identify together."""
        return key_alternatives(self.key_fields)

    @property
    def key_columns(self) -> list[str]:
        """Every field of `key_fields`, in order."""
        return [field for alt in self.key_alternatives for field in alt]
