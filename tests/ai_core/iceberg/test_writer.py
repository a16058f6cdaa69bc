"""The day-partition writer against a real SQLite catalog and real Parquet files."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.catalog import Catalog
from pyiceberg.transforms import IdentityTransform

from ai_core.iceberg import commit
from ai_core.iceberg.catalog import load_catalog
from ai_core.iceberg.reader import arrow_table, lazy_frame, written_dates
from ai_core.iceberg.schema import conform
from ai_core.iceberg.staging import WIDE_ROW_GROUP_BYTES, PartitionStager
from ai_core.iceberg.tables import ensure_table, partition_dates
from ai_core.iceberg.writer import write_partition
from ai_core.raw.result import RAW_SCHEMA, RawFetchResult, RawPage
from tests.ai_core.iceberg.writer_proc import SCHEMA, chunked_rows, day_rows, poor_text

TABLE = "shop_raw.items"
D1, D2, D3 = dt.date(2026, 11, 21), dt.date(2026, 11, 22), dt.date(2026, 11, 23)


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return load_catalog(tmp_path)


def day(catalog: Catalog, date: dt.date) -> pa.Table:
    return arrow_table(catalog.load_table(TABLE), [date])


def data_files_on_disk(tmp_path: Path) -> set[Path]:
    return set((tmp_path / "warehouse").rglob("*.parquet"))


def test_first_write_creates_namespace_and_day_partitioned_table(catalog: Catalog) -> None:
    report = write_partition(catalog, TABLE, D1, [day_rows(D1, 0, 4, "a")], schema_hint=SCHEMA)
    table = catalog.load_table(TABLE)
    assert ("shop_raw",) in catalog.list_namespaces()
    (field,) = table.spec().fields
    assert isinstance(field.transform, IdentityTransform)
    assert table.schema().find_field(field.source_id).name == "_partition_date"
    assert table.schema().find_field("seq").required
    assert not table.schema().find_field("tag").required
    assert (report.rows, report.files, report.chunks) == (4, 1, 1)
    assert report.bytes == sum(task.file.file_size_in_bytes for task in table.scan().plan_files())
    assert report.snapshot_id == table.current_snapshot().snapshot_id  # type: ignore[union-attr]
    assert day(catalog, D1).to_pydict() == day_rows(D1, 0, 4, "a").to_pydict()


def test_rerun_replaces_the_day_instead_of_duplicating(catalog: Catalog) -> None:
    write_partition(catalog, TABLE, D1, [day_rows(D1, 0, 5, "first")])
    write_partition(catalog, TABLE, D1, [day_rows(D1, 0, 5, "first")])
    assert day(catalog, D1).num_rows == 5
    write_partition(catalog, TABLE, D1, [day_rows(D1, 100, 2, "second")])
    assert day(catalog, D1).to_pydict() == day_rows(D1, 100, 2, "second").to_pydict()


def test_reruns_of_a_day_leave_no_manifests_of_deleted_files_behind(catalog: Catalog) -> None:
    write_partition(catalog, TABLE, D1, [day_rows(D1, 0, 3, "d1")])
    write_partition(catalog, TABLE, D2, [day_rows(D2, 0, 4, "d2")])
    for run in range(4):
        write_partition(catalog, TABLE, D1, [day_rows(D1, 10 * run, 2, f"rerun-{run}")])
    table = catalog.load_table(TABLE)
    current = table.current_snapshot()
    assert current is not None and current.parent_snapshot_id is not None
    manifests = current.manifests(table.io)
    # One manifest a day, and this commit's record of the files it replaced; the earlier
    # reruns' records stay with their own snapshots.
    deleted_only = [m for m in manifests if not (m.has_added_files() or m.has_existing_files())]
    assert len(manifests) == 3
    assert [m.added_snapshot_id for m in deleted_only] == [current.snapshot_id]
    assert day(catalog, D1).to_pydict() == day_rows(D1, 30, 2, "rerun-3").to_pydict()
    before = table.scan(snapshot_id=current.parent_snapshot_id).to_arrow()
    assert sorted(before["tag"].to_pylist()) == ["d2"] * 4 + ["rerun-2"] * 2


def test_chunked_write_is_one_commit_recording_its_context(catalog: Catalog) -> None:
    write_partition(catalog, TABLE, D1, [day_rows(D1, 0, 3, "old")])
    before = catalog.load_table(TABLE)
    versions_before = len(before.metadata.metadata_log)
    snapshots_before = len(before.snapshots())
    props = {
        "dagster.run_id": "run-1",
        "dagster.partition_key": "2026-11-21",
        "dagster.asset_key": "shop/raw/items",
    }
    report = write_partition(
        catalog,
        TABLE,
        D1,
        chunked_rows(D1, 5, 10, "new"),
        snapshot_properties=props,
        coalesce_bytes=0,
    )
    after = catalog.load_table(TABLE)
    assert len(after.metadata.metadata_log) == versions_before + 1
    assert len(after.snapshots()) == snapshots_before + 1
    snapshot = after.current_snapshot()
    assert snapshot is not None and snapshot.snapshot_id == report.snapshot_id
    summary = snapshot.summary.additional_properties  # type: ignore[union-attr]
    assert {k: summary[k] for k in props} == props
    assert summary["ai.partition-date"] == "2026-11-21"
    assert summary["added-records"] == "50" and summary["deleted-records"] == "3"
    assert (report.rows, report.files, report.chunks) == (50, 5, 5)


def test_small_chunks_share_files_and_keep_their_order(catalog: Catalog) -> None:
    report = write_partition(catalog, TABLE, D1, chunked_rows(D1, 40, 7, "x"))
    assert report.files == 1 and report.chunks == 40
    assert day(catalog, D1).column("seq").to_pylist() == list(range(280))
    big = write_partition(catalog, TABLE, D2, chunked_rows(D2, 6, 7, "y"), coalesce_bytes=0)
    assert big.files == 6
    table = catalog.load_table(TABLE)
    assert arrow_table(table, [D2]).column("seq").to_pylist() == list(range(42))
    assert lazy_frame(table, [D2]).collect()["seq"].to_list() == list(range(42))
    both = arrow_table(table, [D2, D1]).column("seq").to_pylist()
    assert both == list(range(42)) + list(range(280))


def test_wide_rows_are_written_as_each_row_group_fills(catalog: Catalog) -> None:
    """Rows of whole pages go to the open file a row group at a time while the day is still
    coming, so the end of the day leaves under one row group to write; groups are even."""
    row_bytes, chunk_rows, chunks = 64 * 1024, 37, 12  # 2.3 MB chunks, 28 MB in all
    table = ensure_table(catalog, TABLE, SCHEMA)
    stager = PartitionStager(table, D1)
    for i in range(chunks):
        rows = pages(i * chunk_rows, chunk_rows, row_bytes)
        stager.add(conform(rows, stager.arrow_schema, TABLE))
        assert stager.unwritten_bytes < WIDE_ROW_GROUP_BYTES
    (open_file,) = Path(table.location().removeprefix("file://")).rglob("*.parquet")
    # Before the flush the file on disk holds the row groups written as the rows came.
    assert open_file.stat().st_size > WIDE_ROW_GROUP_BYTES
    stager.flush()
    assert stager.unwritten_bytes == 0 and len(stager.data_files) == 1
    path = stager.data_files[0].file_path.removeprefix("file://")
    assert Path(path) == open_file
    groups = _row_groups(path)
    target = WIDE_ROW_GROUP_BYTES // row_bytes
    assert len(groups) >= 3 and sum(groups) == chunks * chunk_rows
    assert all(target * 2 // 3 <= n <= target * 3 // 2 for n in groups[:-1]), groups
    rows = pq.read_table(path)
    assert rows.column("seq").to_pylist() == list(range(chunks * chunk_rows))


def pages(start: int, n: int, row_bytes: int) -> pa.Table:
    """`n` rows of D1 numbered from `start`, each tagged with `row_bytes` of poor text."""
    return day_rows(D1, start, n, "").set_column(2, "tag", poor_text(start, n, row_bytes))


def _row_groups(path: str) -> list[int]:
    meta = pq.ParquetFile(path).metadata
    return [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]


def test_row_groups_are_cut_by_size_when_a_file_mixes_wide_and_narrow_rows(
    catalog: Catalog,
) -> None:
    table = ensure_table(catalog, TABLE, SCHEMA)
    stager = PartitionStager(table, D1)
    stager.add(conform(day_rows(D1, 0, 84, "w" * 100_000), stager.arrow_schema, TABLE))
    stager.add(conform(day_rows(D1, 84, 24_000, "n" * 1000), stager.arrow_schema, TABLE))
    stager.flush()
    (data_file,) = stager.data_files
    groups = _row_groups(data_file.file_path.removeprefix("file://"))
    # The narrow rows are one group of their own size, not cut at the wide rows' count.
    assert len(groups) <= 3 and groups[-1] >= 20_000, groups


def test_a_file_past_the_target_size_is_cut_in_row_order(catalog: Catalog) -> None:
    write_partition(catalog, TABLE, D1, [], schema_hint=SCHEMA)
    table = catalog.load_table(TABLE)
    with table.transaction() as tx:
        tx.set_properties({"write.target-file-size-bytes": "2000"})
    # One spill of three chunks (about 1,500, 1,000 and 400 bytes) above the target: packed
    # first-fit, the third would join the first file and come before the second.
    chunks = [day_rows(D1, 0, 71, "a"), day_rows(D1, 71, 48, "b"), day_rows(D1, 119, 19, "c")]
    asked: list[list[int]] = []

    def rows_to_drop(staged: PartitionStager) -> dict[int, list[int]]:
        asked.append(staged.rows({1: [0], 2: [18]}).column("seq").to_pylist())
        return {1: [0, 1, 2]}

    report = write_partition(catalog, TABLE, D1, chunks, rows_to_drop=rows_to_drop)
    assert asked == [[71, 137]]
    assert report.files >= 2
    assert day(catalog, D1).column("seq").to_pylist() == [*range(71), *range(74, 138)]


def test_a_null_list_of_records_is_stored_empty_so_every_reader_agrees(catalog: Catalog) -> None:
    """pyiceberg's scan reads a stored null list of structs as empty, Polars as null: stored
    empty, at any depth, they agree. Lists of other values keep their nulls in both."""
    item = pl.Struct({"code": pl.String, "tags": pl.List(pl.String)})
    frame = pl.DataFrame(
        {
            "seq": [1, 2, 3, 4],
            "trims": [[{"code": "A", "tags": None}], [], None, [{"code": None, "tags": ["x"]}]],
            "price": [{"msrp": 1.0, "codes": None}, None, {"msrp": None, "codes": ["c"]}, None],
            "deals": [None, [{"code": "D", "lots": [{"n": 1}]}], [{"code": "E", "lots": None}], []],
        },
        schema={
            "seq": pl.Int64,
            "trims": pl.List(item),
            "price": pl.Struct({"msrp": pl.Float64, "codes": pl.List(pl.String)}),
            "deals": pl.List(
                pl.Struct({"code": pl.String, "lots": pl.List(pl.Struct({"n": pl.Int64}))})
            ),
        },
    )
    write_partition(catalog, TABLE, D1, [frame.slice(1), frame.slice(0, 1)])
    expected = {
        "trims": [[{"code": "A", "tags": None}], [], [], [{"code": None, "tags": ["x"]}]],
        "price": [{"msrp": 1.0, "codes": None}, None, {"msrp": None, "codes": ["c"]}, None],
        "deals": [[], [{"code": "D", "lots": [{"n": 1}]}], [{"code": "E", "lots": []}], []],
    }
    table = catalog.load_table(TABLE)
    for read in (day(catalog, D1), table.scan().to_arrow(), lazy_frame(table, [D1]).collect()):
        rows = pl.DataFrame(read).sort("seq")
        assert {k: rows[k].to_list() for k in expected} == expected


@pytest.mark.parametrize(
    ("coalesce_bytes", "tag"),
    [
        (0, "x"),
        (32 * 1024 * 1024, "x"),
        # Wide rows: one file written in several row groups while the chunks come.
        (32 * 1024 * 1024, "x" * 300_000),
    ],
)
def test_rows_a_source_drops_before_the_commit_are_struck_from_the_staged_files(
    catalog: Catalog, tmp_path: Path, coalesce_bytes: int, tag: str
) -> None:
    asked: list[list[int]] = []

    def rows_to_drop(staged: PartitionStager) -> dict[int, list[int]]:
        # Rows handed over earlier can be read back by chunk and position.
        asked.append(staged.rows({3: [6, 0], 0: [0, 6]}).column("seq").to_pylist())
        return {0: [6, 0, 3], 2: list(range(7)), 3: [], 4: [1]}

    files_before = data_files_on_disk(tmp_path)
    report = write_partition(
        catalog,
        TABLE,
        D1,
        chunked_rows(D1, 5, 7, tag),
        coalesce_bytes=coalesce_bytes,
        rows_to_drop=rows_to_drop,
    )
    assert asked == [[0, 6, 21, 27]]
    expected = [1, 2, 4, 5, *range(7, 14), *range(21, 29), *range(30, 35)]
    assert day(catalog, D1).column("seq").to_pylist() == expected
    assert report.rows == len(expected) and report.chunks == 5
    # Chunk 2 lost every row: with a file a chunk, its file is gone rather than left empty.
    assert report.files == (4 if coalesce_bytes == 0 else 1)
    committed = {
        Path(t.file.file_path.removeprefix("file://"))
        for t in catalog.load_table(TABLE).scan().plan_files()
    }
    assert data_files_on_disk(tmp_path) - files_before == committed


def test_rows_to_drop_that_fails_leaves_the_previous_day_and_no_files(
    catalog: Catalog, tmp_path: Path
) -> None:
    write_partition(catalog, TABLE, D1, [day_rows(D1, 0, 3, "old")])
    files_before = data_files_on_disk(tmp_path)

    def rows_to_drop(staged: PartitionStager) -> dict[int, list[int]]:
        raise ValueError("key resolution failed")

    with pytest.raises(ValueError, match="key resolution"):
        write_partition(
            catalog,
            TABLE,
            D1,
            chunked_rows(D1, 3, 7, "new"),
            coalesce_bytes=0,
            rows_to_drop=rows_to_drop,
        )
    assert day(catalog, D1).to_pydict() == day_rows(D1, 0, 3, "old").to_pydict()
    assert data_files_on_disk(tmp_path) == files_before


def test_rows_are_struck_once(catalog: Catalog) -> None:
    def twice(staged: PartitionStager) -> dict[int, list[int]]:
        staged.strike({0: [0]})
        return {0: [1]}

    with pytest.raises(RuntimeError, match="already struck"):
        write_partition(catalog, TABLE, D1, chunked_rows(D1, 2, 7, "x"), rows_to_drop=twice)


def test_other_days_are_untouched(catalog: Catalog) -> None:
    write_partition(catalog, TABLE, D1, [day_rows(D1, 0, 3, "d1")])
    write_partition(catalog, TABLE, D2, [day_rows(D2, 0, 4, "d2")])
    d2_files = {
        t.file.file_path
        for t in catalog.load_table(TABLE).scan().plan_files()
        if "2026-11-22" in t.file.file_path
    }
    write_partition(catalog, TABLE, D1, [day_rows(D1, 10, 1, "d1-again")])
    table = catalog.load_table(TABLE)
    assert day(catalog, D2).to_pydict() == day_rows(D2, 0, 4, "d2").to_pydict()
    assert {
        t.file.file_path for t in table.scan().plan_files() if "2026-11-22" in t.file.file_path
    } == d2_files
    assert partition_dates(table) == [D1, D2]


def test_zero_chunks_empty_the_day_in_one_commit(catalog: Catalog) -> None:
    write_partition(catalog, TABLE, D1, [day_rows(D1, 0, 3, "d1")])
    write_partition(catalog, TABLE, D2, [day_rows(D2, 0, 3, "d2")])
    versions = len(catalog.load_table(TABLE).metadata.metadata_log)
    report = write_partition(catalog, TABLE, D1, [])
    table = catalog.load_table(TABLE)
    assert len(table.metadata.metadata_log) == versions + 1
    assert (report.rows, report.files, report.chunks) == (0, 0, 0)
    assert day(catalog, D1).num_rows == 0
    assert day(catalog, D2).num_rows == 3
    assert partition_dates(table) == [D2]
    assert written_dates(table) == {D1, D2}


def test_zero_chunks_on_a_new_table_create_it_with_the_hint(catalog: Catalog) -> None:
    write_partition(catalog, TABLE, D1, [], schema_hint=SCHEMA)
    table = catalog.load_table(TABLE)
    assert table.schema().as_arrow().names == SCHEMA.names
    assert written_dates(table) == {D1}


def test_new_columns_evolve_the_schema(catalog: Catalog) -> None:
    write_partition(catalog, TABLE, D1, [day_rows(D1, 0, 2, "a")], schema_hint=SCHEMA)
    wider = day_rows(D2, 0, 2, "b").append_column("price", pa.array([1.5, None]))
    nested = pl.DataFrame({"seq": [7], "tag": ["c"], "dealer": [{"code": "X1", "zip": "66952"}]})
    write_partition(catalog, TABLE, D2, [wider, nested])
    table = catalog.load_table(TABLE)
    assert table.schema().as_arrow().names == ["_partition_date", "seq", "tag", "price", "dealer"]
    assert not table.schema().find_field("price").required
    d2 = day(catalog, D2).to_pylist()
    assert [r["price"] for r in d2] == [1.5, None, None]
    assert d2[2]["dealer"] == {"code": "X1", "zip": "66952"}
    lazy = lazy_frame(table, [D1, D2]).collect()
    assert lazy.columns == ["_partition_date", "seq", "tag", "price", "dealer"]
    assert lazy.sort("_partition_date", "seq")["price"].to_list() == [None, None, 1.5, None, None]
    d1 = day(catalog, D1).to_pylist()
    assert [r["price"] for r in d1] == [None, None] and d1[0]["dealer"] is None


def _field_ids(field: pa.Field) -> list[tuple[str, bytes | None]]:
    """Each field's name and Parquet field id, nested fields after their parent."""
    own = [(field.name, (field.metadata or {}).get(b"PARQUET:field_id"))]
    kind = field.type
    if pa.types.is_struct(kind):
        return own + [i for n in range(kind.num_fields) for i in _field_ids(kind.field(n))]
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return own + _field_ids(kind.value_field)
    return own


