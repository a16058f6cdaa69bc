"""The DealerConnect raw tier against the BigQuery stand-in: exact rows, faults and reruns."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import dagster as dg
import orjson
import polars as pl
import pytest

from ai_core.iceberg.catalog import load_catalog
from ai_core.transform.embedded import document_error
from ai_stellantis.definitions import defs
from ai_stellantis.sources.bigquery import (
    DealerConnectBigQuery,
    read_timestamps_in_every_form,
    timestamp_cell,
)
from ai_stellantis.sources.dealerconnect import (
    cell_json,
    day_query,
    select_dealer_tables,
)
from standin.stellantis.dealerconnect.process import DealerConnectHandle, serve_dealerconnect
from tests.ai_stellantis.conftest import materialize_day

DAY = dt.date(2026, 11, 20)
KEYS = [
    "stellantis/raw/dealerconnect_inventory",
    "stellantis/raw/dealerconnect_sales",
    "stellantis/raw/dealerconnect_code_guides",
]


@pytest.fixture(scope="module")
def standin() -> Iterator[DealerConnectHandle]:
    with serve_dealerconnect("tiny", seed=7, date=DAY, page_rows=40) as handle:
        yield handle


@pytest.fixture
def data_dir(standin: DealerConnectHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    standin.set_state(date=DAY, faults="")
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("STELLANTIS_BIGQUERY_ENDPOINT", standin.endpoint)
    monkeypatch.setenv("STELLANTIS_BIGQUERY_TIMEOUT", "30")
    monkeypatch.setenv("AI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GCP_CREDENTIALS", raising=False)
    return tmp_path / "data"


def stored(data_dir: Path, name: str, day: dt.date = DAY) -> pl.DataFrame:
    table = load_catalog(data_dir).load_table(f"stellantis_raw.{name}")
    frame = pl.from_arrow(table.scan().to_arrow())
    assert isinstance(frame, pl.DataFrame)
    return frame.filter(pl.col("_partition_date") == day)


def stored_rows(data_dir: Path, name: str, day: dt.date = DAY) -> pl.DataFrame:
    """Every row in the stored bodies, with its sub-resource."""
    rows = []
    for sub, body in stored(data_dir, name, day).select("_sub_resource", "_response_body").rows():
        for row in orjson.loads(body)["rows"]:
            rows.append({"table": sub} | row)
    return pl.DataFrame(rows, infer_schema_length=None)


def test_dealer_tables_are_the_tables_of_a_kind_whatever_their_codes_spell() -> None:
    listed = [
        ("inventory_31022", "TABLE"),
        ("inventory_AB_12", "TABLE"),
        ("inventory_68302-B", "TABLE"),
        ("inventory_latest", "VIEW"),
        ("inventory_31022_copy", "SNAPSHOT"),
        ("inventory_x`; DROP", "TABLE"),
        ("inventory_1\n", "TABLE"),
        ("inventory_46860", None),  # a listing that leaves out the type
        ("sales_31022", "TABLE"),
        ("code_guides", "TABLE"),
        ("inventory", "TABLE"),
    ]
    found = select_dealer_tables(listed, "inventory")
    assert found.tables == [
        "inventory_31022", "inventory_46860", "inventory_68302-B", "inventory_AB_12"
    ]  # fmt: skip
    assert found.skipped == {
        "inventory_latest": "a VIEW, not a table",
        "inventory_31022_copy": "a SNAPSHOT, not a table",
        "inventory_x`; DROP": "a name that cannot be quoted in a query",
        "inventory_1\n": "a name that cannot be quoted in a query",
    }
    assert select_dealer_tables(listed, "sales").tables == ["sales_31022"]
    assert "`p.dealerconnect.inventory_AB_12`" in day_query("p", "dealerconnect", "inventory_AB_12")
    with pytest.raises(ValueError, match="not a BigQuery identifier"):
        day_query("p", "dealerconnect", "inventory_x`; DROP")


def test_a_day_of_every_dealer_table_is_stored_verbatim(
    data_dir: Path, standin: DealerConnectHandle
) -> None:
    result = materialize_day(KEYS, DAY.isoformat())
    assert result.success
    checks = {c.asset_key.to_user_string(): c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {key: True for key in KEYS}

    truth = standin.truth(DAY)
    inventory = stored_rows(data_dir, "dealerconnect_inventory")
    want = truth.inventory()
    assert sorted(inventory["table"].unique()) == [f"inventory_{c}" for c in truth.dealer_codes()]
    assert inventory.height == want.height > 100
    assert sorted(zip(inventory["blob_id"], inventory["poc"], strict=True)) == sorted(
        zip(want["blob_id"], want["poc"], strict=True)
    )
    pages = stored(data_dir, "dealerconnect_inventory")
    assert pages["_request_params"].str.contains("@day").all()
    sizes = [f.height for n, f in truth.tables.items() if n.startswith("inventory_")]
    assert pages.height == sum(max(1, -(-h // 40)) for h in sizes)

    sales = stored_rows(data_dir, "dealerconnect_sales")
    assert sorted(sales["blob_id"]) == sorted(truth.sales()["blob_id"])
    guides = stored_rows(data_dir, "dealerconnect_code_guides")
    latest = truth.latest_code_guides()
    assert guides.height == latest.height == guides["blob_id"].n_unique()
    assert dict(zip(guides["blob_id"], guides["guide"], strict=True)) == dict(
        zip(latest["blob_id"], latest["guide"], strict=True)
    )

    # A rerun of the day gives the same rows.
    before = stored(data_dir, "dealerconnect_inventory").drop("_fetched_at").sort(pl.all())
    assert materialize_day(KEYS[:1], DAY.isoformat()).success
    after = stored(data_dir, "dealerconnect_inventory").drop("_fetched_at").sort(pl.all())
    assert after.equals(before)


def test_faults_vanished_table_bad_documents_and_a_retried_backend_error(
    data_dir: Path, standin: DealerConnectHandle
) -> None:
    codes = standin.truth(DAY).dealer_codes()
    faults = f"vanish:inventory_{codes[0]},backend_error:inventory_{codes[1]},bad_poc:0.1"
    standin.set_state(faults=faults)
    result = materialize_day(KEYS[:1], DAY.isoformat())
    assert result.success
    stored_tables = set(stored(data_dir, "dealerconnect_inventory")["_sub_resource"])
    assert stored_tables == {f"inventory_{c}" for c in codes[1:]}
    metadata = result.asset_materializations_for_node("stellantis__raw__dealerconnect_inventory")[
        0
    ].metadata
    inventory = stored_rows(data_dir, "dealerconnect_inventory")
    bad = [p for p in inventory["poc"] if document_error(p) is not None]
    assert metadata["documents_unreadable"].value == len(bad) > 0
    assert all(not p.startswith("{") or p.count("{") != p.count("}") for p in bad)


def test_a_failing_query_is_a_failed_page_naming_the_table_and_the_rest_is_stored(
    data_dir: Path, standin: DealerConnectHandle
) -> None:
    """One table whose query fails (a stray copy with another schema, a table the account may
    not read) costs that table, named, not every dealer's day; a rerun reads it again."""
    codes = standin.truth(DAY).dealer_codes()
    broken = f"sales_{codes[-1]}"
    standin.set_state(faults=f"query_error:{broken}")
    with dg.instance_for_test() as instance:
        result = (
            defs()
            .resolve_job_def("stellantis_daily")
            .execute_in_process(
                partition_key=DAY.isoformat(),
                asset_selection=[dg.AssetKey.from_user_string(KEYS[1])],
                instance=instance,
            )
        )
        [check] = result.get_asset_check_evaluations()
        assert not check.passed
        assert check.severity == dg.AssetCheckSeverity.ERROR
        assert check.metadata["unobserved_sub_resources"].value == [broken]
        assert check.description is not None and "Rerun this asset" in check.description
        source = dg.AssetKey.from_user_string("stellantis/sources/dealerconnect_sales")
        [record] = instance.fetch_observations(source, limit=1).records
        assert record.asset_observation is not None
        metadata = record.asset_observation.metadata
        assert metadata["outcome"].value == "partial: 1 pages not fetched"
    sales = stored(data_dir, "dealerconnect_sales")
    [error] = sales.filter(pl.col("_sub_resource") == broken)["_fetch_error"].to_list()
    assert f"the query of dealerconnect.{broken} for {DAY} failed (BadRequest" in error
    read = sales.filter(pl.col("_sub_resource") != broken)
    assert read["_fetch_error"].null_count() == read.height > 0
    [done] = result.asset_materializations_for_node("stellantis__raw__dealerconnect_sales")
    assert done.metadata["failed_tables"].value == [broken]

    standin.set_state(faults="")
    assert materialize_day(KEYS[1:2], DAY.isoformat()).success
    assert stored(data_dir, "dealerconnect_sales")["_fetch_error"].null_count() == sales.height


