"""Transforms that derive text from what is read: a slice, upper case, a regex group, the one
text a list matches (however often it is listed), the parts of an object joined. Each trims its
input the way `Text` does first, so `Annotated[Text, Slice(9, 6)]` reads, trims, slices and trims
again (trimming is idempotent).

Patterns should be anchored with `^…$` where a whole value is meant: Python searches with
`re.search` and Polars with `str.contains`/`str.extract`, which agree on ASCII patterns over
trimmed text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import polars as pl

from ai_core.transform.coerce import Stepwise, Transform
from ai_core.transform.scalars import as_text, ascii_upper, ascii_upper_expr, text_expr, text_rule


class Slice(Stepwise):
    """`length` characters from `start` (0-based); null unless the text is long enough."""

    def __init__(self, start: int, length: int) -> None:
        self.start = start
        self.length = length

    def python(self, value: Any) -> str | None:
        text = text_rule(as_text(value))
        if text is None:
            return None
        part = text[self.start : self.start + self.length]
        return part if len(part) == self.length else None

    def steps(self) -> tuple[Callable[[pl.Expr], pl.Expr], ...]:
        # The part is tested and kept: a step of its own, so it is computed once.
        return (
            lambda expr: text_expr(expr).str.slice(self.start, self.length),
            lambda part: pl.when(part.str.len_chars() == self.length).then(part),
        )

    def decode_dtype(self, inner: pl.DataType | None) -> pl.DataType:
        return pl.String()

    def __repr__(self) -> str:
        return f"Slice({self.start}, {self.length})"


class Upper(Stepwise):
    """The text with its ASCII letters in upper case, for identifiers that are case-insensitive
    (a VIN); other characters stay as sent, so a pattern after it still refuses them."""

    def python(self, value: Any) -> str | None:
        text = text_rule(as_text(value))
        return ascii_upper(text) if text is not None else None

    def steps(self) -> tuple[Callable[[pl.Expr], pl.Expr], ...]:
        return (lambda expr: ascii_upper_expr(text_expr(expr)),)

    def decode_dtype(self, inner: pl.DataType | None) -> pl.DataType:
        return pl.String()

    def __repr__(self) -> str:
        return "Upper()"


class RegexGroup(Stepwise):
    """Group `group` of the first match of `pattern`; null without a match or when empty."""

    def __init__(self, pattern: str, group: int = 1) -> None:
        self.pattern = pattern
        self.group = group

    def python(self, value: Any) -> str | None:
        text = text_rule(as_text(value))
        match = re.search(self.pattern, text) if text is not None else None
        return (match.group(self.group) or None) if match else None

    def steps(self) -> tuple[Callable[[pl.Expr], pl.Expr], ...]:
        return (
            lambda expr: text_expr(expr).str.extract(self.pattern, self.group),
            lambda found: pl.when(found != "").then(found),
        )

    def decode_dtype(self, inner: pl.DataType | None) -> pl.DataType:
        return pl.String()

    def __repr__(self) -> str:
        return f"RegexGroup({self.pattern!r}, {self.group})"


class OnlyMatch(Transform):
    """From a list of scalars, the one text matching `pattern`, however often it is listed; null
    if none matches or several different ones do."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def python(self, value: Any) -> str | None:
        if not isinstance(value, list):
            return None
        texts = (text_rule(as_text(v)) for v in value)
        found = {t for t in texts if t is not None and re.search(self.pattern, t)}
        return found.pop() if len(found) == 1 else None

    def polars(self, expr: pl.Expr) -> pl.Expr:
        # `list.filter` after one `list.eval` keeps the element work vectorised; filtering
        # inside `eval` on an expression used twice is several times slower.
        texts = expr.list.eval(text_expr(pl.element()))
        found = texts.list.filter(pl.element().str.contains(self.pattern))
        return found.list.eval(pl.element().filter(pl.element().n_unique() == 1)).list.first()

    def decode_dtype(self, inner: pl.DataType | None) -> pl.DataType:
        return pl.List(pl.String())

    def __repr__(self) -> str:
        return f"OnlyMatch({self.pattern!r})"


class Join(Transform):
    """The trimmed text of `keys` of an object, blanks skipped, joined by `separator`; null when
    all are blank (`{"time": "9:00", "ampm": "AM"}` -> `9:00 AM`)."""

    def __init__(self, *keys: str, separator: str = " ") -> None:
        if not keys:
            raise ValueError("Join needs the keys to join")
        self.keys = keys
        self.separator = separator

    def python(self, value: Any) -> str | None:
        if not isinstance(value, dict):
            return None
        parts = [t for k in self.keys if (t := text_rule(as_text(value.get(k)))) is not None]
        return self.separator.join(parts) or None

    def polars(self, expr: pl.Expr) -> pl.Expr:
        joined = pl.concat_str(
            [text_expr(expr.struct.field(k)) for k in self.keys],
            separator=self.separator,
            ignore_nulls=True,
        )
        return pl.when(joined != "").then(joined)

    def decode_dtype(self, inner: pl.DataType | None) -> pl.DataType:
        return pl.Struct({k: pl.String() for k in self.keys})

    def __repr__(self) -> str:
        return f"Join{self.keys}"