def test_files_carry_the_tables_field_ids_at_every_level_and_column_bounds(
    catalog: Catalog,
) -> None:
    frame = pl.DataFrame({"seq": [9, 3], "packages": [[{"code": "A", "msrp": 1.0}], []]})
    write_partition(catalog, TABLE, D1, [frame])
    table = catalog.load_table(TABLE)
    (task,) = table.scan().plan_files()
    written = pq.read_schema(task.file.file_path.removeprefix("file://"))
    expected = table.schema().as_arrow()
    assert [i for f in written for i in _field_ids(f)] == [
        i for f in expected for i in _field_ids(f)
    ]
    assert all(i is not None for f in written for _, i in _field_ids(f))
    seq = table.schema().find_field("seq").field_id
    bound = task.file.lower_bounds[seq], task.file.upper_bounds[seq]
    assert [int.from_bytes(b, "little", signed=True) for b in bound] == [3, 9]


def test_polars_frames_are_cast_to_required_columns(catalog: Catalog) -> None:
    write_partition(catalog, TABLE, D1, [], schema_hint=SCHEMA)
    frame = pl.DataFrame({"seq": [1, 2], "tag": ["p", None]})  # nullable, no _partition_date
    write_partition(catalog, TABLE, D1, [frame])
    assert day(catalog, D1).to_pydict() == {
        "_partition_date": [D1, D1],
        "seq": [1, 2],
        "tag": ["p", None],
    }
    with pytest.raises(ValueError, match="'seq' is required but the chunk has 1 nulls"):
        write_partition(
            catalog, TABLE, D1, [pl.DataFrame({"seq": [None, 3]}, schema={"seq": pl.Int64})]
        )
    with pytest.raises(ValueError, match="cannot be stored as int64"):
        write_partition(catalog, TABLE, D1, [pl.DataFrame({"seq": ["not a number"]})])
    assert day(catalog, D1).num_rows == 2