def test_when_no_query_answers_the_run_fails_and_commits_nothing(
    data_dir: Path, standin: DealerConnectHandle
) -> None:
    """Every query failing is the account or the dataset, not a table: the run fails, naming
    why; every table gone is dealers offboarded, and warns."""
    codes = standin.truth(DAY).dealer_codes()
    assert materialize_day(KEYS[:2], DAY.isoformat()).success
    next_day = DAY + dt.timedelta(days=1)
    job = defs().resolve_job_def("stellantis_daily")

    def failure(key: str, faults: str) -> str:
        standin.set_state(date=next_day, faults=faults)
        result = job.execute_in_process(
            partition_key=next_day.isoformat(),
            asset_selection=[dg.AssetKey.from_user_string(key)],
            raise_on_error=False,
        )
        assert not result.success
        [failed] = result.get_step_failure_events()
        error = failed.step_failure_data.error
        assert error is not None
        # A refused query is not retried: the next try would be answered alike.
        assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
        return error.message

    message = failure(KEYS[1], ",".join(f"query_error:sales_{c}" for c in codes))
    assert f"no query answered for {next_day}: {len(codes)} failed, the first:" in message
    assert f"dealerconnect.sales_{codes[0]}" in message
    assert stored(data_dir, "dealerconnect_sales", next_day).height == 0

    # Every dealer gone, as a one-dealer dataset's last dealer goes: carried, and a warning.
    standin.set_state(date=next_day, faults=",".join(f"vanish:inventory_{c}" for c in codes))
    result = materialize_day(KEYS[:1], next_day.isoformat())
    [check] = result.get_asset_check_evaluations()
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["gone_sub_resources"].value == [f"inventory_{c}" for c in codes]

    # A table answered with no rows is an answer: the failed one is named, the day stored.
    standin.set_state(
        date=next_day, faults=f"unread:inventory_{codes[0]},query_error:inventory_{codes[1]}"
    )
    result = materialize_day(KEYS[:1], next_day.isoformat())
    [check] = result.get_asset_check_evaluations()
    assert check.severity == dg.AssetCheckSeverity.ERROR
    assert set(check.metadata["unobserved_sub_resources"].value) == {
        f"inventory_{codes[0]}",
        f"inventory_{codes[1]}",
    }


