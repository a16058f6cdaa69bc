"""Reading an entity class once: what each column reads, how it is coerced, what a page decodes to.

The plan is the single interpretation of a declaration that both the vectorised extractor and the
drift detector use. Errors here are errors in a declaration and name the class and field.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl
from pydantic import AliasPath, BaseModel
from pydantic.fields import FieldInfo

from ai_core.transform.coerce import Matches, Transform
from ai_core.transform.entity import (
    ITEM,
    PARENT,
    Derived,
    Entity,
    Fallback,
    Records,
    derived_columns,
    fallback_columns,
)
from ai_core.transform.schema import DType, polars_dtype


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """One column: where it reads (records level and path), its transforms, its type."""

    name: str
    dtype: pl.DataType
    level: int
    """1 for the records of `Records(...)`, 2 for those of `.then(...)`; 0 when derived."""
    path: tuple[str, ...]
    transforms: tuple[Transform, ...]
    """Outermost first: the order in which they apply to the value read."""
    decode: pl.DataType | None
    derived: Derived | None
    pattern: str | None
    fallback: Fallback | None = None
    """Where the record has no value: the rule the column takes instead."""


@dataclass(frozen=True, slots=True)
class EntityPlan:
    entity: type[Entity]
    columns: tuple[ColumnPlan, ...]
    key: tuple[str, ...]
    records: Records
    totals: tuple[tuple[str, ...], ...]
    page_dtype: pl.Struct
    """What a page decodes to: only the keys the declaration reads, every scalar as text."""

    @property
    def name(self) -> str:
        return self.entity.__name__

    @property
    def reads_records(self) -> bool:
        """Whether a column reads the records; when none does, they are only counted."""
        return reads_records(self.columns)

    @property
    def hashed(self) -> tuple[str, ...]:
        """The non-key columns, whose hash is the record's snapshot hash."""
        return tuple(c.name for c in self.columns if c.name not in self.key)


def _transforms(info: FieldInfo) -> list[Transform]:
    """Transforms in the order they apply: Pydantic runs later annotations first."""
    return [m for m in reversed(info.metadata) if isinstance(m, Transform)]


def _pattern(info: FieldInfo) -> str | None:
    patterns = [m.pattern for m in info.metadata if isinstance(m, Matches)]
    return patterns[-1] if patterns else None


def alias_path(model: type[BaseModel], name: str, info: FieldInfo) -> tuple[str, ...]:
    alias = info.validation_alias
    if alias is None:
        return (info.alias or name,)
    if isinstance(alias, str):
        return (alias,)
    if isinstance(alias, AliasPath) and all(isinstance(p, str) for p in alias.path):
        return tuple(str(p) for p in alias.path)
    raise TypeError(
        f"{model.__name__}.{name}: alias {alias!r} is not supported; give a key or a path of "
        "keys (list positions and alias choices have no vectorised equivalent)"
    )


def _resolve(
    model: type[BaseModel], name: str, path: tuple[str, ...], depth: int
) -> tuple[int, tuple[str, ...]]:
    """The records level a path reads from and the path relative to that level's record."""
    level = depth
    while level > 1 and path[:1] == (PARENT,):
        level, path = level - 1, path[1:]
    if level > 1:
        if path[:1] != (ITEM,):
            raise TypeError(
                f"{model.__name__}.{name}: records below the first level are seen as "
                f'{{"{ITEM}": record, "{PARENT}": enclosing}}; its path {path!r} must start '
                f'with "{ITEM}" or "{PARENT}"'
            )
        path = path[1:]
    return level, path