def test_decimal_money_into_a_table_of_floats_names_the_table_the_column_and_the_fix(
    catalog: Catalog,
) -> None:
    money = pl.Decimal(12, 2)
    floats = pl.DataFrame({"seq": [1], "msrp": [52345.0], "packages": [[{"msrp": 995.0}]]})
    write_partition(catalog, TABLE, D1, [floats])
    decimals = floats.cast({"msrp": money, "packages": pl.List(pl.Struct({"msrp": money}))})
    with pytest.raises(ValueError, match=r"shop_raw.items: column 'msrp' holds decimals .*drop"):
        write_partition(catalog, TABLE, D2, [decimals])
    with pytest.raises(ValueError, match=r"shop_raw.items: column 'packages' holds decimals"):
        write_partition(catalog, TABLE, D2, [decimals.drop("msrp")])
    assert written_dates(catalog.load_table(TABLE)) == {D1}


def test_raw_rows_keep_their_required_columns(catalog: Catalog) -> None:
    fetched = dt.datetime(2026, 11, 21, 10, tzinfo=dt.UTC)
    pages = [
        RawPage(n, f"https://x/{n}", {"pageNumber": n}, 200, b'{"n": %d}' % n, fetched)
        for n in (2, 1)
    ]
    chunks = [RawFetchResult("J/IUJ", pages), RawFetchResult("J/IUK", pages[:1])]
    write_partition(catalog, TABLE, D1, [c.to_arrow(D1) for c in chunks])
    table = catalog.load_table(TABLE)
    assert table.schema().as_arrow().names == RAW_SCHEMA.names
    assert table.schema().find_field("_response_body").required
    rows = day(catalog, D1)
    assert rows.column("_sub_resource").to_pylist() == ["J/IUJ", "J/IUJ", "J/IUK"]
    assert rows.column("_page_number").to_pylist() == [1, 2, 2]
    assert rows.column("_response_body").to_pylist() == ['{"n": 1}', '{"n": 2}', '{"n": 2}']