@pytest.mark.parametrize("form", ["seconds_timestamps", "iso_timestamps"])
def test_timestamps_sent_in_another_form_read_as_the_same_rows(
    data_dir: Path, standin: DealerConnectHandle, form: str
) -> None:
    # A server that ignores `formatOptions.useInt64Timestamp` answers seconds, as BigQuery does
    # a client that does not ask, or ISO 8601 text.
    assert materialize_day(KEYS[:1], DAY.isoformat()).success
    want = stored_rows(data_dir, "dealerconnect_inventory")
    code = standin.truth(DAY).dealer_codes()[0]
    standin.set_state(faults=f"{form}:inventory_{code}")
    result = materialize_day(KEYS[:1], DAY.isoformat())
    assert result.success
    assert all(c.passed for c in result.get_asset_check_evaluations())
    assert stored_rows(data_dir, "dealerconnect_inventory").equals(want)


def test_a_timestamp_cell_reads_in_every_form_a_server_sends() -> None:
    from google.cloud.bigquery import SchemaField
    from google.cloud.bigquery._helpers import CELL_DATA_PARSER
    from google.cloud.bigquery.enums import TimestampPrecision

    read_timestamps_in_every_form()
    field = SchemaField("fetched_at", "TIMESTAMP")
    want = dt.datetime(2026, 11, 20, 8, 0, 0, 123456, tzinfo=dt.UTC)
    for cell in (
        "1795161600123456",
        "1795161600.123456",
        "1.795161600123456E9",
        "1.7951616001234569E9",  # past the microsecond: dropped, as in ISO text
        "2026-11-20T08:00:00.123456Z",
        "2026-11-20t08:00:00.123456z",
        "2026-11-20 08:00:00.123456 UTC",
        "2026-11-20 08:00:00.123456UTC",
        "2026-11-20T03:00:00.1234569-05:00",
        "2026-11-20T08:00:00.123456",
        1795161600123456,
        1795161600.123456,
    ):
        assert CELL_DATA_PARSER.to_py(cell, field) == want, cell
    whole = want.replace(microsecond=0)
    for cell in ("1795161600", "+1795161600", "1795161600000000", "1.7951616E9", 1795161600):
        assert CELL_DATA_PARSER.to_py(cell, field) == whole, cell
    # Whole numbers are seconds from year 1 to 9999, microseconds beyond.
    last = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    assert timestamp_cell("253402300799") == last
    assert timestamp_cell("253402300800") == dt.datetime(1970, 1, 3, 22, 23, 22, 300800, dt.UTC)
    assert timestamp_cell("-62135596800") == dt.datetime(1, 1, 1, tzinfo=dt.UTC)
    assert timestamp_cell("-62135596801") == dt.datetime(1969, 12, 31, 6, 44, 24, 403199, dt.UTC)
    assert timestamp_cell("0") == timestamp_cell("-0") == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    assert CELL_DATA_PARSER.to_py(None, field) is None
    for cell in ("yesterday", "NaN", "Infinity", "1e400", "", "2026-13-01T00:00:00Z"):
        with pytest.raises(ValueError, match=r"TIMESTAMP column fetched_at: .* is not a timestamp"):
            CELL_DATA_PARSER.to_py(cell, field)
    # A picosecond column is the client's own: kept as the text sent.
    fine = SchemaField("at", "TIMESTAMP", timestamp_precision=TimestampPrecision.PICOSECOND)
    text = "2026-11-20T08:00:00.123456789012Z"
    assert CELL_DATA_PARSER.to_py(text, fine) == text


