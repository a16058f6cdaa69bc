"""The per-record path: parse each page, `model_validate` each record, `model_dump` it.

This is what the vectorised extractor must agree with, record for record, and the baseline the
benchmarks compare it to. It shares nothing with the extractor but the class declaration and the
hash expression.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
import polars as pl
from pydantic import ValidationError

from ai_core.arrow import Frame, as_polars
from ai_core.raw.layout import value_at
from ai_core.transform.coerce import INT
from ai_core.transform.drift import DRIFT_SCHEMA, unknown_paths_in_value
from ai_core.transform.entity import ITEM, PARENT, Entity
from ai_core.transform.extract import (
    CONTEXT_COLUMNS,
    PAGES_SCHEMA,
    REJECTED_SCHEMA,
    Extraction,
    checks_readable,
)
from ai_core.transform.hashing import snapshot_hash_expr
from ai_core.transform.plan import alias_path, entity_plan
from ai_core.transform.scalars import as_text, text_rule
from ai_core.transform.schema import HASH_COLUMN, transformed_schema


def _nested(record: Any, levels: Sequence[Sequence[str]], view: Any) -> Iterator[Any]:
    items = value_at(record, levels[0])
    if not isinstance(items, list):
        return
    for item in items:
        inner = {ITEM: item, PARENT: view}
        if len(levels) == 1:
            yield inner
        else:
            yield from _nested(item, levels[1:], inner)


def record_views(page: Any, levels: Sequence[Sequence[str]]) -> Iterator[Any]:
    """What `model_validate` sees for each record of a page, in page order."""
    items = value_at(page, levels[0])
    if not isinstance(items, list):
        return
    for item in items:
        if len(levels) == 1:
            yield item
        else:
            yield from _nested(item, levels[1:], item)


def _reason(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in error.errors()
    )


def oracle_extraction(entity: type[Entity], raw: Frame) -> Extraction:
    """The per-record path's rows, rejections, page facts and (exact) unknown keys."""
    plan = entity_plan(entity)
    schema = transformed_schema(entity)
    ignored = frozenset(entity.ignored_keys)
    rows: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    unknown: Counter[str] = Counter()
    unreadable: Counter[str] = Counter()
    checked = [
        (c.name, alias_path(entity, c.name, entity.model_fields[c.name]))
        for c in plan.columns
        if checks_readable(c)
    ]
    columns = [*CONTEXT_COLUMNS, "_http_status", "_response_body"]
    for raw_row in as_polars(raw).select(columns).iter_rows(named=True):
        body = raw_row.pop("_response_body")
        status = raw_row.pop("_http_status")
        context = raw_row
        provenance = {k: v for k, v in raw_row.items() if k != "_request_url"}
        fact = {
            "_sub_resource": context["_sub_resource"],
            "_page_number": context["_page_number"],
            "_fetched_at": context["_fetched_at"],
            "reported_total": None,
            "records": 0,
        }
        pages.append(fact)
        if not 200 <= status < 300:
            fact["status"] = f"http {status}"
            continue
        try:
            page = orjson.loads(body)
        except orjson.JSONDecodeError:
            fact["status"] = "malformed"
            continue
        fact["status"] = "ok"
        if entity.reports_unknown_keys:
            unknown_paths_in_value(page, plan.page_dtype, ignored, unknown)
        totals = (INT.python(value_at(page, path)) for path in plan.totals)
        # A negative total reports nothing (a `-1` for unknown), as the raw tier reads it.
        fact["reported_total"] = next((t for t in totals if t is not None and t >= 0), None)
        for index, view in enumerate(record_views(page, plan.records.levels)):
            fact["records"] += 1
            if not plan.reads_records:
                view = {}  # any element is a record, as in `entity_plan`
            try:
                record = entity.model_validate(view, context=context)
            except ValidationError as error:
                rejected.append(
                    {
                        "_sub_resource": context["_sub_resource"],
                        "_page_number": context["_page_number"],
                        "_record_index": index,
                        "reason": _reason(error),
                    }
                )
                continue
            rows.append(provenance | record.model_dump())
            for name, path in checked:
                sent = text_rule(as_text(value_at(view, path))) is not None
                if sent and getattr(record, name) is None:
                    unreadable[name] += 1
    without_hash = {k: v for k, v in schema.items() if k != HASH_COLUMN}
    frame = pl.from_dicts(rows, schema=without_hash) if rows else pl.DataFrame(schema=without_hash)
    return Extraction(
        rows=frame.with_columns(snapshot_hash_expr(plan.hashed)),
        rejected=pl.DataFrame(rejected, schema=REJECTED_SCHEMA),
        pages=pl.DataFrame(pages, schema=PAGES_SCHEMA),
        unknown_keys=pl.DataFrame(sorted(unknown.items()), schema=DRIFT_SCHEMA, orient="row"),
        unreadable=dict(unreadable),
    )


def oracle_extract(entity: type[Entity], raw: Frame) -> pl.DataFrame:
    """The accepted rows of a raw batch, validated and dumped record by record with Pydantic."""
    return oracle_extraction(entity, raw).rows