def column_plans(model: type[BaseModel], depth: int = 1) -> tuple[ColumnPlan, ...]:
    """Plans of a model's columns; `depth` is the records level its records sit at."""
    plans: list[ColumnPlan] = []
    derived_by_name = dict(derived_columns(model))
    fallback_by_name = dict(fallback_columns(model))
    for name, info in model.model_fields.items():
        where = f"{model.__name__}.{name}"
        dtype = polars_dtype(info.annotation, where)
        derived = derived_by_name.get(name)
        fallback = fallback_by_name.get(name)
        if fallback is not None and (derived is not None or _pattern(info) is not None):
            raise TypeError(
                f"{where}: a Fallback is for a read column without a pattern to match (a derived "
                "column computes every value; a pattern would check the value read alone)"
            )
        if derived is not None:
            plans.append(ColumnPlan(name, dtype, 0, (), (), None, derived, _pattern(info)))
            continue
        transforms = _transforms(info)
        if not transforms:
            raise TypeError(
                f"{where} says nothing about how to read it: give it a semantic type "
                "(Text, Int, Money, Flag, Date, Texts...) or a transform"
            )
        decode: pl.DataType | None = None
        for transform in reversed(transforms):
            decode = transform.decode_dtype(decode)
        level, path = _resolve(model, name, alias_path(model, name, info), depth)
        plans.append(
            ColumnPlan(
                name=name,
                dtype=dtype,
                level=level,
                path=path,
                transforms=tuple(transforms),
                decode=decode,
                derived=None,
                pattern=_pattern(info),
                fallback=fallback,
            )
        )
    return tuple(plans)


def merge_dtypes(a: DType | None, b: DType, where: str) -> DType:
    """One decode dtype for a value read by several columns."""
    if a is None or a == b:
        return b
    if isinstance(a, pl.Struct) and isinstance(b, pl.Struct):
        fields: dict[str, DType] = {f.name: f.dtype for f in a.fields}
        for f in b.fields:
            fields[f.name] = merge_dtypes(fields.get(f.name), f.dtype, f"{where}.{f.name}")
        return pl.Struct(fields)
    if isinstance(a, pl.List) and isinstance(b, pl.List):
        return pl.List(merge_dtypes(a.inner, b.inner, f"{where}[]"))
    raise TypeError(f"{where} is read both as {a} and as {b}; a value has one shape")


def _nest(path: tuple[str, ...], leaf: DType) -> DType:
    for key in reversed(path):
        leaf = pl.Struct({key: leaf})
    return leaf


def reads_records(plans: Sequence[ColumnPlan]) -> bool:
    """Whether any of `plans` reads a record (derived columns read none)."""
    return any(p.level for p in plans)


def record_dtype(plans: tuple[ColumnPlan, ...], level: int, where: str) -> DType | None:
    """What a record of `level` decodes to, from the columns reading at that level."""
    dtype: DType | None = None
    for plan in plans:
        if plan.level == level and plan.decode is not None:
            dtype = merge_dtypes(dtype, _nest(plan.path, plan.decode), f"{where}.{plan.name}")
    return dtype


def decode_struct(model: type[BaseModel]) -> pl.Struct:
    """What an object validated as a nested `model` decodes to."""
    plans = column_plans(model)
    if any(p.derived or p.fallback for p in plans):
        raise TypeError(f"{model.__name__}: nested models cannot have derived or fallback columns")
    dtype = record_dtype(plans, 1, model.__name__)
    if not isinstance(dtype, pl.Struct):
        raise TypeError(f"{model.__name__}: a nested model reads keys of an object")
    return dtype


def navigate(expr: pl.Expr, path: tuple[str, ...]) -> pl.Expr:
    for key in path:
        expr = expr.struct.field(key)
    return expr


def column_stages(
    plans: Sequence[ColumnPlan],
    source: Callable[[int], pl.Expr],
    ref: Callable[[str], pl.Expr] = pl.col,
) -> list[list[pl.Expr]]:
    """Each column's value, read from its records level and put through its transforms to its
    dtype, as successive `with_columns` stages.

    Each stage stores one transform's result in a working column `__<name>`, so a transform
    that uses its input several times reads a column instead of recomputing the steps before it
    (Polars' common-subexpression elimination misses most such reuse: the composed form was
    slower, see `benchmarks/compiler.py`). `ref` names a working column: a frame's column by
    default, a field of the list element for the elements of a list.
    """
    stages: list[list[pl.Expr]] = [
        [navigate(source(p.level), p.path).alias(f"__{p.name}") for p in plans]
    ]
    steps = {p.name: [s for t in p.transforms for s in t.steps()] for p in plans}
    depth = max((len(s) for s in steps.values()), default=0)
    for index in range(depth):
        stages.append(
            [
                steps[p.name][index](ref(f"__{p.name}")).alias(f"__{p.name}")
                for p in plans
                if index < len(steps[p.name])
            ]
        )
    stages.append([ref(f"__{p.name}").cast(p.dtype).alias(p.name) for p in plans])
    return stages