def test_a_dataset_dropped_during_the_run_fails_it_rather_than_offboarding_every_dealer(
    data_dir: Path, standin: DealerConnectHandle
) -> None:
    """Tables answering 404 because their dataset is gone are not dealers leaving: the run fails
    naming the dataset and commits nothing; the next run fails at the listing; once the dataset
    is back a rerun stores the whole day."""
    assert materialize_day(KEYS[:1], DAY.isoformat()).success
    next_day = DAY + dt.timedelta(days=1)
    codes = standin.truth(next_day).dealer_codes()
    assert len(codes) > 1

    def failure() -> str:
        result = materialize_day(KEYS[:1], next_day.isoformat(), raise_on_error=False)
        assert not result.success
        [failed] = result.get_step_failure_events()
        error = failed.step_failure_data.error
        assert error is not None
        # Not retried: a retry would be answered alike until the dataset is back.
        assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
        assert stored(data_dir, "dealerconnect_inventory", next_day).height == 0
        return error.message

    standin.set_state(date=next_day, faults="drop_dataset:1")  # the first query is answered
    message = failure()
    assert (
        "stellantis/raw/dealerconnect_inventory: the dataset ai-app-stellantis.dealerconnect was "
        f"dropped while its tables were read for {next_day} (NotFound: "
    ) in message
    assert (
        "Not found: Dataset ai-app-stellantis:dealerconnect was not found in location US; the "
        "dataset itself is gone); nothing of the day is committed"
    ) in message
    assert standin.state()["requests"]["datasets.get"] >= 1

    message = failure()  # the faults are kept: the dataset is still gone
    assert "the dataset ai-app-stellantis.dealerconnect is not found (GET " in message
    assert (
        "Not found: Dataset ai-app-stellantis:dealerconnect was not found in location US); check "
        "the component's `dataset` and STELLANTIS_GCP_PROJECT, then rerun the partition"
    ) in message

    standin.set_state(date=next_day, faults="")
    assert materialize_day(KEYS[:1], next_day.isoformat()).success
    day = stored(data_dir, "dealerconnect_inventory", next_day)
    assert day["_fetch_error"].null_count() == day.height
    assert set(day["_sub_resource"]) == {f"inventory_{c}" for c in codes}


