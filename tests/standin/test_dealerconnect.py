"""The DealerConnect stand-in through Google's own BigQuery client: data, paging and faults."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import orjson
import polars as pl
import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from standin.stellantis.dealerconnect.data import UNIT_VIN_AGE, DealerConnectWorld
from standin.stellantis.dealerconnect.faults import NEW_COLUMN, Faults, FaultSpecError
from standin.stellantis.dealerconnect.process import DealerConnectHandle, serve_dealerconnect
from standin.stellantis.sites.truth import ground_truth

DAY = dt.date(2026, 11, 20)
PROJECT = "ai-app-stellantis"


@pytest.fixture(scope="module")
def standin() -> Iterator[DealerConnectHandle]:
    with serve_dealerconnect("tiny", seed=7, date=DAY, page_rows=30) as handle:
        yield handle


@pytest.fixture
def client(standin: DealerConnectHandle) -> bigquery.Client:
    standin.set_state(date=DAY, faults="")
    return bigquery.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": standin.endpoint},
    )


def day_params(day: dt.date) -> bigquery.QueryJobConfig:
    return bigquery.QueryJobConfig(
        query_parameters=[bigquery.ScalarQueryParameter("day", "DATE", day)]
    )


def read(client: bigquery.Client, table: str, day: dt.date = DAY) -> pl.DataFrame:
    rows = client.query_and_wait(
        f"SELECT * FROM `{PROJECT}.dealerconnect.{table}` WHERE fetch_date = @day ORDER BY blob_id",
        job_config=day_params(day),
        page_size=25,
    )
    return pl.DataFrame([dict(r.items()) for r in rows])


def test_tables_listed_are_the_onboarded_dealers(
    client: bigquery.Client, standin: DealerConnectHandle
) -> None:
    names = [t.table_id for t in client.list_tables(f"{PROJECT}.dealerconnect", page_size=4)]
    codes = standin.truth(DAY).dealer_codes()
    assert len(codes) >= 3
    assert names == sorted(
        ["code_guides", *(f"inventory_{c}" for c in codes), *(f"sales_{c}" for c in codes)]
    )
    assert standin.state()["requests"]["tables.list"] >= 3  # paged by four


def test_inventory_pages_equal_the_truth_and_agree_with_the_public_feed(
    client: bigquery.Client, standin: DealerConnectHandle
) -> None:
    truth = standin.truth(DAY)
    code = truth.dealer_codes()[0]
    before = standin.state()["requests"].get("jobs.getQueryResults", 0)
    got = read(client, f"inventory_{code}")
    want = truth.tables[f"inventory_{code}"].sort("blob_id")
    assert got.height == want.height > 30
    assert got["blob_id"].to_list() == want["blob_id"].to_list()
    assert got["vin"].to_list() == want["vin"].to_list()
    assert got["poc"].to_list() == want["poc"].to_list()
    assert got["fetch_date"].unique().to_list() == [DAY]
    assert standin.state()["requests"]["jobs.getQueryResults"] - before >= 2

    public = ground_truth(7, DAY, "tiny").vehicles.filter(pl.col("dealerCode") == code)
    stocked = got.filter(pl.col("status") == "IN_STOCK")
    assert sorted(stocked["vin"].to_list()) == sorted(public["vin"].to_list())
    private = got.filter(pl.col("status") != "IN_STOCK")
    assert private["vin"].null_count() == UNIT_VIN_AGE
    poc = orjson.loads(private["poc"][0])
    assert poc["dealerCode"] == code and poc["modelCode"] == private["model_code"][0]


def test_a_unit_keeps_its_order_number_when_its_vin_appears(
    client: bigquery.Client, standin: DealerConnectHandle
) -> None:
    code = standin.truth(DAY).dealer_codes()[0]
    first = read(client, f"inventory_{code}").filter(pl.col("vin").is_null())
    later_day = DAY + dt.timedelta(days=UNIT_VIN_AGE)
    standin.set_state(date=later_day)
    later = read(client, f"inventory_{code}", later_day)
    joined = first.select("order_number").join(later, on="order_number")
    assert joined.height >= 1
    assert joined["vin"].null_count() < joined.height
    assert all(len(v) == 17 for v in joined["vin"].drop_nulls())


def test_order_numbers_are_each_dealers_own(standin: DealerConnectHandle) -> None:
    truth, tomorrow = standin.truth(DAY), standin.truth(DAY + dt.timedelta(days=1))
    inventory = truth.inventory()
    for rows in (inventory, truth.sales(), tomorrow.sales()):
        assert rows.select("dealer_code", "order_number").is_unique().all()
    assert set(inventory["order_number"].str.len_chars()) == {6, 7}
    assert inventory["vin"].drop_nulls().is_unique().all()
    shared = inventory.group_by("order_number").agg(pl.col("dealer_code").n_unique())
    assert shared.filter(pl.col("dealer_code") > 1).height >= 3
    # A vehicle keeps its order number from day to day, into its sale; the seed decides them.
    key = ["dealer_code", "vin"]
    sold = tomorrow.sales().join(inventory, on=key, suffix="_before")
    assert sold.height >= 1
    assert (sold["order_number"] == sold["order_number_before"]).all()
    again = DealerConnectWorld(7, "tiny").day_tables(DAY).inventory()
    assert again["order_number"].to_list() == inventory["order_number"].to_list()


def served_with(
    kind: str, client: bigquery.Client, standin: DealerConnectHandle
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The first dealer's inventory served with fault `kind`, its truth with it and without."""
    table = f"inventory_{standin.truth(DAY).dealer_codes()[0]}"
    standin.set_state(faults=f"{kind}:{table}")
    want = standin.truth(DAY, f"{kind}:{table}").tables[table]
    return read(client, table), want, standin.truth(DAY).tables[table]


