"""JSON documents carried as strings inside raw bodies, decoded in place before extraction.

A warehouse column can hold a JSON document as text (DealerConnect's `poc`). Entity declarations
read paths into objects, so each such string is replaced by the object it encodes, in a copy of
the page; the stored raw page stays verbatim. A document that cannot be read becomes
`{"_error": <why>, "_text": <first 200 characters>}`: a string that is not JSON (`not JSON`),
JSON that is not an object, such as `null`, `[]` or `"N/A"` (`not a JSON object`), or no
document at all (`missing`, a null column). So it is kept, counted and reported by the entity,
and never stops the day.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import orjson
import pyarrow as pa

BODY = "_response_body"
NOT_JSON = "not JSON"
NOT_OBJECT = "not a JSON object"
MISSING = "missing"


def _read(value: object) -> tuple[Any, str | None]:
    """The document a column holds (a JSON object, or its text), or why there is none."""
    if value is None:
        return None, MISSING
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return None, NOT_JSON
    return (value, None) if isinstance(value, dict) else (None, NOT_OBJECT)


def document_error(value: object) -> str | None:
    """Why `value`, a column meant to hold a JSON object, cannot be read; None if it can."""
    return _read(value)[1]


def _decode(value: object) -> Any:
    document, error = _read(value)
    if error is None:
        return document
    if value is None:
        return {"_error": error}
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return {"_error": error, "_text": text[:200]}


def _expand(node: Any, fields: frozenset[str]) -> Any:
    if isinstance(node, dict):
        return {k: _decode(v) if k in fields else _expand(v, fields) for k, v in node.items()}
    if isinstance(node, list):
        return [_expand(v, fields) for v in node]
    return node


def expand_body(body: str | bytes, fields: Sequence[str]) -> bytes:
    """The page with the document under every key in `fields` decoded, or replaced by why it
    cannot be read; a page not JSON is kept."""
    try:
        page = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.encode() if isinstance(body, str) else body
    return orjson.dumps(_expand(page, frozenset(fields)))


def expand_batch(batch: pa.RecordBatch, fields: Sequence[str]) -> pa.RecordBatch:
    index = batch.schema.get_field_index(BODY)
    bodies = batch.column(index).to_pylist()
    expanded = [None if b is None else expand_body(b, fields).decode() for b in bodies]
    column = pa.array(expanded, batch.schema.field(index).type)
    return batch.set_column(index, batch.schema.field(index), column)


def expand_reader(raw: pa.RecordBatchReader, fields: Sequence[str]) -> pa.RecordBatchReader:
    """`raw` with the embedded documents of every body decoded, batch by batch."""

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in raw:
            yield expand_batch(batch, fields)

    return pa.RecordBatchReader.from_batches(raw.schema, batches())
