"""Entity ids: golden values, a Python oracle for the canonical encoding, and stability."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import get_args

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ai_core.consolidate.ids import canonical_key, entity_id
from ai_core.consolidate.spec import IdPolicy

VEHICLES = "stellantis/US/vehicles"
KEYS = ["vin", "order_number"]
GROUPED: list[str | list[str]] = [["dealer_code", "order_number"], "vin"]

# Fixed forever: a change here changes every id stored so far.
GOLDEN = [
    (
        {"vin": "1C4HJXEN5RW123456", "order_number": None},
        "first_non_empty",
        "ai-id/v1|stellantis/US/vehicles|vin=17:1C4HJXEN5RW123456",
        "e9f55fc54662a0425bd2d501a00f84a81060160055f368cfd4d55e0ab58d69f1",
    ),
    (
        {"vin": None, "order_number": "ORD-7"},
        "first_non_empty",
        "ai-id/v1|stellantis/US/vehicles|order_number=5:ORD-7",
        "dc000586790547c07d6ec103f104da810fe4f937e6fed7b7b55b00f2c68b19fa",
    ),
    (
        {"vin": "1C4HJXEN5RW123456", "order_number": None},
        "hash_all",
        "ai-id/v1|stellantis/US/vehicles|vin=17:1C4HJXEN5RW123456|order_number=-",
        "ab63b936eae1491795734c546d62cf33f570c258aa870f4726c6129cba220527",
    ),
]


def _ids(
    frame: pl.DataFrame,
    policy: IdPolicy,
    namespace: str = VEHICLES,
    keys: Sequence[str | list[str]] = KEYS,
) -> pl.DataFrame:
    return frame.select(
        canonical_key(namespace, keys, frame.schema, policy).alias("canonical"),
        entity_id(namespace, keys, frame.schema, policy).alias("id"),
    )


@pytest.mark.parametrize(("row", "policy", "canonical", "digest"), GOLDEN)
def test_golden_ids(
    row: dict[str, str | None], policy: IdPolicy, canonical: str, digest: str
) -> None:
    frame = pl.DataFrame([row], schema={"vin": pl.String, "order_number": pl.String})
    got = _ids(frame, policy).row(0)
    assert got == (canonical, digest)
    assert hashlib.sha256(canonical.encode()).hexdigest() == digest


def test_typed_keys_have_documented_text() -> None:
    frame = pl.DataFrame(
        {
            "code": [60421, -3],
            "day": [dt.date(2026, 11, 20), None],
            "flag": [True, False],
            "brand": pl.Series(["J", "R"], dtype=pl.Categorical),
        }
    )
    got = _ids(frame, "hash_all", "stellantis/US/dealers", ["code", "day", "flag", "brand"])
    assert got["canonical"].to_list() == [
        "ai-id/v1|stellantis/US/dealers|code=5:60421|day=10:2026-11-20|flag=4:true|brand=1:J",
        "ai-id/v1|stellantis/US/dealers|code=2:-3|day=-|flag=5:false|brand=1:R",
    ]
    expected = [hashlib.sha256(c.encode()).hexdigest() for c in got["canonical"]]
    assert got["id"].to_list() == expected


def test_empty_strings_count_as_missing_and_no_value_means_no_id() -> None:
    frame = pl.DataFrame(
        {"vin": ["", None, ""], "order_number": ["O1", "", None]},
    )
    first = _ids(frame, "first_non_empty")
    assert first["canonical"].to_list() == [
        "ai-id/v1|stellantis/US/vehicles|order_number=2:O1",
        None,
        None,
    ]
    assert first["id"].null_count() == 2
    assert _ids(frame, "hash_all")["canonical"].to_list() == [
        "ai-id/v1|stellantis/US/vehicles|vin=-|order_number=2:O1",
        None,
        None,
    ]


def test_float_keys_are_refused_with_the_field_named() -> None:
    frame = pl.DataFrame({"vin": ["V"], "price": [1.5]})
    with pytest.raises(TypeError, match="'price' has type Float64"):
        _ids(frame, "hash_all", keys=["vin", "price"])


def test_unknown_key_field_is_named() -> None:
    frame = pl.DataFrame({"vin": ["V"]})
    with pytest.raises(KeyError, match="order_number"):
        _ids(frame, "hash_all")


def test_ids_do_not_depend_on_row_order_or_chunking() -> None:
    vins = [f"1C4HJXEN5RW{i:06d}" for i in range(1000)]
    whole = pl.DataFrame(
        {"vin": vins, "order_number": [None] * 1000},
        schema={"vin": pl.String, "order_number": pl.String},
    )
    chunked = pl.concat([whole.slice(0, 333), whole.slice(333)], rechunk=False).reverse()
    a = dict(zip(whole["vin"], _ids(whole, "first_non_empty")["id"], strict=True))
    b = dict(zip(chunked["vin"], _ids(chunked, "first_non_empty")["id"], strict=True))
    assert a == b
    assert len(set(a.values())) == 1000


def _reference(
    namespace: str, values: list[str | None], names: list[str], policy: str
) -> str | None:
    """The documented encoding, written out in plain Python."""
    pairs = list(zip(names, values, strict=True))
    present = [(n, v) for n, v in pairs if v]
    if not present:
        return None
    chosen = present[:1] if policy == "first_non_empty" else pairs
    encoded = [f"{n}={len(v.encode())}:{v}" if v else f"{n}=-" for n, v in chosen]
    canonical = "|".join(["ai-id/v1", namespace, *encoded])
    return hashlib.sha256(canonical.encode()).hexdigest()


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(st.none(), st.text(max_size=12)), st.one_of(st.none(), st.text(max_size=12))
        ),
        min_size=1,
        max_size=20,
    ),
    policy=st.sampled_from(list(get_args(IdPolicy))),
)
def test_ids_match_the_python_reference(
    rows: list[tuple[str | None, str | None]], policy: IdPolicy
) -> None:
    frame = pl.DataFrame(rows, schema={"vin": pl.String, "order_number": pl.String}, orient="row")
    got = _ids(frame, policy)["id"].to_list()
    expected = [_reference(VEHICLES, list(r), KEYS, policy) for r in rows]
    assert got == expected


def test_a_group_of_key_fields_is_one_alternative() -> None:
    frame = pl.DataFrame(
        {
            "dealer_code": ["68302", "68302", None],
            "order_number": ["002516", None, "002516"],
            "vin": ["1C4HJXEN5RW123456", "1C4HJXEN5RW123456", None],
        }
    )
    got = _ids(frame, "first_non_empty", "stellantis/us/inventory", GROUPED)
    assert got["canonical"].to_list() == [
        # Fixed forever, like GOLDEN.
        "ai-id/v1|stellantis/us/inventory|dealer_code=5:68302|order_number=6:002516",
        # A group lacking a field is no value: the next alternative is taken.
        "ai-id/v1|stellantis/us/inventory|vin=17:1C4HJXEN5RW123456",
        None,
    ]
    assert got["id"][0] == "fc3df9b77c24fbab674ed4446ef4a11fe63e63d1a023d417e909f3437b47a062"
    expected = [hashlib.sha256(c.encode()).hexdigest() if c else None for c in got["canonical"]]
    assert got["id"].to_list() == expected