def test_a_table_dropped_between_the_listing_and_its_query(
    data_dir: Path, standin: DealerConnectHandle
) -> None:
    """Listed, then gone when queried: skipped when no recent day read it, carried forward when
    one did, and a failed query when whether the dataset is there cannot be told."""
    days = [DAY + dt.timedelta(days=n) for n in range(3)]
    code = sorted(set.intersection(*(set(standin.truth(d).dealer_codes()) for d in days)))[0]
    table = f"inventory_{code}"

    def read(day: dt.date, faults: str) -> dict[str, object]:
        standin.set_state(date=day, faults=faults)
        result = materialize_day(KEYS[:1], day.isoformat())
        assert result.success
        [done] = result.asset_materializations_for_node("stellantis__raw__dealerconnect_inventory")
        return {k: v.value for k, v in done.metadata.items()}

    first = read(days[0], f"dropped:{table}")
    assert first["skipped_tables"] == {table: "dropped between the listing and its query"}
    assert first["vanished_tables"] == first["failed_tables"] == []
    assert read(days[1], "")["new_tables"] == [table]

    gone = read(days[2], f"dropped:{table}")
    assert gone["vanished_tables"] == [table]
    [error] = stored(data_dir, "dealerconnect_inventory", days[2]).filter(
        pl.col("_sub_resource") == table
    )["_fetch_error"]
    assert f"dealerconnect.{table} is not in the dataset on {days[2]}" in error

    unknown = read(days[2], f"dropped:{table},dataset_error:403")
    assert unknown["failed_tables"] == [table] and unknown["vanished_tables"] == []
    [error] = stored(data_dir, "dealerconnect_inventory", days[2]).filter(
        pl.col("_sub_resource") == table
    )["_fetch_error"]
    assert f"the query of dealerconnect.{table} for {days[2]} failed (NotFound: " in error
    assert "; asking for the dataset failed (Forbidden: " in error


def test_a_table_not_read_on_a_recent_day_is_named_new(
    data_dir: Path, standin: DealerConnectHandle
) -> None:
    code = standin.truth(DAY).dealer_codes()[0]
    next_day = DAY + dt.timedelta(days=1)
    assert code in standin.truth(next_day).dealer_codes()

    def new_tables(day: dt.date) -> object:
        result = materialize_day(KEYS[:1], day.isoformat())
        [done] = result.asset_materializations_for_node("stellantis__raw__dealerconnect_inventory")
        return done.metadata["new_tables"].value

    standin.set_state(faults=f"vanish:inventory_{code}")
    assert new_tables(DAY) == []  # the first day has no recent tables to compare with
    standin.set_state(date=next_day, faults="")
    assert new_tables(next_day) == [f"inventory_{code}"]