def test_rows_of_another_day_are_refused(catalog: Catalog) -> None:
    with pytest.raises(
        ValueError, match="holds _partition_date values from 2026-11-21 to 2026-11-22"
    ):
        write_partition(
            catalog,
            TABLE,
            D1,
            [pa.concat_tables([day_rows(D1, 0, 1, "a"), day_rows(D2, 1, 1, "b")])],
        )


def test_a_failing_generator_leaves_the_previous_day_and_no_files(
    catalog: Catalog, tmp_path: Path
) -> None:
    write_partition(catalog, TABLE, D1, [day_rows(D1, 0, 3, "old")])
    files_before = data_files_on_disk(tmp_path)
    snapshot_before = catalog.load_table(TABLE).current_snapshot()

    def chunks() -> Iterator[pa.Table]:
        yield day_rows(D1, 0, 10, "new")
        yield day_rows(D1, 10, 10, "new")
        raise ConnectionError("upstream went away on page 3")

    with pytest.raises(ConnectionError, match="page 3"):
        write_partition(catalog, TABLE, D1, chunks(), coalesce_bytes=0)
    table = catalog.load_table(TABLE)
    assert table.current_snapshot() == snapshot_before
    assert day(catalog, D1).to_pydict() == day_rows(D1, 0, 3, "old").to_pydict()
    assert data_files_on_disk(tmp_path) == files_before


