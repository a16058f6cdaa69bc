"""`IcebergIOManager`: each asset is a table, each daily partition a replaceable day of it.

Outputs: `None` (nothing is written), a `PartitionOutput` (see `output.py`), a `pa.Table`,
`pa.RecordBatch`, `pl.DataFrame`, `pl.LazyFrame` (collected in streaming batches), or any iterable
of those tables and frames, such as a generator: each item is a chunk, written as it arrives, and
the day becomes visible in one commit when the chunks are exhausted.

Inputs are views of the upstream's partitions (all of them when a partition mapping asks for
several; the whole table when the upstream or the reading run is not partitioned), chosen by the
annotation:
`pl.LazyFrame` (also the default for unannotated inputs), `pa.RecordBatchReader`, `pa.Table`,
`pl.DataFrame`. A day that was never written is an error naming the table and the day. An
input annotated as optional (`pl.LazyFrame | None`) instead gets None when the table does not
exist and an empty view, with the table's columns, for days never written.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import dagster as dg
import polars as pl
import pyarrow as pa

from ai_core.iceberg import columns, reader, tables
from ai_core.iceberg.identifiers import asset_label, table_identifier, table_name
from ai_core.iceberg.output import PartitionOutput
from ai_core.iceberg.reader import MissingPartitionError
from ai_core.iceberg.schema import Chunk
from ai_core.iceberg.settings import IcebergCatalogConfig
from ai_core.iceberg.writer import write_partition

_CHUNK_TYPES = (pa.Table, pa.RecordBatch, pl.DataFrame)


class IcebergIOManager(dg.ConfigurableIOManager, IcebergCatalogConfig):
    """Stores daily-partitioned assets as Iceberg tables named after their asset keys."""

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        label = asset_label(context.asset_key)
        if obj is None:
            context.log.info(f"{label}: the asset returned None, nothing written")
            return
        day = _output_date(context, label)
        properties = {
            "dagster.run_id": context.run_id,
            "dagster.partition_key": day.isoformat(),
            "dagster.asset_key": label,
        }
        lazy = obj if isinstance(obj, PartitionOutput) else None
        report = write_partition(
            self.catalog(),
            table_identifier(context.asset_key),
            day,
            lazy.chunks() if lazy is not None else iter_chunks(obj, label),
            snapshot_properties=properties,
            max_commit_attempts=self.max_commit_attempts,
            rows_to_drop=lazy.rows_to_drop if lazy is not None else None,
            late_properties=lazy.snapshot_properties if lazy is not None else None,
        )
        metadata: dict[str, Any] = {
            **report.as_metadata(),
            "location": dg.MetadataValue.path(report.location),
            "dagster/row_count": report.rows,
            "dagster/table_name": report.table,
            "dagster/column_schema": self._documented_columns(
                context, lazy.column_docs() if lazy is not None else {}
            ),
        }
        if lazy is not None:
            metadata.update(lazy.output_metadata())
        context.add_output_metadata(metadata)

    def _documented_columns(
        self, context: dg.OutputContext, written_docs: Mapping[str, str]
    ) -> dg.TableSchema:
        """The table's columns after the write, their docs set from the asset's declared ones
        and, for tables whose columns are known only once written, from the output's own."""
        table = self.catalog().load_table(table_identifier(context.asset_key))
        docs = dict(written_docs)
        declared = context.definition_metadata.get("dagster/column_schema")
        if isinstance(declared, dg.TableSchema):
            docs.update({c.name: c.description for c in declared.columns if c.description})
        table = columns.apply_docs(table, docs)
        return dg.TableSchema(
            columns=[
                dg.TableColumn(name, kind, description=doc)
                for name, kind, doc in columns.columns(table)
            ]
        )

    def load_input(self, context: dg.InputContext) -> Any:
        view, optional = _requested_view(context)
        name = table_name(context.asset_key)
        table = tables.load_table_or_none(self.catalog(), table_identifier(context.asset_key))
        if table is None:
            if optional:
                return None
            raise MissingPartitionError(
                f"table {name} does not exist: materialize {asset_label(context.asset_key)} "
                f"before {context.name}"
            )
        dates = _input_dates(context)
        if dates is not None and not optional:
            reader.require_dates(table, dates)
        if view is pa.RecordBatchReader:
            return reader.arrow_batches(table, dates)
        if view is pa.Table:
            return reader.arrow_table(table, dates)
        if view is pl.DataFrame:
            return pl.from_arrow(reader.arrow_table(table, dates))
        return reader.lazy_frame(table, dates)


