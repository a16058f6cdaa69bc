"""The IO manager inside real Dagster runs (`dg.materialize`) on a real catalog."""

# Dagster reads these annotations at definition time, so they stay real objects (no PEP 563).

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
import pyarrow as pa
import pytest

from ai_core.iceberg.catalog import load_catalog
from ai_core.iceberg.io_manager import IcebergIOManager
from ai_core.iceberg.output import PartitionOutput
from ai_core.iceberg.reader import arrow_table
from ai_core.raw.result import RawFetchResult, RawPage

DAYS = dg.DailyPartitionsDefinition(start_date="2026-11-01")
D1, D2, D3 = "2026-11-10", "2026-11-11", "2026-11-12"
FETCHED = dt.datetime(2026, 11, 10, 10, tzinfo=dt.UTC)


def fetch(day: str) -> Iterator[pa.Table]:
    """Two sub-resources of two pages each as raw rows; the bodies say which day and page."""
    for sub in ("J/IUJ", "D/IUD"):
        pages = [
            RawPage(
                n,
                f"https://x/{sub}?p={n}",
                {"pageNumber": n},
                200,
                f"{day} {sub} {n}".encode(),
                FETCHED,
            )
            for n in (1, 2)
        ]
        yield RawFetchResult(sub, pages).to_arrow(dt.date.fromisoformat(day))


class CountingStream(PartitionOutput):
    """An output whose chunks the IO manager consumes, then asks what to drop and report."""

    def __init__(self, day: str) -> None:
        self.day = day
        self.seen = 0

    def chunks(self) -> Iterator[pa.Table]:
        for rows in fetch(self.day):
            self.seen += rows.num_rows
            yield rows

    def rows_to_drop(self, staged: Any) -> dict[int, list[int]]:
        # The second page of the second chunk, read back from the staged files to prove it.
        (body,) = staged.rows({1: [1]}).column("_response_body").to_pylist()
        assert body == f"{self.day} D/IUD 2"
        return {1: [1]}

    def snapshot_properties(self) -> dict[str, str]:
        return {"pages_seen": str(self.seen)}

    def output_metadata(self) -> dict[str, Any]:
        return {"pages": self.seen, "retries": 2}


@dg.asset(key=["shop", "raw", "pages"], partitions_def=DAYS)
def pages(context: dg.AssetExecutionContext) -> dg.Output[Any]:
    # A bare returned generator would be taken for a stream of Dagster events.
    return dg.Output(fetch(context.partition_key))


@dg.asset(key=["shop", "raw", "streamed"], partitions_def=DAYS)
def streamed(context: dg.AssetExecutionContext) -> CountingStream:
    return CountingStream(context.partition_key)


@dg.asset(
    key=["shop", "transformed", "lazy"],
    partitions_def=DAYS,
    ins={"rows": dg.AssetIn(["shop", "raw", "pages"])},
)
def lazy(rows: pl.LazyFrame) -> pl.LazyFrame:
    return rows.select("_sub_resource", "_page_number", "_response_body")


@dg.asset(
    key=["shop", "transformed", "batches"],
    partitions_def=DAYS,
    ins={"rows": dg.AssetIn(["shop", "raw", "pages"])},
)
def batches(rows: pa.RecordBatchReader) -> pa.Table:
    assert isinstance(rows, pa.RecordBatchReader)
    return rows.read_all().select(["_sub_resource", "_page_number", "_response_body"])


@dg.asset(
    key=["shop", "transformed", "eager"],
    partitions_def=DAYS,
    ins={"rows": dg.AssetIn(["shop", "raw", "pages"])},
)
def eager(rows: pl.DataFrame) -> pl.DataFrame:
    assert isinstance(rows, pl.DataFrame)
    return rows.select("_page_number", "_response_body")


@dg.asset(
    key=["shop", "transformed", "arrow"],
    partitions_def=DAYS,
    ins={"rows": dg.AssetIn(["shop", "raw", "pages"])},
)
def arrow(rows: pa.Table) -> pa.Table:
    assert isinstance(rows, pa.Table)
    return rows.select(["_page_number", "_response_body"])


@dg.asset(
    key=["shop", "transformed", "count"],
    partitions_def=DAYS,
    ins={"rows": dg.AssetIn(["shop", "raw", "pages"])},
)
def count(rows: pl.LazyFrame) -> pl.DataFrame:
    return rows.select(pl.len().alias("n")).collect()