def test_a_reused_order_number_is_served_as_asked(
    client: bigquery.Client, standin: DealerConnectHandle
) -> None:
    served, want, _ = served_with("reuse_order", client, standin)
    assert served.height == want.height
    assert served["order_number"].n_unique() == want.height - 1
    assert sorted(served["order_number"]) == sorted(want["order_number"])


def test_a_portal_read_twice_is_served_as_asked(
    client: bigquery.Client, standin: DealerConnectHandle
) -> None:
    served, want, once = served_with("read_twice", client, standin)
    assert served.height == want.height == 2 * once.height
    later = served.filter(pl.col("fetched_at") == pl.col("fetched_at").max())
    assert later.height == once.height and later["status"].unique().to_list() == ["IN_STOCK"]
    with pytest.raises(FaultSpecError, match="only an inventory_ table"):
        Faults.parse("read_twice:sales_31022")


def test_a_dataset_dropped_after_some_queries_answers_404_everywhere(
    client: bigquery.Client, standin: DealerConnectHandle
) -> None:
    table = f"inventory_{standin.truth(DAY).dealer_codes()[0]}"
    standin.set_state(faults="drop_dataset:1")
    assert client.get_dataset(f"{PROJECT}.dealerconnect").location == "US"
    assert read(client, table).height > 0
    gone = f"Not found: Dataset {PROJECT}:dealerconnect was not found in location US"
    for call in (
        lambda: read(client, table),
        lambda: client.get_table(f"{PROJECT}.dealerconnect.{table}"),
        lambda: client.get_dataset(f"{PROJECT}.dealerconnect"),
        lambda: list(client.list_tables(f"{PROJECT}.dealerconnect")),
    ):
        with pytest.raises(exceptions.NotFound, match=gone):
            call()
    standin.set_state(faults="")  # setting the faults again restores it
    assert read(client, table).height > 0
    for spec in ("drop_dataset:1.5", "drop_dataset:-1"):
        with pytest.raises(FaultSpecError, match="needs a whole number of queries"):
            Faults.parse(spec)


