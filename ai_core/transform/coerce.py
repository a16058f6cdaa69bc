"""Coercers: how a raw JSON value becomes a typed column, written twice and kept equal.

A coercer pairs a rule (Python, on the value rendered as text: `ai_core.transform.scalars`,
`ai_core.transform.timestamps`, or a code location's own, such as its VIN) with its Polars
expression (on the decoded text column), and is a Pydantic annotation: in a field's
`Annotated` metadata it is the before-validator of the per-record path and, for the extractor,
the expression. The semantic types at the bottom (`Text`, `Money`, `Flag`...) are what entity
declarations use.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

import polars as pl
from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from ai_core.transform.scalars import (
    MONEY_DTYPE,
    as_text,
    date_from_parts,
    date_parts,
    date_rule,
    flag_expr,
    flag_rule,
    float_expr,
    float_rule,
    int_expr,
    int_rule,
    money_expr,
    money_rule,
    text_expr,
    text_rule,
)
from ai_core.transform.timestamps import timestamp_from_parts, timestamp_parts, timestamp_rule


class Transform:
    """One step of a field's extraction, with a Python and an equivalent Polars implementation.

    In a field's `Annotated` metadata, later transforms run first (Pydantic's order for before
    validators): `Annotated[Text, Pick(...)]` picks, then trims.
    """

    def python(self, value: Any) -> Any:
        raise NotImplementedError

    def polars(self, expr: pl.Expr) -> pl.Expr:
        raise NotImplementedError

    def decode_dtype(self, inner: pl.DataType | None) -> pl.DataType:
        """The dtype this step reads from the page, given what the next step reads."""
        raise NotImplementedError

    def steps(self) -> tuple[Callable[[pl.Expr], pl.Expr], ...]:
        """`polars` split where an intermediate result is used several times: the extractor
        stores each step's result as a working column, since Polars' common-subexpression
        elimination misses most reuse inside one expression and would recompute it."""
        return (self.polars,)

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(self.python, handler(source))


class Stepwise(Transform):
    """A transform given as its steps; its expression is the steps applied in order."""

    def polars(self, expr: pl.Expr) -> pl.Expr:
        for step in self.steps():
            expr = step(expr)
        return expr

    def steps(self) -> tuple[Callable[[pl.Expr], pl.Expr], ...]:
        raise NotImplementedError


class Coercer(Stepwise):
    """A scalar rule over decoded text."""

    def __init__(
        self,
        name: str,
        rule: Callable[[str | None], Any],
        expr: Callable[[pl.Expr], pl.Expr] | tuple[Callable[[pl.Expr], pl.Expr], ...],
        dtype: pl.DataType,
    ) -> None:
        self.name = name
        self.rule = rule
        self._steps = expr if isinstance(expr, tuple) else (expr,)
        self.dtype = dtype

    def python(self, value: Any) -> Any:
        return self.rule(as_text(value))

    def steps(self) -> tuple[Callable[[pl.Expr], pl.Expr], ...]:
        return self._steps

    def decode_dtype(self, inner: pl.DataType | None) -> pl.DataType:
        return pl.String()

    def __repr__(self) -> str:
        return f"Coercer({self.name})"


class TextList(Transform):
    """A JSON array of scalars as a list of trimmed text, nulls and blanks dropped.

    With `as_set`, the list is sorted and de-duplicated, for lists whose order means nothing (so
    two copies of a record that list the same codes in another order hash the same).
    """

    def __init__(self, *, as_set: bool = False) -> None:
        self.as_set = as_set

    def python(self, value: Any) -> list[str] | None:
        if not isinstance(value, list):
            return None
        items = [t for t in (text_rule(as_text(v)) for v in value) if t is not None]
        return sorted(set(items)) if self.as_set else items

    def polars(self, expr: pl.Expr) -> pl.Expr:
        # One `list.eval`, where the work is vectorised (`list.sort()` and `list.drop_nulls()` run
        # list by list). Sorting first lets `unique` keep the first of each run. Byte order of
        # UTF-8 is code point order, as Python's `sorted`.
        items = text_expr(pl.element()).drop_nulls()
        return expr.list.eval(items.sort().unique(maintain_order=True) if self.as_set else items)

    def decode_dtype(self, inner: pl.DataType | None) -> pl.DataType:
        return pl.List(pl.String())

    def __repr__(self) -> str:
        return f"TextList(as_set={self.as_set})"


class Matches:
    """A constraint: a value (after coercion) that does not match `pattern` rejects the record.

    Null passes; use it on keys (`Annotated[Text, Matches(r"^[A-HJ-NPR-Z0-9]{17}$")]`). Python
    searches with `re.search` and Polars with `str.contains`; anchor the pattern.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def check(self, value: Any) -> Any:
        if value is not None and re.search(self.pattern, value) is None:
            raise ValueError(f"does not match {self.pattern}")
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __repr__(self) -> str:
        return f"Matches({self.pattern!r})"


TEXT = Coercer("text", text_rule, text_expr, pl.String())
INT = Coercer("int", int_rule, int_expr, pl.Int64())
FLOAT = Coercer("float", float_rule, float_expr, pl.Float64())
MONEY = Coercer("money", money_rule, money_expr, MONEY_DTYPE)
FLAG = Coercer("flag", flag_rule, flag_expr, pl.Boolean())
DATE = Coercer("date", date_rule, (date_parts, date_from_parts), pl.Date())
TIMESTAMP = Coercer(
    "timestamp", timestamp_rule, (timestamp_parts, timestamp_from_parts), pl.Datetime("us", "UTC")
)

Text = Annotated[str | None, TEXT]
Int = Annotated[int | None, INT]
Float = Annotated[float | None, FLOAT]
Money = Annotated[Decimal | None, MONEY]
Flag = Annotated[bool | None, FLAG]
Date = Annotated[dt.date | None, DATE]
Timestamp = Annotated[dt.datetime | None, TIMESTAMP]
Texts = Annotated[list[str] | None, TextList()]
TextSet = Annotated[list[str] | None, TextList(as_set=True)]