def list_stages(model: type[BaseModel]) -> tuple[Callable[[pl.Expr], pl.Expr], ...]:
    """A list of objects validated as `model`, as steps over the list, staged like a frame's
    columns: the elements' working values are fields of one struct per element, each stage a
    `list.eval` that adds the next step's fields, so no step is computed twice."""
    plans = column_plans(model)
    if any(p.derived or p.fallback for p in plans):
        raise TypeError(f"{model.__name__}: nested models cannot have derived or fallback columns")
    element = pl.element()
    first, *middle, last = column_stages(
        plans, lambda level: element, ref=lambda name: element.struct.field(name)
    )

    def start(expr: pl.Expr) -> pl.Expr:
        # `list.drop_nulls` runs list by list on lists of structs; inside `list.eval` it does not.
        return expr.list.eval(element.drop_nulls()).list.eval(pl.struct(*first))

    def stage(fields: list[pl.Expr]) -> Callable[[pl.Expr], pl.Expr]:
        return lambda expr: expr.list.eval(element.struct.with_fields(fields))

    return (start, *(stage(fields) for fields in middle), lambda e: e.list.eval(pl.struct(*last)))


@functools.cache
def entity_plan(entity: type[Entity]) -> EntityPlan:
    """The plan of a source entity class, built once per class."""
    if entity.records is None:
        raise TypeError(
            f"{entity.__name__} does not say where its records are: set `records = Records(...)` "
            "on the source class"
        )
    missing = [k for k in entity.entity_key if k not in entity.model_fields]
    if not entity.entity_key or missing:
        raise TypeError(f"{entity.__name__}: entity_key {entity.entity_key!r} names no columns")
    if entity.newest_by is not None and entity.newest_by not in entity.model_fields:
        raise TypeError(f"{entity.__name__}: newest_by {entity.newest_by!r} names no column")
    depth = len(entity.records.levels)
    plans = column_plans(entity, depth)
    if entity.newest_by is not None:
        [newest] = [c.dtype for c in plans if c.name == entity.newest_by]
        # Text would sort as text: `2026-11-20T09:00+05:00` before `2026-11-20T08:00Z`.
        if not (isinstance(newest, pl.Datetime | pl.Date) or newest.is_numeric()):
            raise TypeError(
                f"{entity.__name__}: newest_by {entity.newest_by!r} is {newest}; it must be a "
                "date, a timestamp or a number, which sort by what they mean"
            )
    # Build the page shape from the innermost records outwards.
    inner: DType | None = None
    for level in range(depth, 0, -1):
        dtype = record_dtype(plans, level, entity.__name__)
        if dtype is None and level == depth and not reads_records(plans):
            # No column reads a record (each is worked out from the page's provenance), so every
            # element of the records' list is one record, whatever it holds.
            if entity.reports_unknown_keys:
                raise TypeError(
                    f"{entity.__name__} reads nothing of its records, so every key in them would "
                    "be reported unknown: set `reports_unknown_keys = False`"
                )
            dtype = pl.Struct([])
        if inner is not None:
            nested = _nest(entity.records.levels[level], pl.List(inner))
            dtype = merge_dtypes(dtype, nested, f"{entity.__name__} records level {level + 1}")
        if dtype is None:
            raise TypeError(f"{entity.__name__}: no column reads the records at level {level}")
        inner = dtype
    assert inner is not None
    page = _nest(entity.records.levels[0], pl.List(inner))
    for path in entity.totals:
        page = merge_dtypes(page, _nest(path, pl.String()), f"{entity.__name__} totals")
    assert isinstance(page, pl.Struct)
    return EntityPlan(
        entity=entity,
        columns=plans,
        key=entity.entity_key,
        records=entity.records,
        totals=entity.totals,
        page_dtype=page,
    )
