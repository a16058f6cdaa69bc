"""Decoding a batch of raw pages into one struct per page, with the schema an entity implies.

Bodies are single JSON documents, and valid JSON has raw newlines only between tokens, so
replacing them with spaces and joining the bodies with newlines gives NDJSON of pages, which
`pl.read_ndjson` parses straight into the declared schema. `ignore_errors` makes a value of the
wrong shape (a string where an object is declared) null instead of failing the batch.

That read is the reference, and the fastest for ordinary pages. It is slow on lists of objects
inside records and on very long bodies (figures in benchmarks/README.md, "Design notes"), so a
chunk that has such lists, or bodies over `LARGE_BODY_BYTES` on average, is first decoded with
`str.json_decode` and the same dtype, equal on well-formed pages but strict: any value of the
wrong shape fails the whole call, whose bodies are then read the direct way. `str.json_decode`
reads one shape differently from the direct read without failing, a lone scalar where a list of
scalars is declared (it makes a one-element list); a run with one has it nulled first, or goes
straight to the direct read (below), so the result is always the direct read's.

`str.json_decode` is called on about `DECODE_BYTES` of bodies at a time, because it copies the
bodies it is given into one document and its cost grows with the call. A run that fails falls
back to the direct read on its own, so one odd page costs only its run.

A run often fails for a placeholder: a scalar, or an empty list or object of the other shape,
where a key only ever holds an object or a list (`"price": []` for an empty price object, as some
servers write it). The direct read makes such a value null, and so does writing `null` in its
place; a failed run is therefore decoded again with its placeholders nulled, and read the direct
way, which costs several times as much, only if that fails too. Once a run of a chunk needed it,
the chunk's later runs are nulled before their first decode. A key that is an object in one place
and a list in another (a vehicle's `attributes`, and the list inside it) has only its scalars
nulled: an empty list or object is right in one of its places. A run with a lone scalar for a
list of scalars is nulled before its decode too, and read the direct way if one is left (its key
is also declared a scalar, or the direct read would reject its value).

Only a body that is not JSON at all fails the direct read; then the chunk is split in halves until
the bad pages are isolated, and they are reported as malformed.
"""

from __future__ import annotations

import functools
import itertools
import re

import polars as pl
import pyarrow as pa

from ai_core.transform.schema import DType

CHUNK_BYTES = 12 * 2**20
"""About the bodies extracted per slice: bounds the memory of one decoded chunk, and is large
because each slice pays a fixed cost for the entity's expressions."""
DECODE_BYTES = 2**19
"""Bodies per `str.json_decode` call within a chunk."""
LARGE_BODY_BYTES = 2**20
"""Bodies longer than this on average are decoded with `str.json_decode` first."""
PAGE = "_page"


