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
TIMESTAMP_RE = (
    r"^([1-9][0-9]{3})-([0-9]{2})-([0-9]{2})(?:[T ]([01][0-9]|2[0-3]):([0-5][0-9])"
    r"(?::([0-5][0-9])(?:\.[0-9]+)?)?(Z|[+-](?:0[0-9]|1[0-4]):?[0-5][0-9])?)?$"
)
"""An ISO 8601 date, with an optional time and offset."""
US_TIMESTAMP_RE = (
    r"^([0-9]{1,2})/([0-9]{1,2})/([1-9][0-9]{3})(?:[ T]([0-9]{1,2}):([0-5][0-9])"
    r"(?::([0-5][0-9])(?:\.[0-9]+)?)?(?: ?([AaPp][Mm]))?)?$"
)
"""A US date (month, day, year) with an optional 24- or 12-hour time."""
EPOCH_RE = r"^([1-9][0-9]{8,9}|[1-9][0-9]{11,12})$"
"""Unix time in seconds or milliseconds, between 1973 and 2286."""
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


def timestamp_rule(text: str | None) -> dt.datetime | None:
    """A time to the second (fractions dropped), in UTC, from ISO 8601 (`Z` or no offset is UTC,
    an offset is applied), a US date and time (no offset: UTC) or Unix time; a date alone is its
    midnight. Impossible times are null."""
    if text is None:
        return None
    text = text.strip(WHITESPACE)
    zone = None
    if m := re.fullmatch(TIMESTAMP_RE, text):
        year, month, day, hour, minute, second, zone = m.groups()
    elif m := re.fullmatch(US_TIMESTAMP_RE, text):
        month, day, year, hour, minute, second, meridiem = m.groups()
        if hour is not None:
            hour = _hour_of_day(int(hour), meridiem)
            if hour is None:
                return None
    elif m := re.fullmatch(EPOCH_RE, text):
        digits = m.group(1)
        seconds = int(digits) if len(digits) <= 10 else int(digits) // 1000
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)
    else:
        return None
    try:
        naive = dt.datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError:
        return None
    offset = 0
    if zone and zone != "Z":
        digits = zone[1:].replace(":", "")
        offset = (int(digits[:2]) * 60 + int(digits[2:])) * (1 if zone[0] == "+" else -1)
    try:
        return (naive - dt.timedelta(minutes=offset)).replace(tzinfo=dt.UTC)
    except OverflowError:
        return None


def _hour_of_day(hour: int, meridiem: str | None) -> int | None:
    """A US time's hour on the 24-hour clock: 1-12 with AM or PM (12 AM is 0), else 0-23."""
    if meridiem is None:
        return hour if hour <= 23 else None
    if not 1 <= hour <= 12:
        return None
    return hour % 12 + (12 if meridiem.upper() == "PM" else 0)


def timestamp_parts(expr: pl.Expr) -> pl.Expr:
    text = expr.str.strip_chars(WHITESPACE)
    # The other forms' patterns run only on text that may be one of them: most is ISO.
    return pl.struct(
        text.str.extract_groups(TIMESTAMP_RE).alias("iso"),
        pl.when(text.str.contains("/", literal=True))
        .then(text)
        .str.extract_groups(US_TIMESTAMP_RE)
        .alias("us"),
        pl.when(text.str.len_bytes().is_between(9, 13))
        .then(text)
        .str.extract(EPOCH_RE, 1)
        .alias("unix"),
    )


def _naive(*parts: pl.Expr) -> pl.Expr:
    """A time from its year, month, day, hour, minute and second as text; null if impossible."""
    year, month, day, hour, minute, second = parts
    sep = pl.lit
    stamp = pl.concat_str(
        year, sep("-"), month, sep("-"), day, sep(" "), hour, sep(":"), minute, sep(":"), second
    )
    return stamp.str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us", strict=False)


def timestamp_from_parts(parts: pl.Expr) -> pl.Expr:
    iso, us, unix = parts.struct.field("iso"), parts.struct.field("us"), parts.struct.field("unix")

    def field(struct: pl.Expr, i: int) -> pl.Expr:
        return struct.struct.field(str(i))

    # Each form is built on its own, so the common ISO text is never copied into another column.
    clock = [field(iso, i).fill_null("00") for i in (4, 5, 6)]
    naive = _naive(field(iso, 1), field(iso, 2), field(iso, 3), *clock)
    zone = field(iso, 7).fill_null("Z")
    digits = zone.str.slice(1).str.replace(":", "", literal=True)
    minutes = (
        digits.str.slice(0, 2).cast(pl.Int64, strict=False) * 60
        + digits.str.slice(2).cast(pl.Int64, strict=False)
    ) * pl.when(zone.str.starts_with("-")).then(-1).otherwise(1)
    offset = pl.when(zone == "Z").then(0).otherwise(minutes)
    utc = naive - pl.duration(minutes=offset)

    hour = field(us, 4).cast(pl.Int64, strict=False)
    meridiem = field(us, 7).str.to_uppercase()
    # An impossible hour is null, and so the whole time; no time at all is midnight.
    hour_of_day = (
        pl.when(hour.is_null())
        .then(0)
        .when(meridiem.is_null())
        .then(pl.when(hour <= 23).then(hour))
        .when(hour.is_between(1, 12))
        .then(hour % 12 + pl.when(meridiem == "PM").then(12).otherwise(0))
    )
    clock = [
        hour_of_day.cast(pl.String).str.zfill(2),
        field(us, 5).fill_null("00"),
        field(us, 6).fill_null("00"),
    ]
    us_time = _naive(field(us, 3), field(us, 1).str.zfill(2), field(us, 2).str.zfill(2), *clock)

    seconds = (
        pl.when(unix.str.len_bytes() <= 10)
        .then(unix.cast(pl.Int64))
        .otherwise(unix.cast(pl.Int64) // 1000)
    )
    # Python's datetime stops at year 9999; an offset that crosses it is no time either.
    return pl.coalesce(
        pl.when(utc.dt.year() <= 9999).then(utc), us_time, pl.from_epoch(seconds, time_unit="s")
    ).dt.replace_time_zone("UTC")


def timestamp_expr(expr: pl.Expr) -> pl.Expr:
    return timestamp_from_parts(timestamp_parts(expr))
