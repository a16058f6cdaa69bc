"""The run's isolated Iceberg catalog as baselines use it: read a raw partition, write a table.

The catalog is the one the pipeline writes under `AI_DATA_DIR`, opened by the project's own
`load_catalog`, so both see the same tables (or the configured catalog, when pyiceberg's
configuration names one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path

import polars as pl
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError

from ai_core.iceberg.catalog import load_catalog
from ai_core.iceberg.writer import write_partition

PARTITION_COLUMN = "_partition_date"


def day_filter(partition: dt.date) -> str:
    """The row filter of one day's partition, in pyiceberg's filter syntax."""
    return f"{PARTITION_COLUMN} = '{partition.isoformat()}'"


def open_catalog(data_dir: Path) -> Catalog:
    """The catalog the pipeline writes for `data_dir`, opened the way its resource opens it."""
    return load_catalog(data_dir)


def raw_page_batches(
    catalog: Catalog,
    table: str,
    partition: dt.date,
    columns: Sequence[str] = ("_response_body",),
) -> Iterator[pa.RecordBatch]:
    """The partition's raw pages in Arrow batches, pruned to the day and to `columns`."""
    try:
        source = catalog.load_table(table)
    except NoSuchTableError:
        raise NoSuchTableError(
            f"baseline input {table} is not in the run's catalog: run the stage that writes it "
            "earlier in the scenario"
        ) from None
    scan = source.scan(
        row_filter=day_filter(partition),
        selected_fields=tuple(columns),
    )
    yield from scan.to_arrow_batch_reader()


def write_table(
    catalog: Catalog, table: str, frame: pl.DataFrame, partition: dt.date
) -> dict[str, int]:
    """Replace the day's partition of `table` with `frame` and say what was written.

    It goes through the pipeline's own partition writer, so a baseline differs from the stage it
    stands for in how it computes the rows, not in how it stores them. Returns `rows`, `bytes`
    (data files) and `files`.
    """
    namespace, _, name = table.rpartition(".")
    if not namespace:
        raise ValueError(f"baseline table {table!r} must be 'namespace.table'")
    report = write_partition(catalog, (namespace, name), partition, [frame])
    return {"rows": report.rows, "bytes": report.bytes, "files": report.files}