def byte_runs(sizes: pl.Series, limit: int, multiple: int = 1) -> list[tuple[int, int]]:
    """(start, length) of consecutive runs of items, about `limit` bytes each.

    `sizes` are the items' byte sizes (nulls count as empty). The total is cut into equal steps
    and a run ends where an item starts in the next step. With `multiple` 1 the steps hold at
    most `limit` bytes, so a run holds at most `limit` bytes before its last item. Otherwise their
    number is the multiple of `multiple` that brings them nearest to `limit` (a step then holds
    up to half as much again), so workers given one run each finish together when the items are
    small, and a total just over a multiple of `limit` is not cut into twice the runs.
    """
    if sizes.len() == 0:
        return []
    sizes = sizes.fill_null(0)
    total = int(sizes.sum())
    count = -(-max(1, total) // limit)
    if multiple > 1:
        # Each run costs its worker a fixed price, more than a run somewhat over `limit` does.
        count = max(1, round(total / limit / multiple)) * multiple
    step = max(1, -(-total // count))
    # Bucketing each item by where it starts gives at most `count` runs.
    lengths = ((sizes.cum_sum() - sizes) // step).rle().struct.field("len").to_list()
    starts = itertools.accumulate(lengths, initial=0)
    return list(zip(starts, lengths, strict=False))


def ndjson_bytes(bodies: pl.Series) -> bytes:
    """The bodies as NDJSON: raw newlines become spaces, one body per line."""
    # Replacing copies every body; a scan finds whether any body has a raw newline at all.
    if bodies.str.contains(r"[\r\n]").any():
        bodies = bodies.str.replace_all("\n", " ", literal=True).str.replace_all(
            "\r", " ", literal=True
        )
    lines = bodies + "\n"
    array = lines.to_arrow(compat_level=pl.CompatLevel.oldest())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if len(array) == 0:
        return b""
    # A large_string array stores its values back to back: the bytes between the first and the
    # last offset are the whole document, taken with one copy.
    _, offsets, data = array.buffers()
    assert offsets is not None and data is not None
    bounds = pa.Array.from_buffers(pa.int64(), len(array) + 1, [None, offsets], array.offset)
    first, last = bounds[0].as_py(), bounds[-1].as_py()
    return data.slice(first, last - first).to_pybytes()


def _has_object_lists(dtype: DType, in_list: bool = False) -> bool:
    """Whether the dtype has a list of objects inside the elements of a list."""
    if isinstance(dtype, pl.Struct):
        return any(_has_object_lists(f.dtype, in_list) for f in dtype.fields)
    if isinstance(dtype, pl.List):
        if in_list and isinstance(dtype.inner, pl.Struct):
            return True
        return _has_object_lists(dtype.inner, True)
    return False


def _scalar_lists(dtype: DType) -> list[str]:
    """Key names of lists of scalars, which `str.json_decode` fills from a lone scalar."""
    if isinstance(dtype, pl.Struct):
        names = []
        for field in dtype.fields:
            inner = field.dtype
            if isinstance(inner, pl.List) and not isinstance(inner.inner, pl.Struct | pl.List):
                names.append(field.name)
            names.extend(_scalar_lists(inner))
        return names
    if isinstance(dtype, pl.List):
        return _scalar_lists(dtype.inner)
    return []


_WS = r"[ \t\r\n]*"
"""JSON's whitespace, which is all a valid body has between its tokens."""
_SCALAR = (
    r'(?:"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u(?:[0-9a-cA-Ce-fE-F][0-9a-fA-F]{3}'
    r'|[dD][0-7][0-9a-fA-F]{2}|[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}))*"'
    r"|-?(?:0|[1-9][0-9]{0,17})(?:\.[0-9]+)?(?:[eE][+-]?[0-9]{1,2})?|true|false)"
)
"""A JSON string, number or boolean the direct read accepts, and nothing it rejects: nulling
swaps one value it reads for another, so a body it reports malformed stays malformed. Strings
with a lone surrogate and numbers past a float's range are left alone (their runs go to the
direct read)."""


def key_pattern(name: str) -> str:
    """A regex of the key `name` and its colon."""
    return f'"{re.escape(name)}"{_WS}:{_WS}'


def _key_kinds(dtype: DType) -> dict[str, set[str]]:
    """Each key name of the dtype, at any depth, and what it is declared as in its places:
    `object`, `list` or `scalar`."""
    kinds: dict[str, set[str]] = {}

    def walk(inner: DType) -> None:
        if isinstance(inner, pl.List):
            walk(inner.inner)
        elif isinstance(inner, pl.Struct):
            for field in inner.fields:
                kind = (
                    "object"
                    if isinstance(field.dtype, pl.Struct)
                    else "list"
                    if isinstance(field.dtype, pl.List)
                    else "scalar"
                )
                kinds.setdefault(field.name, set()).add(kind)
                walk(field.dtype)

    walk(dtype)
    return kinds


def _placeholders(dtype: DType) -> list[tuple[str, str]]:
    """A regex and its replacement (the key with `null`) for each key only ever declared as an
    object or a list: the key with a value none of its places can hold, any scalar, or an empty
    list (object) where the key is never a list (object). One per key, as `_key_guards` are."""
    wrong = {
        frozenset({"object"}): rf"{_SCALAR}|\[{_WS}\]",
        frozenset({"list"}): rf"{_SCALAR}|\{{{_WS}\}}",
        frozenset({"object", "list"}): _SCALAR,
    }
    patterns = []
    for name, kind in sorted(_key_kinds(dtype).items()):
        value = wrong.get(frozenset(kind))
        if value is not None:
            replacement = f'"{name}":null'.replace("$", "$$")
            patterns.append((f"{key_pattern(name)}(?:{value})", replacement))
    return patterns


@functools.cache
def placeholder_nulling(dtype: DType) -> pl.Expr | None:
    """An expression over a column of bodies that writes `null` over every placeholder of the
    dtype's keys (see the module's notes), or None when no key can hold one. Kept per dtype:
    drift detection asks for it on every raw group, and building it walks the whole dtype."""
    patterns = _placeholders(dtype)
    if not patterns:
        return None
    nulled = pl.first()
    for pattern, null in patterns:
        nulled = nulled.str.replace_all(pattern, null)
    return nulled


def _key_guards(names: list[str], value: str) -> list[str]:
    """Regexes, one per key of `names`, for that key with a value starting like `value` (a regex
    class); one per key, because an alternation defeats the regex engine's literal prefilter."""
    return [key_pattern(n) + value for n in sorted(set(names))]


class PageDecoder:
    """Decodes bodies as one page dtype, the fast way when it is safe."""

    def __init__(self, dtype: pl.Struct, *, run_bytes: int = DECODE_BYTES) -> None:
        self.dtype = dtype
        self.run_bytes = run_bytes
        self._object_lists = _has_object_lists(dtype)
        # A scalar where a list of scalars is declared: `str.json_decode` makes it a list.
        guards = _key_guards(_scalar_lists(dtype), r"[^\[n \t\r\n]")
        self._ambiguous = (
            pl.any_horizontal([pl.first().str.contains(g) for g in guards]) if guards else None
        )
        # Placeholders are nulled only in a run that needs it: a clean day never pays for them.
        self._nulled = placeholder_nulling(dtype)

    def _read(self, bodies: pl.Series) -> pl.Series:
        frame = pl.read_ndjson(
            ndjson_bytes(bodies),
            schema=pl.Schema({f.name: f.dtype for f in self.dtype.fields}),
            ignore_errors=True,
        )
        if frame.height != bodies.len():
            raise pl.exceptions.ComputeError(
                f"{bodies.len()} bodies decoded to {frame.height} rows: "
                "a body holds several documents"
            )
        return frame.select(pl.struct(pl.all()).alias(PAGE)).to_series()

    def _direct(self, bodies: pl.Series) -> tuple[pl.Series, list[int]]:
        """Decoded pages (null where malformed) and the positions of the malformed ones."""
        try:
            return self._read(bodies), []
        except pl.exceptions.PolarsError:
            if bodies.len() == 1:
                return pl.Series(PAGE, [None], dtype=self.dtype), [0]
        half = bodies.len() // 2
        head, bad_head = self._direct(bodies.slice(0, half))
        tail, bad_tail = self._direct(bodies.slice(half))
        return head.append(tail), bad_head + [half + i for i in bad_tail]

    def _strict(self, bodies: pl.Series) -> pl.Series | None:
        try:
            return bodies.str.json_decode(self.dtype).rename(PAGE)
        except pl.exceptions.PolarsError:
            return None

    def _without_placeholders(self, bodies: pl.Series) -> pl.Series:
        assert self._nulled is not None
        return bodies.to_frame().select(self._nulled).to_series()

    def _lone_scalar(self, bodies: pl.Series) -> bool:
        assert self._ambiguous is not None
        return bool(bodies.to_frame().select(self._ambiguous).to_series().any())

    def _strict_first(self, bodies: pl.Series) -> tuple[pl.Series, list[int]]:
        """Bodies read with `str.json_decode` run by run, a run the direct way where it must."""
        pages: list[pl.Series] = []
        bad: list[int] = []
        # Scanned once for the chunk: a query per run costs more than the scan when runs are
        # a page or two.
        ambiguous = (
            bodies.to_frame().select(self._ambiguous).to_series()
            if self._ambiguous is not None
            else None
        )
        nulling = False
        for start, length in byte_runs(bodies.str.len_bytes(), self.run_bytes):
            run = bodies.slice(start, length)
            decoded = None
            if ambiguous is not None and ambiguous.slice(start, length).any():
                # Nulled, the run is read the fast way only if no lone scalar is left in it.
                if self._nulled is not None:
                    nulled = self._without_placeholders(run)
                    if not self._lone_scalar(nulled):
                        decoded = self._strict(nulled)
            else:
                decoded = self._strict(self._without_placeholders(run) if nulling else run)
                if decoded is None and not nulling and self._nulled is not None:
                    decoded = self._strict(self._without_placeholders(run))
                    nulling = decoded is not None
            if decoded is None:
                decoded, bad_in_run = self._direct(run)
                bad.extend(start + i for i in bad_in_run)
            pages.append(decoded)
        # One chunk: the explode of the records and their columns would otherwise align the
        # runs' chunks again and again, at several times the cost of this one copy.
        return pl.concat(pages, rechunk=True), bad

    def decode_chunk(self, bodies: pl.Series) -> tuple[pl.Series, list[int]]:
        """One chunk of non-blank bodies: pages and positions of malformed ones."""
        # Without lists of objects inside records the direct read is the faster one as well.
        strict_first = (
            self._object_lists or bodies.str.len_bytes().sum() > LARGE_BODY_BYTES * bodies.len()
        )
        return self._strict_first(bodies) if strict_first else self._direct(bodies)

    def decode(self, bodies: pl.Series) -> tuple[pl.Series, pl.Series]:
        """Each body decoded (one struct per body, in order) and a malformed flag.

        Blank bodies are malformed without being read: NDJSON readers skip blank lines, which
        would shift every page after them.
        """
        # A regex anchored at the start stops at the first other character; stripping would
        # copy every body.
        blank = bodies.is_null() | bodies.str.contains(r"^[ \t\r\n]*$")
        if not blank.any():
            pages, bad = self.decode_chunk(bodies)
            return pages, pl.int_range(bodies.len(), eager=True).is_in(bad).alias("_malformed")
        readable = blank.not_().arg_true()
        pages, bad = (
            self.decode_chunk(bodies.gather(readable))
            if readable.len()
            else (
                pl.Series(PAGE, [], dtype=self.dtype),
                [],
            )
        )
        placed = pl.DataFrame({"index": readable, PAGE: pages}).with_columns(
            pl.int_range(pl.len()).is_in(bad).alias("bad")
        )
        aligned = pl.DataFrame(
            {"index": pl.int_range(bodies.len(), eager=True, dtype=pl.UInt32)}
        ).join(placed, on="index", how="left", maintain_order="left")
        return aligned[PAGE], (blank | aligned["bad"].fill_null(False)).alias("_malformed")
