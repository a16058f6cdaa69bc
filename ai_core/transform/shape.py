"""Transforms that reshape nested upstream values: picking from a list or, unless a flag says
not, from an object; lists of nested models."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import polars as pl
from pydantic import BaseModel

from ai_core.transform.coerce import Stepwise, Transform
from ai_core.transform.scalars import WHITESPACE, as_text, flag_expr, flag_rule


def _name_pattern(name: str) -> str:
    """A regex of `name` alone between the whitespace `Text` trims, escaped as `re.escape` does
    for both Python's and Polars' engines (as `decode.key_pattern` is)."""
    space = f"[{WHITESPACE}]*"
    return f"{space}{re.escape(name.strip(WHITESPACE))}{space}"


class Pick(Transform):
    """From a list of objects, the `take` value of the first whose `where` equals `equals`.

    Flattens name/value lists into columns: `Pick("typeDesc", "Drive", "value")` reads the value
    of the `Drive` entry of `[{"typeDesc": "Drive", "value": "4WD"}, ...]`. Names are compared
    trimmed and with ASCII letters in any case, as servers differ in how they write the same
    name (`DRIVE`).
    """

    def __init__(self, where: str, equals: str, take: str) -> None:
        if where == take:
            raise ValueError(f"Pick compares and takes the same key {where!r}")
        self.where = where
        self.equals = equals
        self.take = take
        self._name = _name_pattern(equals)

    def python(self, value: Any) -> Any:
        if not isinstance(value, list):
            return None
        for element in value:
            if not isinstance(element, dict):
                continue
            name = as_text(element.get(self.where))
            if name is not None and re.fullmatch(self._name, name, re.IGNORECASE | re.ASCII):
                return element.get(self.take)
        return None

    def polars(self, expr: pl.Expr) -> pl.Expr:
        element = pl.element()
        # Case-insensitive for ASCII only (`-u`), as Python's `re.ASCII`: the two engines'
        # Unicode case tables differ.
        named = element.struct.field(self.where).str.contains(f"(?i-u)^{self._name}$")
        return expr.list.eval(element.filter(named).struct.field(self.take)).list.first()

    def decode_dtype(self, inner: pl.DataType | None) -> pl.DataType:
        if inner is None:
            raise TypeError(
                "Pick needs a coercer for the value it takes, e.g. Annotated[Text, Pick(...)]"
            )
        return pl.List(pl.Struct({self.where: pl.String(), self.take: inner}))

    def __repr__(self) -> str:
        return f"Pick({self.where}={self.equals!r} -> {self.take})"


class Unless(Transform):
    """An object's `take` value, or null where its `flag` is set (`Y`, `true`, ...; a missing or
    unreadable flag is not set): `Unless("closed", "open")` reads a day's opening time only for
    a day not marked closed, whatever times the closed day still carries."""

    def __init__(self, flag: str, take: str) -> None:
        if flag == take:
            raise ValueError(f"Unless tests and takes the same key {flag!r}")
        self.flag = flag
        self.take = take

    def python(self, value: Any) -> Any:
        if not isinstance(value, dict) or flag_rule(as_text(value.get(self.flag))):
            return None
        return value.get(self.take)

    def polars(self, expr: pl.Expr) -> pl.Expr:
        unset = ~flag_expr(expr.struct.field(self.flag)).fill_null(False)
        return pl.when(unset).then(expr.struct.field(self.take))

    def decode_dtype(self, inner: pl.DataType | None) -> pl.DataType:
        if inner is None:
            raise TypeError(
                "Unless needs a coercer for the value it takes, e.g. Annotated[Text, Unless(...)]"
            )
        return pl.Struct({self.flag: pl.String(), self.take: inner})

    def __repr__(self) -> str:
        return f"Unless({self.flag} -> {self.take})"


class NestedList(Stepwise):
    """A list of objects validated as `model`; anything that is not a list is null and elements
    that are not objects are dropped."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model

    def python(self, value: Any) -> list[Any] | None:
        if not isinstance(value, list):
            return None
        return [element for element in value if isinstance(element, dict)]

    def steps(self) -> tuple[Callable[[pl.Expr], pl.Expr], ...]:
        # plan imports this module, so the nested model's expressions are built on demand.
        from ai_core.transform.plan import list_stages

        return list_stages(self.model)

    def decode_dtype(self, inner: pl.DataType | None) -> pl.DataType:
        from ai_core.transform.plan import decode_struct

        return pl.List(decode_struct(self.model))

    def __repr__(self) -> str:
        return f"NestedList({self.model.__name__})"