def test_a_table_read_recently_and_now_a_view_is_carried_forward_saying_so(
    data_dir: Path, standin: DealerConnectHandle
) -> None:
    code = standin.truth(DAY).dealer_codes()[0]
    table = f"inventory_{code}"
    assert materialize_day(KEYS[:1], DAY.isoformat()).success
    next_day = DAY + dt.timedelta(days=1)
    standin.set_state(date=next_day, faults=f"view:{table}")
    result = materialize_day(KEYS[:1], next_day.isoformat())
    assert result.success
    [done] = result.asset_materializations_for_node("stellantis__raw__dealerconnect_inventory")
    assert done.metadata["skipped_tables"].value == {table: "a VIEW, not a table"}
    assert done.metadata["vanished_tables"].value == [table]
    page = stored(data_dir, "dealerconnect_inventory", next_day).filter(
        pl.col("_sub_resource") == table
    )
    [error] = page["_fetch_error"].to_list()
    assert f"dealerconnect.{table} is a VIEW, not a table on {next_day}" in error
    assert "carried forward" in error


def test_cells_orjson_does_not_write_are_stored_as_text_or_refused() -> None:
    cells = {"price": Decimal("41995.50"), "blob": b"\x00\x01", "day": DAY}
    assert orjson.loads(orjson.dumps(cells, default=cell_json)) == {
        "price": "41995.50",
        "blob": "AAE=",
        "day": "2026-11-20",
    }
    with pytest.raises(orjson.JSONEncodeError):
        orjson.dumps({"cell": object()}, default=cell_json)


def observations(result: dg.ExecuteInProcessResult, source: str) -> list[dg.AssetObservation]:
    found = [
        e.asset_observation_data.asset_observation for e in result.get_asset_observation_events()
    ]
    return [o for o in found if o.asset_key.to_user_string() == source]


def test_every_read_is_observed_on_its_source(data_dir: Path, standin: DealerConnectHandle) -> None:
    """A whole read is a success; a table read the day before and gone today is a partial read
    naming it, and does not move the last success."""
    source = "stellantis/sources/dealerconnect_inventory"
    job = defs().resolve_job_def("stellantis_daily")

    def read(day: dt.date) -> tuple[bool, dg.AssetObservation]:
        result = job.execute_in_process(
            partition_key=day.isoformat(),
            asset_selection=[dg.AssetKey.from_user_string(KEYS[0])],
            instance=instance,
            raise_on_error=False,
        )
        [seen] = observations(result, source)
        return result.success, seen

    with dg.instance_for_test() as instance:
        ok, whole = read(DAY)
        assert ok
        assert whole.metadata["outcome"].value == "success"
        assert whole.metadata["pages"].value == stored(data_dir, "dealerconnect_inventory").height
        assert whole.metadata["failed_pages"].value == 0
        succeeded = whole.metadata["last_success"].value
        assert isinstance(succeeded, float)

        next_day = DAY + dt.timedelta(days=1)
        code = standin.truth(next_day).dealer_codes()[0]
        standin.set_state(date=next_day, faults=f"vanish:inventory_{code}")
        ok, partial = read(next_day)
        assert ok
        assert partial.metadata["outcome"].value == "partial: 1 pages not fetched"
        assert partial.metadata["unobserved_sub_resources"].value == [f"inventory_{code}"]
        assert partial.metadata["last_success"].value == succeeded


def test_credentials_errors_never_quote_them() -> None:
    secret = '{"type": "service_account", "private_key": "SECRET-VALUE"'
    for given in (secret, base64.b64encode(secret.encode()).decode()):
        with (
            pytest.raises(Exception, match="GCP_CREDENTIALS is not a service account") as caught,
            DealerConnectBigQuery(gcp_credentials=given).get_client(),
        ):
            pass
        assert "SECRET" not in str(caught.value)


