"""One page shape for several entities of a raw table, and the narrower one their sub-records
read.

Entities decode a page once, as a struct holding every entity's page shape. Records of one
level read that struct as it is: exploding them makes no copies. Exploding sub-records (a
vehicle's options) repeats their record's values on each of them, so the entities with
sub-records read the pages narrowed to their own fields first.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from ai_core.transform.extract import Extractor
from ai_core.transform.plan import merge_dtypes
from ai_core.transform.schema import DType

Path = tuple[str, ...]


def shared_page_dtype(extractors: Sequence[Extractor]) -> pl.Struct:
    """One page struct holding every extractor's page shape; an error names the entities that
    read one key as two different shapes."""
    dtype: DType | None = None
    names: list[str] = []
    for extractor in extractors:
        name = extractor.plan.entity.__name__
        try:
            dtype = merge_dtypes(dtype, extractor.plan.page_dtype, "page")
        except TypeError as exc:
            raise ValueError(
                f"{name} cannot share a decode with {', '.join(names)}: {exc}; "
                "extract it from the raw table on its own"
            ) from exc
        names.append(name)
    if not isinstance(dtype, pl.Struct):
        raise ValueError("a transformed day needs at least one entity")
    return dtype


def has_sub_records(extractor: Extractor) -> bool:
    return len(extractor.plan.records.levels) > 1


def narrowing(source: pl.Struct, extractors: Sequence[Extractor]) -> pl.Expr | None:
    """An expression of the first column, pages decoded as `source`, narrowed to what the
    extractors with sub-records read; None when none has."""
    deep = [e for e in extractors if has_sub_records(e)]
    if not deep:
        return None
    paths = {tuple(k for level in e.plan.records.levels for k in level) for e in deep}
    # Objects on the way to the innermost records: null or empty, they hold no records.
    above = {p[:i] for p in paths for i in range(len(p))} - paths
    return projected(pl.first(), source, shared_page_dtype(deep), frozenset(above))


def projected(
    expr: pl.Expr,
    source: DType,
    target: DType,
    above: frozenset[Path] = frozenset(),
    at: Path = (),
) -> pl.Expr:
    """`expr`, decoded as `source`, narrowed to `target`, a shape it holds. A null object stays
    null, except on the paths `above` the records, where an object of nulls reads the same."""
    if source == target:
        return expr
    if isinstance(source, pl.Struct) and isinstance(target, pl.Struct):
        fields = {f.name: f.dtype for f in source.fields}
        narrowed = pl.struct(
            projected(
                expr.struct.field(f.name), fields[f.name], f.dtype, above, (*at, f.name)
            ).alias(f.name)
            for f in target.fields
        )
        # Keeping nulls doubles the cost, so it is left out where it changes nothing.
        return narrowed if at in above else pl.when(expr.is_null()).then(None).otherwise(narrowed)
    if isinstance(source, pl.List) and isinstance(target, pl.List):
        return expr.list.eval(projected(pl.element(), source.inner, target.inner, above, at))
    raise TypeError(f"{source} does not hold {target}")


__all__ = ["has_sub_records", "narrowing", "projected", "shared_page_dtype"]
