"""Scalar parsing over decoded text: each rule written for Python and as a Polars expression.

Every scalar is decoded from the page as text (JSON numbers and booleans included), so a rule is
a function of text. `as_text` renders a raw JSON value as Polars renders it, so the Python side
sees what the Polars side sees. Rules are ASCII-only (`[0-9]`, explicit whitespace) because
Python's `re` and the Rust regex engine disagree on Unicode classes, and Python matches with
`fullmatch` because its `$` also matches before a final newline.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import polars as pl

WHITESPACE = " \t\r\n"
INT_RE = r"^([+-]?[0-9]+)(?:\.0*)?$"
"""A whole number, also when spelled with a zero fraction (`"12.0"`): group 1 is its value."""
FLOAT_RE = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
DATE_ISO_RE = r"^([1-9][0-9]{3})-([0-9]{2})-([0-9]{2})([T ].*)?$"
DATE_US_RE = r"^([0-9]{1,2})/([0-9]{1,2})/([1-9][0-9]{3})$"
NO_TEXT_RE = r"^[ \t\r\n]*(?s:\{.*\}|\[.*\])?[ \t\r\n]*$"
"""What `text_rule` makes null: blank text, or text that is (or spells) a JSON object or array
once trimmed, which is how Polars renders an object or array read as text."""
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

FLAG_WORDS: Mapping[str, bool] = {
    **dict.fromkeys(["Y", "y", "Yes", "YES", "yes", "true", "True", "TRUE", "T", "t", "1"], True),
    **dict.fromkeys(["N", "n", "No", "NO", "no", "false", "False", "FALSE", "F", "f", "0"], False),
}


def as_text(value: Any) -> str | None:
    """The text Polars decodes for a JSON value read into a String column.

    Numbers lose their JSON spelling: integers print in full, floats as the shortest digits that
    round-trip, positionally (`1e5` -> `100000`, `1.50` -> `1.5`). Objects and arrays come back as
    JSON text, which every rule below treats as "no value"; `None` stands for them here.
    """
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = format(Decimal(repr(value)), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value)


def _looks_structured(text: str) -> bool:
    return (text[:1], text[-1:]) in {("{", "}"), ("[", "]")}


def text_rule(text: str | None) -> str | None:
    """Trimmed text; empty, and anything that is (or spells) a JSON object or array, is null."""
    if text is None:
        return None
    text = text.strip(WHITESPACE)
    return None if not text or _looks_structured(text) else text


_TO_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)
_TO_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def ascii_upper(text: str) -> str:
    """`text` with its ASCII letters in upper case and every other character as it is: Python's
    and Polars' Unicode case tables differ between their versions, ASCII's do not."""
    return text.translate(_TO_UPPER)


def ascii_upper_expr(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_many(list(string.ascii_lowercase), list(string.ascii_uppercase))


def ascii_lower(text: str) -> str:
    """`text` with its ASCII letters in lower case (see `ascii_upper`)."""
    return text.translate(_TO_LOWER)


def ascii_lower_expr(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_many(list(string.ascii_uppercase), list(string.ascii_lowercase))


def text_expr(expr: pl.Expr) -> pl.Expr:
    """`text_rule` over a column or field; `expr` is read twice, so give it no computation.
    Only the text kept is trimmed, which is cheaper than trimming everything first."""
    return pl.when(expr.str.contains(NO_TEXT_RE).not_()).then(expr.str.strip_chars(WHITESPACE))


def int_rule(text: str | None) -> int | None:
    """Whole numbers, with optional sign, thousands separators and a zero fraction, within 64
    bits."""
    if text is None:
        return None
    match = re.fullmatch(INT_RE, text.strip(WHITESPACE).replace(",", ""))
    if match is None:
        return None
    value = int(match[1])
    return value if INT64_MIN <= value <= INT64_MAX else None


def int_expr(expr: pl.Expr) -> pl.Expr:
    text = expr.str.strip_chars(WHITESPACE).str.replace_all(",", "", literal=True)
    return text.str.extract(INT_RE, 1).cast(pl.Int64, strict=False)


def _float_from(text: str) -> float | None:
    if not re.fullmatch(FLOAT_RE, text):
        return None
    value = float(text)
    return value if value not in (float("inf"), float("-inf")) else None


def _finite(expr: pl.Expr) -> pl.Expr:
    return expr.replace([float("inf"), float("-inf")], None)


def _number(text: pl.Expr) -> pl.Expr:
    return _finite(text.str.extract(f"^({FLOAT_RE[1:-1]})$").cast(pl.Float64, strict=False))


def float_rule(text: str | None) -> float | None:
    """Decimal numbers, with optional sign, exponent and thousands separators; finite only."""
    if text is None:
        return None
    return _float_from(text.strip(WHITESPACE).replace(",", ""))


def float_expr(expr: pl.Expr) -> pl.Expr:
    return _number(expr.str.strip_chars(WHITESPACE).str.replace_all(",", "", literal=True))


MONEY_DTYPE = pl.Decimal(12, 2)
"""Money columns: cents are the smallest unit a price is quoted in, and twelve digits hold any
amount below ten billion dollars while Parquet still stores it as one 64-bit integer."""
MONEY_LIMIT = Decimal(10) ** (MONEY_DTYPE.precision - MONEY_DTYPE.scale)
CENT = Decimal(1).scaleb(-MONEY_DTYPE.scale)


def money_rule(text: str | None) -> Decimal | None:
    """Amounts such as `$52,345`, `52345.00` or `-$500`: `$`, `,` and spaces are ignored.

    Amounts are rounded to the cent, half to even (as Polars casts text to a decimal); amounts
    of ten billion dollars or more are null."""
    if text is None:
        return None
    text = text.replace("$", "").replace(",", "").strip(WHITESPACE).replace(" ", "")
    if not re.fullmatch(FLOAT_RE, text):
        return None
    value = Decimal(text)
    # Compared before rounding: `quantize` raises on values beyond the context's precision.
    if abs(value) >= MONEY_LIMIT:
        return None
    cents = value.quantize(CENT, rounding=ROUND_HALF_EVEN)
    return cents if abs(cents) < MONEY_LIMIT else None


def money_expr(expr: pl.Expr) -> pl.Expr:
    text = (
        expr.str.replace_all("$", "", literal=True)
        .str.replace_all(",", "", literal=True)
        .str.strip_chars(WHITESPACE)
        .str.replace_all(" ", "", literal=True)
    )
    # Text straight to the decimal, never through a float: `0.135` stays 0.14, not 0.13.
    return text.str.extract(f"^({FLOAT_RE[1:-1]})$").cast(MONEY_DTYPE, strict=False)


def flag_rule(text: str | None) -> bool | None:
    """`Y`/`N`, `true`/`false`, `yes`/`no`, `1`/`0` (common spellings only); anything else null."""
    return None if text is None else FLAG_WORDS.get(text.strip(WHITESPACE))


def flag_expr(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_chars(WHITESPACE).replace_strict(
        dict(FLAG_WORDS), default=None, return_dtype=pl.Boolean
    )


def date_rule(text: str | None) -> dt.date | None:
    """`YYYY-MM-DD` (a time after it is ignored) or `M/D/YYYY`; impossible dates are null."""
    if text is None:
        return None
    text = text.strip(WHITESPACE)
    if m := re.fullmatch(DATE_ISO_RE, text):
        year, month, day = m.group(1), m.group(2), m.group(3)
    elif m := re.fullmatch(DATE_US_RE, text):
        year, month, day = m.group(3), m.group(1), m.group(2)
    else:
        return None
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        return None


def date_parts(expr: pl.Expr) -> pl.Expr:
    text = expr.str.strip_chars(WHITESPACE)
    return pl.struct(
        text.str.extract_groups(DATE_ISO_RE).alias("iso"),
        text.str.extract_groups(DATE_US_RE).alias("us"),
    )


def date_from_parts(parts: pl.Expr) -> pl.Expr:
    iso, us = parts.struct.field("iso"), parts.struct.field("us")
    canonical = pl.coalesce(
        pl.concat_str(
            iso.struct.field("1"), iso.struct.field("2"), iso.struct.field("3"), separator="-"
        ),
        pl.concat_str(
            us.struct.field("3"),
            us.struct.field("1").str.zfill(2),
            us.struct.field("2").str.zfill(2),
            separator="-",
        ),
    )
    return canonical.str.to_date("%Y-%m-%d", strict=False)


def date_expr(expr: pl.Expr) -> pl.Expr:
    return date_from_parts(date_parts(expr))