def iter_chunks(obj: Any, label: str) -> Iterator[Chunk]:
    """The output as a stream of writable chunks, one level of iterables flattened."""
    if isinstance(obj, _CHUNK_TYPES):
        yield obj
    elif isinstance(obj, pl.LazyFrame):
        yield from obj.collect_batches(lazy=True)
    elif isinstance(obj, pa.RecordBatchReader):
        yield from obj
    elif isinstance(obj, Iterable) and not isinstance(obj, str | bytes | Mapping):
        for item in obj:
            if isinstance(item, _CHUNK_TYPES):
                yield item
            elif isinstance(item, pl.LazyFrame):
                yield from item.collect_batches(lazy=True)
            else:
                raise TypeError(
                    f"{label}: cannot store a chunk of type {type(item).__name__}; {_ACCEPTED}"
                )
    else:
        raise TypeError(
            f"{label}: cannot store an output of type {type(obj).__name__}; {_ACCEPTED}"
        )


_ACCEPTED = (
    "return a PartitionOutput, a pyarrow Table/RecordBatch, a polars DataFrame/LazyFrame, "
    "or an iterable of those tables and frames"
)


def _output_date(context: dg.OutputContext, label: str) -> dt.date:
    if not context.has_partition_key:
        raise dg.Failure(
            f"{label} is stored in Iceberg by day and needs a daily partition: give the asset a "
            "daily partitions definition and launch it for a partition"
        )
    keys = context.asset_partition_keys
    if len(keys) != 1:
        raise dg.Failure(
            f"{label}: one run wrote partitions {keys[0]}..{keys[-1]}; the Iceberg IO manager "
            "replaces one day per output, so backfill one partition per run"
        )
    return _parse_day(keys[0], label)


def _parse_day(key: str, label: str) -> dt.date:
    try:
        return dt.date.fromisoformat(key)
    except ValueError as exc:
        raise dg.Failure(
            f"{label}: partition key {key!r} is not a day (YYYY-MM-DD); the Iceberg IO manager "
            "stores daily partitions"
        ) from exc


def _input_dates(context: dg.InputContext) -> list[dt.date] | None:
    # An unpartitioned reader of a daily upstream gets every day written so far, rather than
    # failing on each day of the partitions definition that was never run.
    if not context.has_asset_partitions or not context.has_partition_key:
        return None
    label = asset_label(context.asset_key)
    return [_parse_day(key, label) for key in context.asset_partition_keys]


_VIEWS = (pl.LazyFrame, pa.RecordBatchReader, pa.Table, pl.DataFrame)


def _requested_view(context: dg.InputContext) -> tuple[type, bool]:
    """The annotated type to return and whether the input accepts None."""
    wanted: Any = context.dagster_type.typing_type if context.dagster_type else Any
    optional = False
    if typing.get_origin(wanted) in (typing.Union, types.UnionType):
        members = typing.get_args(wanted)
        optional = type(None) in members
        rest = [m for m in members if m is not type(None)]
        wanted = rest[0] if len(rest) == 1 else Any
    if context.dagster_type and context.dagster_type.is_nothing:
        return pl.LazyFrame, optional
    if wanted in _VIEWS:
        return wanted, optional
    if wanted in (Any, object, None) or wanted is typing.Any:
        return pl.LazyFrame, optional
    raise TypeError(
        f"input {context.name!r} from {asset_label(context.asset_key)} is annotated "
        f"{wanted!r}; the Iceberg IO manager provides pl.LazyFrame (default), "
        "pa.RecordBatchReader, pa.Table or pl.DataFrame"
    )
