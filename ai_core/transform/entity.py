"""The base of entity declarations: where records sit in a page, their key, and derived columns.

A canonical entity class names its columns the Python way and gives each a semantic type from
`ai_core.transform.coerce` (`Text`, `Money`, `Flag`...). A source subclass says where each column
comes from: `source_names(...)` maps names and nested paths (everything else is the camelCase of
the Python name), `Records` says where the records are, and fields that need more than a rename
are re-annotated with a transform (`Pick`), computed from other columns (`Derived`), or given a
rule for records that leave them null (`Fallback`). The class
then validates one upstream record with plain Pydantic (`model_validate(record,
context=provenance)`), and `compile_extractor` turns the same declaration into Polars
expressions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self, TypeVar

import polars as pl
from pydantic import (
    AliasGenerator,
    AliasPath,
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    ValidationInfo,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import core_schema

ITEM = "item"
"""In records below the first level, the path segment naming the record itself."""
PARENT = "parent"
"""In records below the first level, the path segment naming the enclosing record."""


@dataclass(frozen=True, slots=True)
class Records:
    """Where an entity's records are: the path from the page to a list, then to nested lists.

    `Records("result", "data", "vehicles")` makes every vehicle a record. `.then("options")` makes
    every option of every vehicle a record instead; such a record is seen as
    `{"item": option, "parent": vehicle}`, so its fields read `("item",)` or
    `("parent", "modelYearCode")`.
    """

    levels: tuple[tuple[str, ...], ...]

    def __init__(self, *path: str) -> None:
        if not path:
            raise ValueError("Records needs the path from the page to the list of records")
        object.__setattr__(self, "levels", (tuple(path),))

    def then(self, *path: str) -> Records:
        """Records one list deeper: each element of `path` inside every current record."""
        if not path:
            raise ValueError("Records.then needs the path from a record to its nested list")
        deeper = Records(*self.levels[0])
        object.__setattr__(deeper, "levels", (*self.levels, tuple(path)))
        return deeper


class Rule:
    """A value worked out rather than read, written twice and kept equal.

    `compute(record, provenance)` is the per-record rule (the record is the validated model,
    provenance the raw row's `_sub_resource`, `_page_number`, `_partition_date`, `_fetched_at`,
    `_request_url`); `expr` is the same rule as a Polars expression over those columns.
    """

    def __init__(
        self, compute: Callable[[Any, Mapping[str, Any]], Any], expr: pl.Expr, *, doc: str = ""
    ) -> None:
        self.compute = compute
        self.expr = expr
        self.doc = doc

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.doc or self.expr})"


class Derived(Rule):
    """A column computed from the record's other columns and its provenance, not read. Derived
    columns are computed in declaration order, so one may use another declared before it."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # Whatever the upstream sends under this name is ignored: the column is computed once
        # the record is validated.
        return core_schema.no_info_before_validator_function(lambda value: None, handler(source))


class Fallback(Rule):
    """What a column read from the record takes where the record leaves it null; it must give
    the column's type, which the per-record path does not check again."""


def constant(value: str | int | float | bool | None, doc: str = "") -> Derived:
    """A column with the same value in every record (`None`: a column this source lacks)."""
    return Derived(lambda record, provenance: value, pl.lit(value), doc=doc or f"always {value!r}")


ABSENT = constant(None, "not published by this source")
"""For canonical columns a source does not have: always null, and nothing is read for them."""


def source_names(**paths: str | tuple[str, ...]) -> ConfigDict:
    """A source's `model_config`: upstream names are the camelCase of the Python names, except
    those given here, as a key (`dealer_zip="dealerZipCode"`) or a nested path
    (`msrp=("price", "msrp")`)."""

    def alias(name: str) -> str | AliasPath:
        path = paths.get(name)
        if path is None:
            return to_camel(name)
        if isinstance(path, str):
            return path
        return AliasPath(*path)

    return ConfigDict(alias_generator=AliasGenerator(validation_alias=alias), extra="ignore")


class Entity(BaseModel):
    """An entity row. Subclasses set the class variables below and declare the columns."""

    # A docstring under a field is its column's description (in Iceberg and in Dagster).
    model_config = ConfigDict(extra="ignore", use_attribute_docstrings=True)

    entity_key: ClassVar[tuple[str, ...]] = ()
    """Columns that identify a record; a record without any of them is rejected."""
    records: ClassVar[Records | None] = None
    """Where the records are in a page (source classes only)."""
    totals: ClassVar[tuple[tuple[str, ...], ...]] = ()
    """Paths in a page to the record count the upstream reports, the first that reads as a
    number wins."""
    ignored_keys: ClassVar[tuple[str, ...]] = ()
    """Upstream keys known and deliberately not read (`result.errors`, `a.list[].key`)."""
    discrepancies: ClassVar[Mapping[str, pl.Expr]] = {}
    """Named boolean expressions over the extracted columns; true rows are reported."""
    reports_unknown_keys: ClassVar[bool] = True
    """False for entities that read a few keys of records another entity covers fully."""
    repeated_records: ClassVar[bool] = False
    """True for entities whose records repeat through the day (the dealer of every vehicle):
    identical records are then typed once per slice of pages, and the copies only counted."""
    newest_by: ClassVar[str | None] = None
    """A column saying when the upstream read the record (DealerConnect's `fetched_at`), a
    date, a timestamp or a number: of a key's versions the newest by it is kept, ahead of the
    rule's page order (see `keys`). The other versions are still conflicts and the key still
    one record: a read time cannot tell a unit read twice from two units sharing a key, so
    neither hides the other."""
    keyless_records_lost: ClassVar[bool] = True
    """False for entities read off fields of another entity's records (the dealer a vehicle
    names): a record whose only fault is a missing key field (a vehicle that names no dealer)
    names nothing, so it is counted by the `discrepancies` check (`record without a key`)
    rather than rejected as data lost; unless such records are most of the day's, when the key's
    field is more likely gone upstream."""

    @model_validator(mode="after")
    def _derive_and_require_key(self, info: ValidationInfo) -> Self:
        provenance: Mapping[str, Any] = info.context or {}
        for name, fallback in fallback_columns(type(self)):
            if getattr(self, name) is None:
                setattr(self, name, fallback.compute(self, provenance))
        for name, derived in derived_columns(type(self)):
            # Plain attribute assignment: the model does not validate on assignment.
            setattr(self, name, derived.compute(self, provenance))
        missing = [name for name in self.entity_key if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{type(self).__name__} record has no {', '.join(missing)}")
        return self


R = TypeVar("R", bound=Rule)


def _marked(model: type[BaseModel], kind: type[R]) -> tuple[tuple[str, R], ...]:
    """The fields of a model whose annotation carries a `kind` rule, in declaration order."""
    found: list[tuple[str, R]] = []
    for name, info in model.model_fields.items():
        marks = [m for m in info.metadata if isinstance(m, kind)]
        if marks:
            found.append((name, marks[-1]))
    return tuple(found)


@functools.cache
def fallback_columns(model: type[BaseModel]) -> tuple[tuple[str, Fallback], ...]:
    """The read columns of a model that fall back on a rule where the record has no value."""
    return _marked(model, Fallback)


@functools.cache
def derived_columns(model: type[BaseModel]) -> tuple[tuple[str, Derived], ...]:
    """The derived columns of a model, in declaration order."""
    return _marked(model, Derived)