def test_a_table_dropped_after_the_listing_and_a_dataset_that_cannot_be_asked_for(
    client: bigquery.Client, standin: DealerConnectHandle
) -> None:
    table = f"inventory_{standin.truth(DAY).dealer_codes()[0]}"
    standin.set_state(faults=f"dropped:{table},dataset_error:403")
    assert table in [t.table_id for t in client.list_tables(f"{PROJECT}.dealerconnect")]
    with pytest.raises(exceptions.NotFound, match=f"Table {PROJECT}:dealerconnect.{table}"):
        read(client, table)
    with pytest.raises(exceptions.NotFound):
        client.get_table(f"{PROJECT}.dealerconnect.{table}")
    with pytest.raises(exceptions.Forbidden, match="Error 403 asking for dealerconnect"):
        client.get_dataset(f"{PROJECT}.dealerconnect")
    for status in ("200", "599", "500.5"):
        with pytest.raises(FaultSpecError, match="needs one of the statuses"):
            Faults.parse(f"dataset_error:{status}")


def test_sales_are_the_vehicles_that_left_the_public_feed(
    client: bigquery.Client, standin: DealerConnectHandle
) -> None:
    truth = standin.truth(DAY)
    before = set(ground_truth(7, DAY - dt.timedelta(days=1), "tiny").vehicles["vin"])
    after = set(ground_truth(7, DAY, "tiny").vehicles["vin"])
    sold = pl.concat([read(client, f"sales_{c}") for c in truth.dealer_codes()])
    retail = sold.filter(pl.col("vin").is_in(list(before)))
    assert retail.height >= 1
    assert not set(retail["vin"]) & after
    assert set(retail["sale_date"]) == {DAY}
    assert sorted(sold["vin"]) == sorted(truth.sales()["vin"])


def test_code_guides_deduplicated_by_blob_with_a_window(client: bigquery.Client) -> None:
    rows = client.query_and_wait(
        f"SELECT * FROM `{PROJECT}.dealerconnect.code_guides` WHERE fetch_date = @day "
        "QUALIFY ROW_NUMBER() OVER (PARTITION BY blob_id ORDER BY fetched_at DESC) = 1",
        job_config=day_params(DAY),
    )
    got = pl.DataFrame([dict(r.items()) for r in rows])
    everything = read(client, "code_guides")
    assert everything.height > got.height == got["blob_id"].n_unique()
    guide = orjson.loads(got.filter(pl.col("model_code") == "JLJL74")["guide"][0])
    assert guide["modelGroup"] == "JL"
    assert {"cpp": "22W", "name": "Sport S", "powertrain": "3.6L Pentastar V6 Engine"} in guide[
        "trims"
    ]


def test_faults(client: bigquery.Client, standin: DealerConnectHandle) -> None:
    codes = standin.truth(DAY).dealer_codes()
    gone, broken = f"inventory_{codes[0]}", f"sales_{codes[1]}"
    standin.set_state(faults=f"vanish:{gone},query_error:{broken},slow_page:0.4,bad_poc:0.2")
    names = [t.table_id for t in client.list_tables(f"{PROJECT}.dealerconnect")]
    assert gone not in names and f"sales_{codes[0]}" in names
    with pytest.raises(exceptions.NotFound, match=gone):
        read(client, gone)
    with pytest.raises(exceptions.BadRequest, match=broken):
        read(client, broken)
    started = time.perf_counter()
    got = read(client, f"inventory_{codes[1]}")
    pages = -(-got.height // 25)
    assert time.perf_counter() - started >= 0.4 * (pages - 1)
    bad = [p for p in got["poc"] if not p.startswith("{") or not p.endswith("}")]
    want = standin.truth(DAY, "bad_poc:0.2").tables[f"inventory_{codes[1]}"].sort("blob_id")
    assert got["poc"].to_list() == want["poc"].to_list()
    assert 0 < len(bad) < got.height
    for text in bad:
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(text)


def test_a_new_column_is_in_the_rows_and_the_schema_of_its_table_only(
    client: bigquery.Client, standin: DealerConnectHandle
) -> None:
    codes = standin.truth(DAY).dealer_codes()
    drifted, other = f"inventory_{codes[0]}", f"inventory_{codes[1]}"
    name, value = NEW_COLUMN
    standin.set_state(faults=f"new_column:{drifted}")
    rows = read(client, drifted)
    assert rows.height > 0 and rows[name].to_list() == [value] * rows.height
    assert name not in read(client, other).columns
    described = [f.name for f in client.get_table(f"{PROJECT}.dealerconnect.{drifted}").schema]
    assert described[-1] == name
    standin.set_state(faults="")
    assert name not in read(client, drifted).columns
