"""Page decoding: the fast read of nested lists equals the direct read, whatever the bodies."""

from __future__ import annotations

from typing import Any

import orjson
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ai_core.transform.decode import LARGE_BODY_BYTES, PageDecoder, ndjson_bytes

DTYPE = pl.Struct(
    {
        "n": pl.String,
        "items": pl.List(
            pl.Struct(
                {
                    "id": pl.String,
                    "tags": pl.List(pl.String),
                    "parts": pl.List(pl.Struct({"name": pl.String, "qty": pl.String})),
                    "meta": pl.Struct({"rows": pl.List(pl.Struct({"k": pl.String}))}),
                }
            )
        ),
    }
)


def test_ndjson_bytes_puts_one_body_on_each_line() -> None:
    bodies = pl.Series(['{"a":\n1}', '{"b":\r\n2}', "{}"])
    assert ndjson_bytes(bodies) == b'{"a": 1}\n{"b":  2}\n{}\n'
    assert ndjson_bytes(bodies.slice(1, 2)) == b'{"b":  2}\n{}\n'


def test_malformed_and_blank_bodies_are_isolated() -> None:
    good = '{"n": 1, "items": [{"id": "a"}]}'
    bodies = pl.Series([good, "", '{"n": "trunc', None, good, "{}{}", "[1]"])
    pages, malformed = PageDecoder(DTYPE).decode(bodies)
    assert malformed.to_list() == [False, True, True, True, False, True, False]
    assert pages[0]["items"][0]["id"] == "a"
    assert pages[4]["n"] == "1"
    assert pages[6] == {"n": None, "items": None}


LEAF = st.one_of(
    st.none(),
    st.text(max_size=5),
    st.sampled_from(["a\\b", 'q"t', "\x01\t\n", "[1]", "{}", "[]"]),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: float(f"{x:.6g}")),
    st.booleans(),
)
ANY = st.recursive(
    LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["name", "qty", "k", "x"]), inner, max_size=3),
    ),
    max_leaves=6,
)
PART = st.one_of(st.fixed_dictionaries({"name": ANY, "qty": ANY}), ANY)
ITEM = st.one_of(
    st.fixed_dictionaries(
        {
            "id": ANY,
            "tags": st.one_of(st.lists(ANY, max_size=3), ANY),
            "parts": st.one_of(st.lists(PART, max_size=3), ANY),
            "meta": st.one_of(
                st.fixed_dictionaries({"rows": st.one_of(st.lists(ANY, max_size=2), ANY)}), ANY
            ),
        }
    ),
    ANY,
)
PAGE = st.fixed_dictionaries({"n": ANY, "items": st.one_of(st.lists(ITEM, max_size=3), ANY)})


@settings(max_examples=300, deadline=None)
@given(pages=st.lists(PAGE, min_size=1, max_size=4))
def test_the_fast_read_is_the_direct_read(pages: list[dict[str, Any]]) -> None:
    bodies = pl.Series([orjson.dumps(p).decode() for p in pages])
    decoder = PageDecoder(DTYPE)
    direct, bad = decoder._direct(bodies)
    assert bad == []
    assert decoder.decode_chunk(bodies)[0].to_list() == direct.to_list()


def test_the_fast_read_is_used_on_clean_pages() -> None:
    bodies = pl.Series(['{"items": [{"id": 1, "parts": [{"name": "x", "qty": 2}]}]}'])
    fast = PageDecoder(DTYPE)._strict(bodies)
    assert fast is not None
    item = {"id": "1", "tags": None, "parts": [{"name": "x", "qty": "2"}], "meta": None}
    assert fast.to_list() == [{"n": None, "items": [item]}]
    ambiguous = pl.Series(['{"items": [{"parts": "[]", "tags": "a"}]}'])
    pages, _ = PageDecoder(DTYPE).decode_chunk(ambiguous)
    assert pages.to_list() == [
        {"n": None, "items": [{"id": None, "tags": None, "parts": None, "meta": None}]}
    ]


def test_escapes_in_lists_of_objects_survive_when_the_strict_read_fails() -> None:
    # `id` holds a list where text is declared, so `str.json_decode` fails the chunk and the
    # direct read decides; the escaped backslash and quote must come through as written.
    page = {"items": [{"id": [], "parts": [{"name": "a\\b", "qty": 'q"t'}]}]}
    bodies = pl.Series([orjson.dumps(page).decode()])
    decoder = PageDecoder(DTYPE)
    assert decoder._strict(bodies) is None
    pages, bad = decoder.decode_chunk(bodies)
    assert bad == []
    assert pages[0]["items"][0]["parts"] == [{"name": "a\\b", "qty": 'q"t'}]


def test_a_long_body_without_object_lists_is_read_strictly_and_equals_the_direct_read() -> None:
    flat = pl.Struct({"n": pl.String, "items": pl.List(pl.Struct({"id": pl.String}))})
    decoder = PageDecoder(flat)
    items = [{"id": f"{i:08d}", "note": "x" * 40} for i in range(30_000)]
    bodies = pl.Series([orjson.dumps({"n": 1, "items": items}).decode()])
    assert bodies.str.len_bytes()[0] > LARGE_BODY_BYTES
    pages, bad = decoder.decode_chunk(bodies)
    assert bad == []
    assert pages.to_list() == decoder._direct(bodies)[0].to_list()
    assert pages[0]["items"][29_999] == {"id": "00029999"}
    # A wrong shape gives what the direct read gives: an array read as text is its JSON text.
    wrong = pl.Series([orjson.dumps({"n": [1], "items": "none"}).decode() + " " * 2**20])
    assert decoder.decode_chunk(wrong)[0].to_list() == decoder._direct(wrong)[0].to_list()
    assert decoder.decode_chunk(wrong)[0][0] == {"n": "[1]", "items": None}