@dg.asset(
    key=["shop", "transformed", "two_days"],
    partitions_def=DAYS,
    ins={
        "rows": dg.AssetIn(
            ["shop", "raw", "pages"],
            partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1),
        )
    },
)
def two_days(rows: pl.LazyFrame) -> pl.DataFrame:
    return (
        rows.rename({"_partition_date": "source_day"})
        .group_by("source_day")
        .agg(pl.len().alias("pages"))
        .sort("source_day")
        .collect()
    )


@dg.asset(
    key=["shop", "transformed", "optional"],
    partitions_def=DAYS,
    ins={"rows": dg.AssetIn(["shop", "raw", "pages"])},
)
def optional(rows: pl.LazyFrame | None) -> pl.DataFrame:
    assert rows is not None
    return rows.select(pl.len().alias("n")).collect()


@dg.asset(key=["shop", "transformed", "nothing"], partitions_def=DAYS)
def nothing() -> None:
    return None


@dg.asset(key=["shop", "report", "all_days"], ins={"rows": dg.AssetIn(["shop", "raw", "pages"])})
def all_days(rows: pl.LazyFrame) -> dg.MaterializeResult:
    days = rows.select(pl.col("_partition_date").unique().sort()).collect().to_series().to_list()
    return dg.MaterializeResult(metadata={"days": [d.isoformat() for d in days]})


@dg.asset(key=["shop", "transformed", "undated"])
def undated() -> pl.DataFrame:
    return pl.DataFrame({"x": [1]})


ALL = [
    pages,
    streamed,
    lazy,
    batches,
    eager,
    arrow,
    count,
    two_days,
    optional,
    nothing,
    all_days,
    undated,
]


@pytest.fixture
def io_manager(tmp_path: Path) -> IcebergIOManager:
    return IcebergIOManager(data_dir=str(tmp_path))


def run(
    io_manager: IcebergIOManager, selection: str | dg.AssetSelection, day: str, **kwargs: Any
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        ALL, selection=selection, partition_key=day, resources={"io_manager": io_manager}, **kwargs
    )


def stored(tmp_path: Path, name: str, day: str) -> pa.Table:
    return arrow_table(load_catalog(tmp_path).load_table(name), [dt.date.fromisoformat(day)])


def test_generator_output_is_written_with_run_metadata(
    io_manager: IcebergIOManager, tmp_path: Path
) -> None:
    result = run(io_manager, "shop/raw/pages", D1)
    rows = stored(tmp_path, "shop_raw.pages", D1)
    assert rows.column("_response_body").to_pylist() == [
        f"{D1} {sub} {n}" for sub in ("J/IUJ", "D/IUD") for n in (1, 2)
    ]
    (event,) = result.get_asset_materialization_events()
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    assert meta["table"] == "shop_raw.pages" and meta["dagster/table_name"] == "shop_raw.pages"
    assert (meta["rows"], meta["chunks"], meta["files"]) == (4, 2, 1)
    assert meta["dagster/row_count"] == 4 and int(meta["bytes"]) > 0  # type: ignore[arg-type]
    assert str(meta["location"]).endswith("warehouse/shop_raw/pages")
    table_columns = load_catalog(tmp_path).load_table("shop_raw.pages").schema().column_names
    schema = meta["dagster/column_schema"]
    assert isinstance(schema, dg.TableSchema)
    assert [c.name for c in schema.columns] == table_columns
    assert meta["columns"] == len(table_columns)
    kinds = {c.name: c.type for c in schema.columns}
    assert kinds["_partition_date"] == "date" and kinds["_response_body"] == "string"
    snapshot = load_catalog(tmp_path).load_table("shop_raw.pages").current_snapshot()
    assert snapshot is not None and meta["snapshot_id"] == str(snapshot.snapshot_id)
    summary = snapshot.summary.additional_properties  # type: ignore[union-attr]
    assert summary["dagster.run_id"] == result.run_id
    assert summary["dagster.partition_key"] == D1
    assert summary["dagster.asset_key"] == "shop/raw/pages"


