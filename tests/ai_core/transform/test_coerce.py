"""Coercers: the documented readings, and the Python rule equal to the Polars expression."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from typing import Any

import orjson
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ai_core.transform.coerce import (
    DATE,
    FLAG,
    FLOAT,
    INT,
    MONEY,
    TEXT,
    TIMESTAMP,
    Coercer,
    as_text,
)

UTC = dt.UTC


@pytest.mark.parametrize(
    ("coercer", "raw", "value"),
    [
        (TEXT, " Sport ", "Sport"),
        (TEXT, "", None),
        (TEXT, 42, "42"),
        (TEXT, 1.5, "1.5"),
        (TEXT, True, "true"),
        (TEXT, {"a": 1}, None),
        (TEXT, "[1, 2]", None),
        (MONEY, "$52,345", Decimal("52345.00")),
        (MONEY, "-$500.25", Decimal("-500.25")),
        (MONEY, 52345, Decimal("52345.00")),
        (MONEY, 52345.999, Decimal("52346.00")),
        (MONEY, "0.125", Decimal("0.12")),
        (MONEY, "0.135", Decimal("0.14")),
        (MONEY, "9999999999.99", Decimal("9999999999.99")),
        (MONEY, "9999999999.995", None),
        (MONEY, "1e400", None),
        (MONEY, "", None),
        (MONEY, "call us", None),
        (INT, "1,204", 1204),
        (INT, 7.0, 7),
        (INT, "7.0", 7),
        (INT, "-1,204.00", -1204),
        (INT, "7.5", None),
        (INT, 2**63, None),
        (FLOAT, "33.55045", 33.55045),
        (FLOAT, 1e5, 100000.0),
        (FLOAT, "inf", None),
        (FLAG, "Y", True),
        (FLAG, "N", False),
        (FLAG, True, True),
        (FLAG, "false", False),
        (FLAG, "maybe", None),
        (DATE, "2026-11-30", dt.date(2026, 11, 30)),
        (DATE, "11/30/2026", dt.date(2026, 11, 30)),
        (DATE, "2026-11-30T23:00:00Z", dt.date(2026, 11, 30)),
        (DATE, "2026-02-30", None),
        (TIMESTAMP, "2026-11-20T10:15:00Z", dt.datetime(2026, 11, 20, 10, 15, tzinfo=UTC)),
        (TIMESTAMP, "2026-11-20 10:15", dt.datetime(2026, 11, 20, 10, 15, tzinfo=UTC)),
        (TIMESTAMP, "2026-11-20T10:15:30-05:00", dt.datetime(2026, 11, 20, 15, 15, 30, tzinfo=UTC)),
        (TIMESTAMP, "2026-11-20T24:00:00Z", None),
        (TIMESTAMP, "2026-11-20", dt.datetime(2026, 11, 20, tzinfo=UTC)),
        (TIMESTAMP, "11/20/2026", dt.datetime(2026, 11, 20, tzinfo=UTC)),
        (TIMESTAMP, "11/20/2026 22:15", dt.datetime(2026, 11, 20, 22, 15, tzinfo=UTC)),
        (TIMESTAMP, "11/20/2026 10:15:30 PM", dt.datetime(2026, 11, 20, 22, 15, 30, tzinfo=UTC)),
        (TIMESTAMP, "11/20/2026 12:05am", dt.datetime(2026, 11, 20, 0, 5, tzinfo=UTC)),
        (TIMESTAMP, "11/20/2026 13:00 PM", None),
        (TIMESTAMP, "2/30/2026", None),
        (TIMESTAMP, 1795161600, dt.datetime(2026, 11, 20, 8, tzinfo=UTC)),
        (TIMESTAMP, "1795161600123", dt.datetime(2026, 11, 20, 8, tzinfo=UTC)),
        (TIMESTAMP, 12345, None),
        (TIMESTAMP, 179516160, None),
        (TIMESTAMP, "202611201015", None),
        (TIMESTAMP, 1795161600.5, None),
    ],
)
def test_readings(coercer: Coercer, raw: Any, value: Any) -> None:
    # The types too: a float equals the decimal of the same value.
    assert type(coercer.python(raw)) is type(value)
    assert coercer.python(raw) == value
    (expressed,) = _polars(coercer, [raw])
    assert type(expressed) is type(value)
    assert expressed == value


def _polars(coercer: Coercer, values: list[Any]) -> list[Any]:
    """Decode the values as the extractor does (JSON into text), then apply the expression."""
    # The standard encoder, unlike orjson, writes integers beyond 64 bits.
    body = "\n".join(json.dumps({"v": v}) for v in values).encode()
    frame = pl.read_ndjson(io.BytesIO(body), schema={"v": pl.String}, ignore_errors=True)
    return frame.select(coercer.polars(pl.col("v")).cast(coercer.dtype)).to_series().to_list()


NUMBERS = st.one_of(
    st.integers(-(2**64), 2**64),
    st.floats(-1e12, 1e12, allow_nan=False).map(lambda x: float(f"{x:.9g}")),
)
SPELLINGS = st.sampled_from(
    [
        "$",
        ",",
        " ",
        "-",
        "+",
        ".",
        "e",
        "E",
        "0",
        "1",
        "9",
        "Y",
        "N",
        "T",
        ":",
        "/",
        "\n",
        "\t",
        "Z",
    ]
)
TEXTS = st.one_of(
    st.text(max_size=12),
    st.lists(SPELLINGS, max_size=14).map("".join),
    st.dates().map(str),
    st.datetimes().map(lambda d: d.isoformat(sep=" ")),
    st.datetimes().map(lambda d: d.strftime("%m/%d/%Y")),
    NUMBERS.map(str),
    st.builds(
        "{}/{}/{} {}:{:02d}{}".format,
        st.integers(0, 13),
        st.integers(0, 32),
        st.integers(999, 10000),
        st.integers(0, 25),
        st.integers(0, 61),
        st.sampled_from(["", " AM", "pm", ":59", ":60 PM", ".5", " XM"]),
    ),
    st.integers(10**8 - 1, 10**13).map(str),
)
VALUES = st.one_of(st.none(), st.booleans(), NUMBERS, TEXTS, st.just({"k": 1}), st.just([1]))


@pytest.mark.parametrize("coercer", [TEXT, MONEY, INT, FLOAT, FLAG, DATE, TIMESTAMP], ids=repr)
@settings(max_examples=300, deadline=None)
@given(values=st.lists(VALUES, min_size=1, max_size=20))
def test_the_rule_and_the_expression_agree(coercer: Coercer, values: list[Any]) -> None:
    assert _polars(coercer, values) == [coercer.python(v) for v in values]


@given(value=st.floats(allow_nan=False, allow_infinity=False).map(lambda x: float(f"{x:.12g}")))
def test_as_text_spells_floats_as_polars_decodes_them(value: float) -> None:
    body = orjson.dumps({"v": value})
    decoded = pl.read_ndjson(io.BytesIO(body), schema={"v": pl.String})["v"][0]
    assert as_text(value) == decoded


NAMES = ["Real Trim", " real trim\n", "REAL TRIM", "realtrim", "Real  Trim", "Real Trim.",
         "Drıve", "ſeats", "\u212aey", "Real Trim\x0b", "", None, 7, "(Real) Trim?"]  # fmt: skip


@pytest.mark.parametrize("equals", ["Real Trim", "Drive", "Seats", "Key", "(Real) Trim?"])
def test_pick_compares_names_trimmed_in_any_ascii_case_alike_on_both_paths(equals: str) -> None:
    from ai_core.transform import Pick

    pick = Pick("typeDesc", equals, "value")
    lists = [[{"typeDesc": name, "value": str(i)}] for i, name in enumerate(NAMES)]
    frame = pl.DataFrame({"a": lists}, schema={"a": pick.decode_dtype(pl.String())})
    got = frame.select(pick.polars(pl.col("a"))).to_series().to_list()
    assert got == [pick.python(v) for v in lists]
    if equals == "Real Trim":
        assert [n for n, v in zip(NAMES, got, strict=True) if v is not None] == NAMES[:3]


@given(st.lists(st.text(max_size=4), max_size=20))
@settings(max_examples=200, deadline=None)
def test_upper_changes_ascii_letters_alike_on_both_paths(texts: list[str]) -> None:
    from ai_core.transform import Upper

    upper = Upper()
    got = pl.Series(texts, dtype=pl.String).to_frame("t").select(upper.polars(pl.col("t")))
    assert got.to_series().to_list() == [upper.python(t) for t in texts]