def test_a_table_empty_on_its_first_day_is_stored_as_read_and_named_empty(
    data_dir: Path, standin: DealerConnectHandle
) -> None:
    code = standin.truth(DAY).dealer_codes()[0]
    table = f"inventory_{code}"
    standin.set_state(faults=f"unread:{table}")
    result = materialize_day(KEYS[:1], DAY.isoformat())
    assert result.success
    # No recent day read it, so there is nothing to carry: the day holds it as read, empty.
    rows = stored(data_dir, "dealerconnect_inventory").filter(pl.col("_sub_resource") == table)
    assert rows.height == 1 and rows["_fetch_error"].to_list() == [None]
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "completeness"]
    assert not check.passed
    assert check.metadata["unobserved_sub_resources"].value == []
    assert f"| {table} | empty |" in str(check.metadata["samples"].value)
    metadata = result.asset_materializations_for_node("stellantis__raw__dealerconnect_inventory")[
        0
    ].metadata
    assert metadata["empty_tables"].value == []
    # Read empty is not read: the next day, still empty, it is again stored as read, empty.
    after = DAY + dt.timedelta(days=1)
    standin.set_state(date=after.isoformat(), faults=f"unread:{table}")
    again = materialize_day(KEYS[:1], after.isoformat())
    assert again.success
    rows = stored(data_dir, "dealerconnect_inventory", after)
    assert rows.filter(pl.col("_sub_resource") == table)["_fetch_error"].to_list() == [None]


def test_a_table_gone_since_a_recent_day_warns_and_an_unread_one_fails(
    data_dir: Path, standin: DealerConnectHandle
) -> None:
    """An offboarded dealer's table is gone for good: a rerun cannot fetch it, so the check
    names it and warns; a table with no rows for the day (its portal not read) still fails."""
    gone_code, unread_code = standin.truth(DAY).dealer_codes()[:2]
    gone, unread = f"inventory_{gone_code}", f"inventory_{unread_code}"
    assert materialize_day(KEYS[:1], DAY.isoformat()).success
    next_day = DAY + dt.timedelta(days=1)

    def completeness(faults: str) -> dg.AssetCheckEvaluation:
        standin.set_state(date=next_day, faults=faults)
        result = materialize_day(KEYS[:1], next_day.isoformat())
        assert result.success
        (check,) = [
            c for c in result.get_asset_check_evaluations() if c.check_name == "completeness"
        ]
        return check

    check = completeness(f"vanish:{gone}")
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["gone_sub_resources"].value == [gone]
    assert check.metadata["unobserved_sub_resources"].value == []
    assert f"| {gone} | gone from the source |" in str(check.metadata["samples"].value)
    assert check.description is not None
    assert f"is gone from the source ({gone})" in check.description
    assert "Rerun" not in check.description

    check = completeness(f"vanish:{gone},unread:{unread}")
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["gone_sub_resources"].value == [gone]
    assert check.metadata["unobserved_sub_resources"].value == [unread]
    assert check.description is not None
    assert "Rerun this asset" in check.description

    # A 404 for the query's job while its pages are read is no table gone: a failed query.
    sizes = standin.truth(next_day).inventory().group_by("dealer_code").len()
    paged = sizes.filter(pl.col("len") > 40)["dealer_code"].sort()[0]
    lost = f"inventory_{paged}"
    check = completeness(f"lost_job:{lost}")
    assert check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["gone_sub_resources"].value == []
    assert check.metadata["unobserved_sub_resources"].value == [lost]
    page = stored(data_dir, "dealerconnect_inventory", next_day).filter(
        pl.col("_sub_resource") == lost
    )
    [error] = page["_fetch_error"].to_list()
    assert "failed (NotFound: " in error and "Not found: Job" in error