def test_a_failing_fetch_deletes_the_file_it_left_open(catalog: Catalog, tmp_path: Path) -> None:
    write_partition(catalog, TABLE, D1, [day_rows(D1, 0, 3, "old")])
    files_before = data_files_on_disk(tmp_path)
    opened: list[set[Path]] = []

    def chunks() -> Iterator[pa.Table]:
        for i in range(6):  # 12 MB of wide rows: a row group is written, the file stays open
            yield day_rows(D1, i * 20, 20, "w" * 100_000)
        opened.append(data_files_on_disk(tmp_path) - files_before)
        raise ConnectionError("upstream went away on page 7")

    with pytest.raises(ConnectionError, match="page 7"):
        write_partition(catalog, TABLE, D1, chunks())
    assert len(opened[0]) == 1  # the open file was on disk when the fetch failed
    assert data_files_on_disk(tmp_path) == files_before
    assert day(catalog, D1).to_pydict() == day_rows(D1, 0, 3, "old").to_pydict()


def test_a_commit_that_loses_a_race_is_retried_on_fresh_metadata(catalog: Catalog) -> None:
    write_partition(catalog, TABLE, D1, [day_rows(D1, 0, 1, "seed")])

    def chunks() -> Iterator[pa.Table]:
        yield day_rows(D1, 0, 5, "slow")
        # Another writer commits a different day (with a new column) while this one is staging.
        other = day_rows(D2, 0, 2, "fast").append_column("extra", pa.array(["e", "f"]))
        write_partition(load_catalog_like(catalog), TABLE, D2, [other])
        yield day_rows(D1, 5, 5, "slow").append_column("late", pa.array([1] * 5))

    report = write_partition(catalog, TABLE, D1, chunks())
    assert report.commit_attempts >= 1
    table = catalog.load_table(TABLE)
    assert table.schema().as_arrow().names == ["_partition_date", "seq", "tag", "extra", "late"]
    assert day(catalog, D1).column("seq").to_pylist() == list(range(10))
    assert day(catalog, D2).column("extra").to_pylist() == ["e", "f"]


