"""Page decoding: the fast read of nested lists equals the direct read, whatever the bodies."""

from __future__ import annotations

import itertools
import json
from typing import Any

import orjson
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ai_core.transform.decode import LARGE_BODY_BYTES, PageDecoder, byte_runs, ndjson_bytes

DTYPE_PARTS = pl.List(pl.Struct({"name": pl.String, "qty": pl.String}))
DTYPE = pl.Struct(
    {
        "n": pl.String,
        "items": pl.List(
            pl.Struct(
                {
                    "id": pl.String,
                    "tags": pl.List(pl.String),
                    "parts": DTYPE_PARTS,
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
    assert ndjson_bytes(bodies.slice(2, 1)) == b"{}\n"


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
@given(pages=st.lists(PAGE, min_size=1, max_size=6), run_bytes=st.sampled_from([1, 200, 2**19]))
def test_the_fast_read_is_the_direct_read(pages: list[dict[str, Any]], run_bytes: int) -> None:
    # Runs of one body, of a few, and of the whole chunk: any run may fall back on its own.
    bodies = pl.Series([orjson.dumps(p).decode() for p in pages])
    decoder = PageDecoder(DTYPE, run_bytes=run_bytes)
    direct, bad = decoder._direct(bodies)
    assert bad == []
    assert decoder.decode_chunk(bodies)[0].to_list() == direct.to_list()


class CountingDecoder(PageDecoder):
    """Records how many bodies each direct read gets."""

    def __init__(self, dtype: pl.Struct, run_bytes: int) -> None:
        super().__init__(dtype, run_bytes=run_bytes)
        self.direct_reads: list[int] = []

    def _direct(self, bodies: pl.Series) -> tuple[pl.Series, list[int]]:
        self.direct_reads.append(bodies.len())
        return super()._direct(bodies)


def runs_of_one(dtype: pl.Struct, bodies: pl.Series) -> tuple[list[Any], list[int], list[int]]:
    """The bodies decoded a run each, checked against the direct read: the pages, the malformed
    positions and the sizes of the direct reads the decoder made."""
    decoder = CountingDecoder(dtype, run_bytes=1)
    pages, bad = decoder.decode_chunk(bodies)
    direct, direct_bad = PageDecoder(dtype)._direct(bodies)
    assert (pages.to_list(), bad) == (direct.to_list(), direct_bad)
    return pages.to_list(), bad, decoder.direct_reads


def test_only_the_run_with_an_odd_page_is_read_the_direct_way() -> None:
    clean = '{"items": [{"id": "%d", "parts": [{"name": "x", "qty": 2}]}]}'
    odd = '{"items": [{"id": [], "parts": [{"name": "y"}]}]}'  # a list where text is declared
    bodies = pl.Series([clean % i for i in range(6)] + [odd] + [clean % i for i in range(6, 9)])
    # One body a run: the odd page alone goes to the direct read.
    decoder = CountingDecoder(DTYPE, run_bytes=1)
    pages, bad = decoder.decode_chunk(bodies)
    assert bad == []
    assert decoder.direct_reads == [1]
    # Runs of a few bodies: one run, smaller than the chunk, goes to the direct read.
    decoder = CountingDecoder(DTYPE, run_bytes=3 * len(clean))
    assert decoder.decode_chunk(bodies)[0].to_list() == pages.to_list()
    assert len(decoder.direct_reads) == 1 and decoder.direct_reads[0] < bodies.len()
    assert pages.to_list() == PageDecoder(DTYPE)._direct(bodies)[0].to_list()
    assert [p["items"][0]["id"] for p in pages] == [*map(str, range(6)), "[]", "6", "7", "8"]


def test_a_lone_scalar_for_a_list_is_null_as_in_the_direct_read() -> None:
    # `str.json_decode` would make the lone tag a one-element list without failing; the direct
    # read makes it null (a wrong shape). `tags` is never a scalar: the tag is nulled in the
    # text and its run read the fast way.
    clean = '{"items": [{"id": "%d", "tags": ["a"], "parts": [{"name": "x"}]}]}'
    lone = '{"items": [{"id": "9", "tags": "a", "parts": [{"name": "x"}]}]}'
    bodies = pl.Series([clean % i for i in range(5)] + [lone] + [clean % i for i in range(5, 8)])
    pages, _, direct_reads = runs_of_one(DTYPE, bodies)
    assert direct_reads == []
    assert pages[5]["items"][0]["tags"] is None
    assert pages[4]["items"][0]["tags"] == ["a"]


def test_a_lone_scalar_nulling_leaves_alone_is_read_the_direct_way() -> None:
    # A lone high surrogate is text the direct read takes and nulling does not match: the tag
    # is still there once nulled, so its run is read the direct way, which makes it null.
    clean = '{"items": [{"id": "1", "tags": ["a"], "parts": [{"name": "x"}]}]}'
    odd = '{"items": [{"id": "9", "tags": "\\uD83D", "parts": [{"name": "x"}]}]}'
    pages, _, direct_reads = runs_of_one(DTYPE, pl.Series([clean, odd, clean]))
    assert direct_reads == [1]
    assert pages[1]["items"][0]["tags"] is None


def test_a_lone_scalar_for_a_list_whose_key_is_also_a_scalar_is_read_the_direct_way() -> None:
    # `tags` is text on the page and a list of text on its items: nulling every scalar `tags`
    # would null the page's own, so a run with a scalar `tags` (here every run) is read the
    # direct way.
    dtype = pl.Struct(
        {
            "tags": pl.String,
            "items": pl.List(pl.Struct({"tags": pl.List(pl.String), "parts": DTYPE_PARTS})),
        }
    )
    clean = '{"tags": "p", "items": [{"tags": ["a"], "parts": [{"name": "x"}]}]}'
    lone = '{"tags": "p", "items": [{"tags": "a", "parts": [{"name": "x"}]}]}'
    pages, _, direct_reads = runs_of_one(dtype, pl.Series([clean, lone, clean]))
    assert direct_reads == [1, 1, 1]
    assert [p["tags"] for p in pages] == ["p", "p", "p"]
    assert [p["items"][0]["tags"] for p in pages] == [["a"], None, ["a"]]


def test_malformed_pages_are_placed_by_their_position_in_the_chunk() -> None:
    good = '{"n": 1, "items": [{"id": "a"}]}'
    bodies = pl.Series([good, good, good, '{"n": "trunc', good])
    pages, bad = PageDecoder(DTYPE, run_bytes=len(good)).decode_chunk(bodies)
    assert bad == [3]
    assert pages[4]["n"] == "1"


def test_pages_decoded_run_by_run_come_as_one_chunk() -> None:
    good = '{"n": 1, "items": [{"id": "a", "parts": [{"name": "x"}]}]}'
    bodies = pl.Series([good] * 4)
    pages, bad = PageDecoder(DTYPE, run_bytes=len(good)).decode_chunk(bodies)
    assert bad == []
    assert pages.n_chunks() == 1
    assert pages.to_list() == PageDecoder(DTYPE).decode_chunk(bodies)[0].to_list()


def test_byte_runs_cover_the_items_in_order_about_equally() -> None:
    sizes = pl.Series([100] * 10 + [None, 5_000] + [100] * 9)
    runs = byte_runs(sizes, 450)
    starts = [start for start, _ in runs]
    assert starts == list(itertools.accumulate([n for _, n in runs[:-1]], initial=0))
    assert sum(n for _, n in runs) == sizes.len()
    # Before its last item, no run holds more than the limit; the big item ends its run.
    assert all(sizes.slice(s, n - 1).fill_null(0).sum() <= 450 for s, n in runs)
    assert any(s + n - 1 == 11 for s, n in runs)
    assert byte_runs(pl.Series([100] * 40), 10**9, multiple=4) == [
        (0, 10),
        (10, 10),
        (20, 10),
        (30, 10),
    ]
    assert byte_runs(pl.Series([100] * 40), 1_000) == [(i, 10) for i in range(0, 40, 10)]
    # For workers, the multiple nearest to the limit: a total just over twice the limit makes
    # two runs, not four; one nearer to six times, six.
    assert byte_runs(pl.Series([100] * 42), 2_000, multiple=2) == [(0, 21), (21, 21)]
    runs = byte_runs(pl.Series([100] * 58), 1_000, multiple=2)
    assert len(runs) == 6 and sum(n for _, n in runs) == 58
    assert byte_runs(pl.Series([], dtype=pl.UInt32), 100) == []


TEXT = st.text(max_size=4)
SCALAR = st.one_of(
    TEXT,
    st.integers(-9, 99),
    # Exponents of two digits at most: longer ones are the direct read's (test below).
    st.floats(-1e6, 1e6, allow_nan=False).filter(lambda x: x == 0 or abs(x) > 1e-90),
    st.booleans(),
    st.sampled_from(["", "[]", 'q"t', "a\\b", "\x01"]),
)


def placeholder(shape: str) -> st.SearchStrategy[Any]:
    """A value standing in for an empty list or object: a scalar, or the other empty shape."""
    return st.one_of(SCALAR, st.just({} if shape == "list" else []))


PART_OK = st.fixed_dictionaries({"name": TEXT, "qty": st.integers(0, 9)})
ROWS = st.one_of(st.lists(st.fixed_dictionaries({"k": TEXT}), max_size=2), placeholder("list"))
ITEM_WITH_PLACEHOLDERS = st.fixed_dictionaries(
    {
        "id": TEXT,
        "tags": st.one_of(st.lists(TEXT, max_size=2), st.none(), placeholder("list")),
        "parts": st.one_of(st.lists(PART_OK, max_size=2), placeholder("list")),
        "meta": st.one_of(st.fixed_dictionaries({"rows": ROWS}), placeholder("object")),
    }
)
PAGE_WITH_PLACEHOLDERS = st.fixed_dictionaries(
    {
        "n": TEXT,
        "items": st.one_of(st.lists(ITEM_WITH_PLACEHOLDERS, max_size=3), placeholder("list")),
    }
)


@settings(max_examples=300, deadline=None)
@given(
    pages=st.lists(PAGE_WITH_PLACEHOLDERS, min_size=1, max_size=6),
    run_bytes=st.sampled_from([1, 200, 2**19]),
    # Compact, spaced, one token a line, and text not escaped to ASCII.
    spacing=st.sampled_from(
        [{"separators": (",", ":")}, {}, {"indent": 1}, {"ensure_ascii": False}]
    ),
)
def test_placeholders_are_read_strictly_as_the_direct_read_reads_them(
    pages: list[dict[str, Any]], run_bytes: int, spacing: dict[str, Any]
) -> None:
    # Where a key only ever holds an object or a list, a scalar or the other empty shape is
    # null in the direct read: nulled in the text, the run is decoded the fast way.
    bodies = pl.Series([json.dumps(p, **spacing) for p in pages])
    decoder = CountingDecoder(DTYPE, run_bytes=run_bytes)
    decoded, bad = decoder.decode_chunk(bodies)
    assert decoder.direct_reads == []
    assert (decoded.to_list(), bad) == (PageDecoder(DTYPE)._direct(bodies)[0].to_list(), [])


def test_an_empty_list_stays_where_its_key_is_also_a_list() -> None:
    # `attributes` is an object holding a list named `attributes`: `[]` is right for the inner
    # one, so it is never nulled; the outer one given `[]` sends its run to the direct read.
    vehicle = pl.Struct(
        {
            "price": pl.Struct({"msrp": pl.String}),
            "attributes": pl.Struct({"attributes": pl.List(pl.Struct({"v": pl.String}))}),
        }
    )
    dtype = pl.Struct({"vehicles": pl.List(vehicle)})
    inner = '{"vehicles": [{"price": [], "attributes": {"attributes": []}}]}'
    outer = '{"vehicles": [{"price": {"msrp": 1}, "attributes": []}]}'
    pages, _, direct_reads = runs_of_one(dtype, pl.Series([inner, outer, inner]))
    assert direct_reads == [1]
    kept = {"price": None, "attributes": {"attributes": []}}
    assert pages == [
        {"vehicles": [kept]},
        {"vehicles": [{"price": {"msrp": "1"}, "attributes": None}]},
        {"vehicles": [kept]},
    ]


def test_a_placeholder_the_direct_read_rejects_leaves_its_page_malformed() -> None:
    # Nulling swaps one value the direct read reads for another: what it rejects (a leading
    # zero, two points, an unknown escape, a raw control character, a non-breaking space, a
    # lone low surrogate, a number past a float's range) is left alone.
    clean = '{"items": [{"meta": {"rows": []}}]}'
    rejected = [
        "007",
        "1.2.3",
        '"\\q"',
        '"a\x01b"',
        '"\\udc00"',
        '"\\ud800\\u0041"',
        "1e309",
        "1" * 40,
    ]
    bodies = [clean, *(f'{{"items": [{{"meta": {value}}}]}}' for value in rejected)]
    bodies += ['{"items": [{"meta"\u00a0: []}]}', '{"items": [{"meta": -0, "parts": 1e5}]}']
    pages, bad, _ = runs_of_one(DTYPE, pl.Series(bodies))
    assert bad == list(range(1, len(rejected) + 2))
    assert pages[-1]["items"] == [{"id": None, "tags": None, "parts": None, "meta": None}]


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