def test_a_partition_output_drops_rows_records_properties_and_reports(
    io_manager: IcebergIOManager, tmp_path: Path
) -> None:
    result = run(io_manager, "shop/raw/streamed", D1)
    (event,) = result.get_asset_materialization_events()
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    assert (meta["pages"], meta["retries"], meta["rows"]) == (4, 2, 3)
    assert stored(tmp_path, "shop_raw.streamed", D1).column("_response_body").to_pylist() == [
        f"{D1} J/IUJ 1",
        f"{D1} J/IUJ 2",
        f"{D1} D/IUD 1",
    ]
    snapshot = load_catalog(tmp_path).load_table("shop_raw.streamed").current_snapshot()
    assert snapshot is not None
    assert snapshot.summary.additional_properties["pages_seen"] == "4"  # type: ignore[union-attr]


def test_downstream_reads_only_its_partition(io_manager: IcebergIOManager, tmp_path: Path) -> None:
    for day in (D1, D2):
        run(io_manager, "shop/raw/pages", day)
    # Remove the other day's files: a reader that opened them would fail.
    for path in (tmp_path / "warehouse" / "shop_raw" / "pages" / "data").glob(
        f"_partition_date={D1}/*"
    ):
        path.unlink()
    both = dg.AssetSelection.assets(
        ["shop", "transformed", "lazy"], ["shop", "transformed", "batches"]
    )
    result = run(io_manager, both, D2)
    assert result.success
    expected = [f"{D2} {sub} {n}" for sub in ("J/IUJ", "D/IUD") for n in (1, 2)]
    assert (
        stored(tmp_path, "shop_transformed.lazy", D2).column("_response_body").to_pylist()
        == expected
    )
    assert (
        stored(tmp_path, "shop_transformed.batches", D2).column("_response_body").to_pylist()
        == expected
    )


def test_eager_inputs_and_a_partition_mapping(io_manager: IcebergIOManager, tmp_path: Path) -> None:
    for day in (D1, D2):
        run(io_manager, "shop/raw/pages", day)
    eager_assets = dg.AssetSelection.assets(
        ["shop", "transformed", "eager"],
        ["shop", "transformed", "arrow"],
        ["shop", "transformed", "two_days"],
    )
    result = run(io_manager, eager_assets, D2)
    assert result.success
    expected = [f"{D2} {sub} {n}" for sub in ("J/IUJ", "D/IUD") for n in (1, 2)]
    for name in ("shop_transformed.eager", "shop_transformed.arrow"):
        assert stored(tmp_path, name, D2).column("_response_body").to_pylist() == expected
    two = stored(tmp_path, "shop_transformed.two_days", D2)
    assert two.column("source_day").to_pylist() == [dt.date(2026, 11, 10), dt.date(2026, 11, 11)]
    assert two.column("pages").to_pylist() == [4, 4]


def test_a_missing_upstream_day_is_a_clear_error(io_manager: IcebergIOManager) -> None:
    run(io_manager, "shop/raw/pages", D1)
    result = run(io_manager, "shop/transformed/count", D3, raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = str(failure.step_failure_data.error)
    assert "shop_raw.pages has no partition 2026-11-12" in message


def test_a_missing_table_is_a_clear_error_and_optional_inputs_get_empty_days(
    io_manager: IcebergIOManager, tmp_path: Path
) -> None:
    result = run(io_manager, "shop/transformed/count", D1, raise_on_error=False)
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert "table shop_raw.pages does not exist" in str(failure.step_failure_data.error)
    run(io_manager, "shop/raw/pages", D1)
    assert run(io_manager, "shop/transformed/optional", D3).success
    assert stored(tmp_path, "shop_transformed.optional", D3).column("n").to_pylist() == [0]


def test_none_writes_nothing_and_unpartitioned_assets_are_refused(
    io_manager: IcebergIOManager, tmp_path: Path
) -> None:
    assert run(io_manager, "shop/transformed/nothing", D1).success
    assert load_catalog(tmp_path).list_namespaces() == []
    result = dg.materialize(
        ALL,
        selection="shop/transformed/undated",
        resources={"io_manager": io_manager},
        raise_on_error=False,
    )
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert "needs a daily partition" in str(failure.step_failure_data.error)


def test_an_unpartitioned_reader_gets_every_written_day(io_manager: IcebergIOManager) -> None:
    for day in (D1, D3):
        run(io_manager, "shop/raw/pages", day)
    resources = {"io_manager": io_manager}
    result = dg.materialize(ALL, selection="shop/report/all_days", resources=resources)
    (event,) = result.get_asset_materialization_events()
    assert event.materialization.metadata["days"].value == [D1, D3]
