"""The transformed tier as the original deployment did it: one Pydantic object per record.

For each raw page of the day: `orjson.loads` the body, validate every record into the entity
class and dump it back to a dict, build one small Polars frame per page, concatenate the pages,
then hash each row with MD5 over its stringified columns in Python, and write the table. Nothing
here is slowed on purpose; it is the straightforward per-record path, measured as it is.

Stage params (the entity and the record path are named, so any Pydantic class fits):

| param | meaning |
|---|---|
| `entity` | `module:Class`, a Pydantic model of one record |
| `records` | `module:function`, `function(page) -> iterable of record dicts` for one parsed body |
| `source_table` | raw table to read, default `stellantis_raw.public_inventory` |
| `target_table` | table to write, default `benchmarks_baseline.<stage name>` |
"""

from __future__ import annotations

import hashlib
import importlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import orjson
import polars as pl
import pyarrow.compute as pc
from pydantic import BaseModel

from benchmarks.baselines.tables import open_catalog, raw_page_batches, write_table
from benchmarks.context import StageContext

HASH_COLUMN = "_snapshot_hash"
DEFAULT_SOURCE = "stellantis_raw.public_inventory"

RecordsOf = Callable[[Any], Iterable[Mapping[str, Any]]]


def resolve(ref: str, what: str) -> Any:
    """Import `module:attribute`, naming the stage param when it cannot be found."""
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise ValueError(f"per_record param {what}={ref!r} must be 'module:attribute'")
    value = getattr(importlib.import_module(module_name), attr, None)
    if value is None:
        raise ValueError(f"per_record param {what}={ref!r}: {module_name} has no {attr}")
    return value


def page_frames(
    bodies: Iterable[str | bytes], entity: type[BaseModel], records_of: RecordsOf
) -> Iterator[pl.DataFrame]:
    """One frame per page that holds records: parse, validate and dump each record."""
    for body in bodies:
        page = orjson.loads(body)
        rows = [entity.model_validate(record).model_dump() for record in records_of(page)]
        if rows:
            yield pl.from_dicts(rows, infer_schema_length=None)


def row_hashes(frame: pl.DataFrame) -> pl.Series:
    """MD5 of each row's columns, stringified and joined with `|`."""
    return pl.Series(
        HASH_COLUMN,
        [
            hashlib.md5("|".join(str(v) for v in row).encode()).hexdigest()
            for row in frame.iter_rows()
        ],
        dtype=pl.String,
    )


def concat_pages(frames: list[pl.DataFrame], entity: type[BaseModel]) -> pl.DataFrame:
    """The pages' frames as one.

    Pages infer their own dtypes, so a column that is null on one page and text on another is
    relaxed to fit both.
    """
    if not frames:
        raise ValueError(f"no {entity.__name__} records in the raw pages: nothing to baseline")
    frame = pl.concat(frames, how="diagonal_relaxed")
    # A column null on every page of the day has no inferred type, and a table cannot store
    # that: text is what the original deployment stored for it.
    untyped = [name for name, dtype in frame.schema.items() if dtype == pl.Null]
    return frame.with_columns(pl.col(untyped).cast(pl.String)) if untyped else frame


def run(context: StageContext) -> dict[str, Any]:
    """Read the day's raw pages, transform them record by record, write the baseline table."""
    entity = resolve(str(context.params.get("entity", "")), "entity")
    if not (isinstance(entity, type) and issubclass(entity, BaseModel)):
        raise TypeError(f"per_record param entity={context.params['entity']!r} is not a model")
    records_of: RecordsOf = resolve(str(context.params.get("records", "")), "records")
    source = str(context.params.get("source_table", DEFAULT_SOURCE))
    target = str(context.params.get("target_table", f"benchmarks_baseline.{context.stage_name}"))
    catalog = open_catalog(context.data_dir)

    timings: dict[str, float] = {}
    started = time.perf_counter()
    frames: list[pl.DataFrame] = []
    pages = raw_bytes = 0
    for batch in raw_page_batches(catalog, source, context.partition):
        column = batch.column("_response_body")
        pages += len(column)
        raw_bytes += pc.sum(pc.binary_length(column)).as_py() or 0
        bodies = column.to_pylist()
        frames.extend(page_frames(bodies, entity, records_of))
    frame = concat_pages(frames, entity)
    del frames
    timings["read_validate_s"] = time.perf_counter() - started

    started = time.perf_counter()
    frame = frame.with_columns(row_hashes(frame))
    timings["hash_s"] = time.perf_counter() - started

    started = time.perf_counter()
    written = write_table(catalog, target, frame, context.partition)
    timings["write_s"] = time.perf_counter() - started

    return {
        **written,
        "pages_read": pages,
        "raw_bytes_read": raw_bytes,
        "columns": frame.width,
        "target_table": target,
        **{k: round(v, 3) for k, v in timings.items()},
        "extract_seconds": round(timings["read_validate_s"] + timings["hash_s"], 3),
    }