def test_two_writers_of_the_same_day_leave_one_copy(catalog: Catalog) -> None:
    write_partition(catalog, TABLE, D1, [day_rows(D1, 0, 1, "seed")])

    def chunks() -> Iterator[pa.Table]:
        yield day_rows(D1, 0, 4, "first")
        write_partition(load_catalog_like(catalog), TABLE, D1, [day_rows(D1, 0, 4, "second")])

    write_partition(catalog, TABLE, D1, chunks())
    rows = day(catalog, D1)
    assert rows.num_rows == 4
    assert set(rows.column("tag").to_pylist()) == {"first"}


def test_a_commit_works_out_the_staged_metadata_a_fixed_number_of_times(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyiceberg deep-copies the whole metadata, every snapshot kept included, each time it
    works out a transaction's staged metadata; a commit must not do that once per read."""
    replays: list[int] = []
    real = commit.update_table_metadata

    def counted(*args: Any, **kwargs: Any) -> Any:
        replays[-1] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(commit, "update_table_metadata", counted)
    for n, date in enumerate([D1, D2, D3, D1, D2]):
        replays.append(0)
        # Every second write adds a column, so the commit also evolves the schema.
        rows = day_rows(date, 0, 3, "x")
        if n % 2:
            rows = rows.append_column(f"extra{n}", pa.array(["e"] * 3))
        write_partition(catalog, TABLE, date, [rows])
    assert all(0 < count <= 4 for count in replays), replays
    table = catalog.load_table(TABLE)
    assert len(table.metadata.snapshots) == 5
    assert table.schema().as_arrow().names[-2:] == ["extra1", "extra3"]
    assert day(catalog, D1).column("seq").to_pylist() == [0, 1, 2]


def load_catalog_like(catalog: Catalog) -> Catalog:
    """A second catalog client on the same database, as another process would have."""
    return load_catalog(properties=dict(catalog.properties))


def test_partition_dates_reads_manifests_that_span_days(catalog: Catalog) -> None:
    write_partition(catalog, TABLE, D1, [day_rows(D1, 0, 2, "ours")], schema_hint=SCHEMA)
    table = catalog.load_table(TABLE)
    # Another engine appends two days in one manifest.
    table.append(pa.concat_tables([day_rows(D2, 0, 1, "them"), day_rows(D3, 0, 1, "them")]))
    assert partition_dates(catalog.load_table(TABLE)) == [D1, D2, D3]
    write_partition(catalog, TABLE, D2, [])
    assert partition_dates(catalog.load_table(TABLE)) == [D1, D3]
