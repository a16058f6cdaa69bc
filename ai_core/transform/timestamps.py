"""The `Timestamp` coercer's rule and expression: a point in time from the text a page sends.

Three forms are read, each by its own pattern so that the common one costs only its own: an ISO
8601 date with an optional time and, after the time, an offset; a US date (month first, as the
US sites write it) with an optional 24- or 12-hour time; and Unix time in seconds (10 digits) or
milliseconds (13), from 2001-09-09 to 2286. A time without an offset is taken as UTC, since
the page gives no zone; a date alone is its midnight; fractions of a second are dropped. The
patterns are ASCII-only and matched whole, as in `ai_core.transform.scalars`.
"""

from __future__ import annotations

import datetime as dt
import re

import polars as pl

from ai_core.transform.scalars import WHITESPACE

ISO_RE = (
    r"^(?P<year>[1-9][0-9]{3})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"(?:[T ](?P<hour>[01][0-9]|2[0-3]):(?P<minute>[0-5][0-9])"
    r"(?::(?P<second>[0-5][0-9])(?:\.[0-9]+)?)?"
    r"(?P<zone>Z|[+-](?:0[0-9]|1[0-4]):?[0-5][0-9])?)?$"
)
US_RE = (
    r"^(?P<month>[0-9]{1,2})/(?P<day>[0-9]{1,2})/(?P<year>[1-9][0-9]{3})"
    r"(?:[ T](?P<hour>[0-9]{1,2}):(?P<minute>[0-5][0-9])"
    r"(?::(?P<second>[0-5][0-9])(?:\.[0-9]+)?)?(?: ?(?P<meridiem>[AaPp][Mm]))?)?$"
)
UNIX_RE = r"^(?P<unix>[1-9][0-9]{9}|[1-9][0-9]{12})$"
"""Ten digits are seconds, thirteen milliseconds; shorter numbers are too early to be a listing's
time, and compact dates (`202611201015`) would read as one."""


def timestamp_rule(text: str | None) -> dt.datetime | None:
    """The time `text` gives, in UTC, to the second; null when it is no time of these forms."""
    if text is None:
        return None
    text = text.strip(WHITESPACE)
    zone = None
    if m := re.fullmatch(ISO_RE, text):
        zone = m["zone"]
        hour = int(m["hour"] or 0)
    elif m := re.fullmatch(US_RE, text):
        found = _hour_of_day(int(m["hour"]), m["meridiem"]) if m["hour"] is not None else 0
        if found is None:
            return None
        hour = found
    elif m := re.fullmatch(UNIX_RE, text):
        digits = m["unix"]
        seconds = int(digits) if len(digits) == 10 else int(digits) // 1000
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    else:
        return None
    try:
        naive = dt.datetime(
            int(m["year"]),
            int(m["month"]),
            int(m["day"]),
            hour,
            int(m["minute"] or 0),
            int(m["second"] or 0),
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
    """Each form's named groups, as a struct of `iso`, `us` and `unix`."""
    text = expr.str.strip_chars(WHITESPACE)
    # The US and Unix patterns run only on text that may be one of them: most is ISO.
    return pl.struct(
        text.str.extract_groups(ISO_RE).alias("iso"),
        pl.when(text.str.contains("/", literal=True))
        .then(text)
        .str.extract_groups(US_RE)
        .alias("us"),
        pl.when(text.str.len_bytes().is_in([10, 13]))
        .then(text)
        .str.extract(UNIX_RE, 1)
        .alias("unix"),
    )


def _naive(
    year: pl.Expr, month: pl.Expr, day: pl.Expr, hour: pl.Expr, minute: pl.Expr, second: pl.Expr
) -> pl.Expr:
    """A time from its parts as text; null if it is impossible."""
    text = pl.concat_str(
        year, pl.lit("-"), month, pl.lit("-"), day, pl.lit(" "),
        hour, pl.lit(":"), minute, pl.lit(":"), second,
    )  # fmt: skip
    return text.str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us", strict=False)


def timestamp_from_parts(parts: pl.Expr) -> pl.Expr:
    iso, us, unix = parts.struct.field("iso"), parts.struct.field("us"), parts.struct.field("unix")
    # Each form is built on its own, so the common ISO text is never copied into another column.
    naive = _naive(
        iso.struct.field("year"),
        iso.struct.field("month"),
        iso.struct.field("day"),
        iso.struct.field("hour").fill_null("00"),
        iso.struct.field("minute").fill_null("00"),
        iso.struct.field("second").fill_null("00"),
    )
    zone = iso.struct.field("zone").fill_null("Z")
    digits = zone.str.slice(1).str.replace(":", "", literal=True)
    minutes = (
        digits.str.slice(0, 2).cast(pl.Int64, strict=False) * 60
        + digits.str.slice(2).cast(pl.Int64, strict=False)
    ) * pl.when(zone.str.starts_with("-")).then(-1).otherwise(1)
    offset = pl.when(zone == "Z").then(0).otherwise(minutes)
    utc = naive - pl.duration(minutes=offset)

    hour = us.struct.field("hour").cast(pl.Int64, strict=False)
    meridiem = us.struct.field("meridiem").str.to_uppercase()
    # An impossible hour stays null, which makes the whole time null.
    hour_of_day = (
        pl.when(hour.is_null())
        .then(0)
        .when(meridiem.is_null())
        .then(pl.when(hour <= 23).then(hour))
        .when(hour.is_between(1, 12))
        .then(hour % 12 + pl.when(meridiem == "PM").then(12).otherwise(0))
    )
    us_time = _naive(
        us.struct.field("year"),
        us.struct.field("month").str.zfill(2),
        us.struct.field("day").str.zfill(2),
        hour_of_day.cast(pl.String).str.zfill(2),
        us.struct.field("minute").fill_null("00"),
        us.struct.field("second").fill_null("00"),
    )

    seconds = (
        pl.when(unix.str.len_bytes() == 10)
        .then(unix.cast(pl.Int64))
        .otherwise(unix.cast(pl.Int64) // 1000)
    )
    # Python's datetime stops at year 9999; an offset that crosses it is no time either.
    return pl.coalesce(
        pl.when(utc.dt.year() <= 9999).then(utc), us_time, pl.from_epoch(seconds, time_unit="s")
    ).dt.replace_time_zone("UTC")


def timestamp_expr(expr: pl.Expr) -> pl.Expr:
    return timestamp_from_parts(timestamp_parts(expr))
