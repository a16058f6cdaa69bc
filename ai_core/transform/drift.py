"""Upstream keys the declaration does not know, and declared keys the upstream stopped sending.

Unknown keys are named and counted, never dropped silently. A declared key absent from every
sampled record is named too (`missing_paths`): its column will be empty.

The decode schema of a plan lists every key the declaration reads; anything else the upstream
sends is drift unless the entity lists it in `ignored_keys`. Detection infers the schema of a
sample of pages (one vectorised schema-less decode, no Python per record) and walks it against
the decode schema. The sample covers the first page of every sub-resource and pages spread over
the batch, so a key that appears on a few pages only may be missed; once named, a key is counted
over every body with a literal scan. Below a value whose type varies within the sample (an
object in one record, a string in another) inference gives text and the keys under it are not
listed, unless the odd one is a placeholder of a key the declaration holds only as an object or
a list (`decode.placeholder_nulling`), which is nulled first; sampled pages whose shapes cannot
be reconciled at all (an object in one, a list in another) are inferred one page at a time, and
answers that are not JSON objects are skipped.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa

from ai_core.transform.decode import key_pattern, ndjson_bytes, placeholder_nulling
from ai_core.transform.schema import DType

SAMPLE_PAGES = 12
SAMPLE_SHARE = 50
COUNTED_KEYS = 20
DRIFT_SCHEMA = pl.Schema({"key": pl.String(), "occurrences": pl.Int64()})


def _ignored(path: str, ignored: frozenset[str]) -> bool:
    return path in ignored


def unknown_paths(
    found: DType, known: DType, ignored: frozenset[str], prefix: str = ""
) -> list[str]:
    """Key paths (`a.b[].c`) present in `found` and absent from `known`."""
    out: list[str] = []
    if isinstance(found, pl.Struct) and isinstance(known, pl.Struct):
        known_fields = {f.name: f.dtype for f in known.fields}
        for field in found.fields:
            path = f"{prefix}.{field.name}" if prefix else field.name
            if field.name in known_fields:
                out.extend(unknown_paths(field.dtype, known_fields[field.name], ignored, path))
            elif not _ignored(path, ignored):
                out.append(path)
    elif isinstance(found, pl.List) and isinstance(known, pl.List):
        out.extend(unknown_paths(found.inner, known.inner, ignored, f"{prefix}[]"))
    return out


def missing_paths(found: DType, known: DType, prefix: str = "") -> list[str]:
    """Key paths declared in `known` that `found` lacks, the highest missing level only.

    Where `found` is not an object at a declared object's place (all nulls, or shapes that
    disagree and were inferred as text) nothing can be said, and nothing is named. Keys starting
    with `_` are markers the pipeline itself may add (`_error` for a document that is not JSON),
    absent on a good day, so they are never named.
    """
    out: list[str] = []
    if isinstance(found, pl.Struct) and isinstance(known, pl.Struct):
        found_fields = {f.name: f.dtype for f in found.fields}
        for field in known.fields:
            path = f"{prefix}.{field.name}" if prefix else field.name
            if field.name in found_fields:
                out.extend(missing_paths(found_fields[field.name], field.dtype, path))
            elif not field.name.startswith("_"):
                out.append(path)
    elif isinstance(found, pl.List) and isinstance(known, pl.List):
        out.extend(missing_paths(found.inner, known.inner, f"{prefix}[]"))
    return out


def unknown_paths_in_value(
    value: Any, known: DType, ignored: frozenset[str], counts: Counter[str], prefix: str = ""
) -> None:
    """The same walk over one parsed JSON value, counting every occurrence (the per-record path)."""
    if isinstance(value, dict) and isinstance(known, pl.Struct):
        known_fields = {f.name: f.dtype for f in known.fields}
        for name, child in value.items():
            path = f"{prefix}.{name}" if prefix else name
            if name in known_fields:
                unknown_paths_in_value(child, known_fields[name], ignored, counts, path)
            elif not _ignored(path, ignored):
                counts[path] += 1
    elif isinstance(value, list) and isinstance(known, pl.List):
        for element in value:
            unknown_paths_in_value(element, known.inner, ignored, counts, f"{prefix}[]")


def _sample(sub_resources: pl.Series, good: pl.Series, limit: int) -> list[int]:
    """Well-formed pages to infer from: each sub-resource's first, then pages spread evenly;
    one page in `SAMPLE_SHARE`, at most `limit`, so small batches are not read twice over."""
    candidates = good.arg_true()
    if candidates.len() == 0:
        return []
    limit = min(limit, max(2, -(-candidates.len() // SAMPLE_SHARE)))
    subs = sub_resources.gather(candidates)
    firsts = candidates.gather(subs.is_first_distinct().arg_true()).to_list()[:limit]
    step = max(1, candidates.len() // max(1, limit - len(firsts)))
    spread = candidates.gather_every(step).to_list()
    return sorted({*firsts, *spread[: max(0, limit - len(firsts))]})


def _leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1].removesuffix("[]")


def _infer(bodies: pl.Series, nulling: pl.Expr | None = None) -> DType:
    """The dtype the bodies imply together: `str.json_decode` is the cheaper inference on long
    bodies. It fails where records disagree on a value's shape, as over a placeholder (an empty
    list for an empty object: `decode.placeholder_nulling`), which holds no key; so the bodies
    with their placeholders nulled are tried the same way before `read_ndjson`, several times
    slower, which may fail too."""
    try:
        return bodies.str.json_decode(infer_schema_length=None).dtype
    except pl.exceptions.PolarsError:
        pass
    if nulling is not None:
        nulled = bodies.to_frame().select(nulling).to_series()
        with contextlib.suppress(pl.exceptions.PolarsError):
            return nulled.str.json_decode(infer_schema_length=None).dtype
    inferred = pl.read_ndjson(ndjson_bytes(bodies), infer_schema_length=None, ignore_errors=True)
    return pl.Struct(dict(inferred.schema))


def _sample_dtypes(sample: pl.Series, nulling: pl.Expr | None = None) -> list[DType]:
    """The dtype the sampled bodies that are JSON objects imply together, or one per page.

    Pages that disagree on a value's shape (an object in one, a list in another) cannot be
    inferred together; they are then inferred one by one, and a page that cannot be inferred
    at all is left out rather than failing the batch.
    """
    objects = sample.filter(sample.str.strip_chars_start(" \t\r\n").str.starts_with("{"))
    if objects.len() == 0:
        return []
    try:
        return [_infer(objects, nulling)]
    except pl.exceptions.PolarsError:
        dtypes: list[DType] = []
        for index in range(objects.len()):
            with contextlib.suppress(pl.exceptions.PolarsError):
                dtypes.append(_infer(objects.slice(index, 1), nulling))
        return dtypes


@dataclass(frozen=True, slots=True)
class Drift:
    """Keys of a batch's sampled pages: `unknown` (`key`, `occurrences`) and the declared key
    paths absent from every sampled record (`missing`; None when no page could be sampled)."""

    unknown: pl.DataFrame
    missing: frozenset[str] | None


def detect_drift(
    raw: pa.Table,
    good: pl.Series,
    known: pl.Struct,
    ignored: Iterable[str] = (),
    sample_pages: int = SAMPLE_PAGES,
) -> Drift:
    """Unknown key paths in a sample of the well-formed (`good`) pages of a raw batch, with
    how often each key name occurs in all its bodies, and the declared paths the sample lacks."""
    rows = _sample(pl.Series(raw["_sub_resource"]), good, sample_pages)
    if not rows:
        return Drift(pl.DataFrame(schema=DRIFT_SCHEMA), None)
    # Polars gathers the few rows; Arrow's `take` would first join the column's chunks.
    dtypes = _sample_dtypes(
        pl.Series(raw["_response_body"]).gather(rows), placeholder_nulling(known)
    )
    if not dtypes:
        return Drift(pl.DataFrame(schema=DRIFT_SCHEMA), None)
    ignored = frozenset(ignored)
    paths = sorted({p for dtype in dtypes for p in unknown_paths(dtype, known, ignored)})
    missing = frozenset.intersection(*(frozenset(missing_paths(d, known)) for d in dtypes))
    unknown = pl.DataFrame(
        {"key": paths, "occurrences": _occurrences(raw["_response_body"], paths)},
        schema=DRIFT_SCHEMA,
    )
    return Drift(unknown, missing)


def _occurrences(bodies: pa.ChunkedArray, paths: list[str]) -> list[int | None]:
    """How often the leaf key of each of the first `COUNTED_KEYS` paths occurs in the bodies.

    One Polars query counts them all: its regex engine looks for a key's literal before trying
    the rest of the pattern, where Arrow's runs the whole pattern over every byte, several times
    slower on every raw group of a day the upstream added keys (benchmarks/README.md).
    """
    if not paths:
        return []
    column = pl.col("_response_body")
    counted = paths[:COUNTED_KEYS]
    sums = (
        pl.DataFrame({"_response_body": pl.Series(bodies)})
        .select(
            column.str.count_matches(key_pattern(_leaf(p))).sum().alias(str(i))
            for i, p in enumerate(counted)
        )
        .row(0)
    )
    return [int(n or 0) for n in sums] + [None] * (len(paths) - len(counted))


def detect_unknown_keys(
    raw: pa.Table,
    good: pl.Series,
    known: pl.Struct,
    ignored: Iterable[str] = (),
    sample_pages: int = SAMPLE_PAGES,
) -> pl.DataFrame:
    """The unknown keys of `detect_drift`."""
    return detect_drift(raw, good, known, ignored, sample_pages).unknown
