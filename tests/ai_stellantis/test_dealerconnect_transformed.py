"""DealerConnect entities: compiled extraction equals the per-record oracle and the stand-in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from functools import partial
from pathlib import Path

import orjson
import polars as pl
import pyarrow as pa
import pytest

from ai_core.iceberg.catalog import load_catalog
from ai_core.transform import compile_extractor, oracle_extract, oracle_extraction
from ai_core.transform.embedded import (
    MISSING,
    NOT_JSON,
    NOT_OBJECT,
    document_error,
    expand_batch,
    expand_body,
)
from ai_stellantis.entities import (
    CodeGuideModel,
    CodeGuideOption,
    CodeGuidePackage,
    CodeGuideTrim,
    DealerConnectDealer,
    DealerConnectSale,
    DealerConnectVehicle,
)
from ai_stellantis.entities.dealerconnect import POC_KEYS, POC_PRICES
from standin.stellantis.dealerconnect.data import dollars
from standin.stellantis.dealerconnect.faults import NEW_COLUMN
from standin.stellantis.dealerconnect.process import DealerConnectHandle, serve_dealerconnect
from tests.ai_core.transform.payloads import raw_rows
from tests.ai_stellantis.conftest import materialize_day, unknown_keys

DAY = dt.date(2026, 11, 20)
RAW = [
    "stellantis/raw/dealerconnect_inventory",
    "stellantis/raw/dealerconnect_sales",
    "stellantis/raw/dealerconnect_code_guides",
]
TRANSFORMED = [
    "stellantis/transformed/dealerconnect_vehicles",
    "stellantis/transformed/dealerconnect_dealers",
    "stellantis/transformed/dealerconnect_sales",
    "stellantis/transformed/code_guide_trims",
    "stellantis/transformed/code_guide_models",
    "stellantis/transformed/code_guide_packages",
    "stellantis/transformed/code_guide_options",
]


@pytest.fixture(scope="module")
def standin() -> Iterator[DealerConnectHandle]:
    with serve_dealerconnect("tiny", seed=7, date=DAY, page_rows=50) as handle:
        yield handle


@pytest.fixture
def data_dir(standin: DealerConnectHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    standin.set_state(date=DAY, faults="bad_poc:0.05")
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("STELLANTIS_BIGQUERY_ENDPOINT", standin.endpoint)
    monkeypatch.setenv("AI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GCP_CREDENTIALS", raising=False)
    return tmp_path / "data"


def table(data_dir: Path, name: str) -> pl.DataFrame:
    frame = pl.from_arrow(load_catalog(data_dir).load_table(name).scan().to_arrow())
    assert isinstance(frame, pl.DataFrame)
    return frame


def table_pages(*tables: tuple[str, list[dict[str, object]]]) -> pa.RecordBatch:
    """One raw page for each (table, rows), its POCs decoded as the transform reads them."""
    pages = [
        (name, 1, orjson.dumps({"table": name, "page": 1, "total_rows": len(rows), "rows": rows}))
        for name, rows in tables
    ]
    raw = raw_rows(pages, url="bigquery://project/dealerconnect/{domain}")
    return expand_batch(
        pa.RecordBatch.from_struct_array(raw.to_struct_array().combine_chunks()), ["poc"]
    )


def test_embedded_documents_are_decoded_and_bad_ones_kept_as_errors() -> None:
    pocs = ['{"a": 1}', '{"a": ', None, "[]", "null", '"N/A"', "123", {"b": 2}, [1]]
    body = orjson.dumps({"rows": [{"poc": p, "other": "[]"} for p in pocs]})
    rows = orjson.loads(expand_body(body, ["poc"]))["rows"]
    # Only an object is a document; anything else is kept as text beside why it is not one.
    assert [r["poc"] for r in rows] == [
        {"a": 1},
        {"_error": NOT_JSON, "_text": '{"a": '},
        {"_error": MISSING},
        {"_error": NOT_OBJECT, "_text": "[]"},
        {"_error": NOT_OBJECT, "_text": "null"},
        {"_error": NOT_OBJECT, "_text": '"N/A"'},
        {"_error": NOT_OBJECT, "_text": "123"},
        {"b": 2},
        {"_error": NOT_OBJECT, "_text": "[1]"},
    ]
    assert all(r["other"] == "[]" for r in rows)  # other keys are left as they are
    assert [document_error(p) for p in pocs] == [
        None, NOT_JSON, MISSING, NOT_OBJECT, NOT_OBJECT, NOT_OBJECT, NOT_OBJECT, None, NOT_OBJECT,
    ]  # fmt: skip
    assert expand_body(b"<html>", ["poc"]) == b"<html>"


def test_the_dealer_code_is_all_of_the_table_name_after_its_kind() -> None:
    row = {"order_number": "A1B2C3", "vin": None, "model_code": "JLJL74", "poc": '{"cpp": "22W"}'}
    tables = ("inventory_AB_12", "inventory_68302-B", "inventory_31022")
    batch = table_pages(*((table, [row]) for table in tables))
    fast = compile_extractor(DealerConnectVehicle)(batch)
    slow = oracle_extract(DealerConnectVehicle, batch)
    assert fast["dealer_code"].to_list() == ["AB_12", "68302-B", "31022"]
    assert slow["dealer_code"].to_list() == fast["dealer_code"].to_list()


def test_a_unit_whose_poc_is_no_document_says_why() -> None:
    pocs = ['{"price": {"msrp": "$48,170"}}', "[]", None, "null", '{"price": ']
    rows = [{"order_number": f"A{i}", "vin": None, "poc": p} for i, p in enumerate(pocs)]
    batch = table_pages(("inventory_31022", rows))
    for extract in (
        compile_extractor(DealerConnectVehicle),
        partial(oracle_extract, DealerConnectVehicle),
    ):
        units = extract(batch).sort("order_number")
        assert units["document_error"].to_list() == [
            None,
            NOT_OBJECT,
            MISSING,
            NOT_OBJECT,
            NOT_JSON,
        ]
        assert units["msrp"].to_list() == [Decimal("48170.00"), None, None, None, None]


def test_a_vin_that_is_not_one_is_null_and_counted_and_its_unit_kept() -> None:
    vins = [" 1c4hjxen5rw123456 ", "PENDING", "", None, "1C4-SHORT", "   "]
    rows = [{"order_number": f"A{i}", "vin": v, "poc": "{}"} for i, v in enumerate(vins)]
    batch = table_pages(("inventory_31022", rows))
    # A unit is keyed by its order number: a placeholder VIN costs the VIN, not the unit.
    want = ["1C4HJXEN5RW123456", None, None, None, None, None]
    extraction = compile_extractor(DealerConnectVehicle).extract(batch)
    assert extraction.rows.sort("order_number")["vin"].to_list() == want
    assert extraction.rejected.height == 0
    assert extraction.unreadable == {"vin": 2}
    assert sorted(extraction.unreadable_samples["value"].to_list()) == ["1C4-SHORT", "PENDING"]
    slow = oracle_extraction(DealerConnectVehicle, batch)
    assert slow.rows.sort("order_number")["vin"].to_list() == want
    assert slow.unreadable == {"vin": 2}


def test_a_column_a_sales_table_adds_is_reported_and_the_rest_of_the_poc_is_not() -> None:
    poc = {
        "modelYear": "2026", "modelCode": "JLJL74", "cpp": "22W", "llp": "2TW",
        "paint": {"code": "PAU", "description": "Bright White"},
        "fabric": {"code": "X9", "description": "Black Cloth"},
        "options": [{"code": "AJ1", "description": "Tow Group", "msrp": "$995"}],
        "price": {"base": "$41,995", "options": "$4,180", "destination": "$1,995",
                  "msrp": "$48,170"},
        "shipDate": "2026-10-02", "dealerCode": "31022",
    }  # fmt: skip
    row = {
        "fetch_date": "2026-11-20", "sale_date": "2026-11-19", "vin": "1C4HJXEN5RW123456",
        "order_number": "A1B2C3", "sale_type": "RETAIL", "blob_id": "b-1",
    }  # fmt: skip

    def unknown(sale: dict[str, object], document: dict[str, object]) -> dict[str, int]:
        batch = table_pages(("sales_31022", [sale | {"poc": orjson.dumps(document).decode()}]))
        keys = compile_extractor(DealerConnectSale).extract(batch).unknown_keys
        return dict(keys.iter_rows())

    assert unknown(row, poc) == {}
    drifted = unknown(row | {"sale_price": "$45,000"}, poc | {"warranty": {"months": 36}})
    assert drifted == {"rows[].sale_price": 1, "rows[].poc.warranty": 1}


def test_dealerconnect_entities_against_the_oracle_and_the_stand_in(
    data_dir: Path, standin: DealerConnectHandle
) -> None:
    result = materialize_day(RAW + TRANSFORMED, DAY.isoformat())
    assert result.success
    checks = {
        (c.asset_key.to_user_string(), c.check_name): c.passed
        for c in result.get_asset_check_evaluations()
    }
    for key in TRANSFORMED:
        assert checks[(key, "integrity")] is True
    # Some POCs were not JSON: reported, not fatal.
    assert checks[("stellantis/transformed/dealerconnect_vehicles", "discrepancies")] is False

    entities = {
        "dealerconnect_inventory": [DealerConnectVehicle, DealerConnectDealer],
        "dealerconnect_sales": [DealerConnectSale],
        "dealerconnect_code_guides": [
            CodeGuideTrim,
            CodeGuideModel,
            CodeGuidePackage,
            CodeGuideOption,
        ],
    }
    for raw_name, classes in entities.items():
        raw = table(data_dir, f"stellantis_raw.{raw_name}").to_arrow()
        field = "guide" if raw_name.endswith("guides") else "poc"
        batch = expand_batch(
            pa.RecordBatch.from_struct_array(raw.to_struct_array().combine_chunks()), [field]
        )
        for entity in classes:
            fast = compile_extractor(entity)(batch).drop("_snapshot_hash", "_fetched_at")
            slow = oracle_extract(entity, batch).drop("_snapshot_hash", "_fetched_at", strict=False)
            key = list(entity.entity_key)
            assert fast.height > 0
            if entity.repeated_records:  # the fast path gives each distinct record once
                fields = list(entity.model_fields)
                fast, slow = fast.select(fields).unique(), slow.select(fields).unique()
            assert fast.sort(key).equals(slow.select(fast.columns).sort(key)), entity.__name__

    truth = standin.truth(DAY, "bad_poc:0.05")
    vehicles = table(data_dir, "stellantis_transformed.dealerconnect_vehicles")
    want = truth.inventory()
    assert vehicles.height == want.height
    # Dealers share order numbers: each dealer's unit is its own row.
    shared = vehicles.group_by("order_number").agg(pl.col("dealer_code").n_unique())
    assert shared.filter(pl.col("dealer_code") > 1).height >= 3
    joined = vehicles.join(want, on=["dealer_code", "order_number"], suffix="_truth")
    assert joined.height == want.height
    assert joined["vin"].to_list() == joined["vin_truth"].to_list()
    assert (joined["cpp"] == joined["pkg"]).all()
    for poc, msrp, error in joined.select("poc", "msrp", "document_error").iter_rows():
        assert error == document_error(poc)
        if error is not None:
            assert msrp is None
            continue
        price = orjson.loads(poc)["price"]
        assert msrp == (None if price is None else dollars(price["msrp"]))

    sales = table(data_dir, "stellantis_transformed.dealerconnect_sales")
    truth_sales = truth.sales()
    sold = ["dealer_code", "order_number", "vin", "sale_date"]
    assert sorted(sales.select(sold).rows()) == sorted(truth_sales.select(sold).rows())

    trims = table(data_dir, "stellantis_transformed.code_guide_trims")
    wrangler = trims.filter(
        (pl.col("model_code") == "JLJL74")
        & (pl.col("model_year") == 2026)
        & (pl.col("cpp") == "22W")
    )
    assert wrangler.select("trim_name", "model_group", "vehicle_line").rows() == [
        ("Sport S", "JL", "Wrangler")
    ]
    packages = table(data_dir, "stellantis_transformed.code_guide_packages")
    latest = truth.latest_code_guides()
    expected = sum(len(orjson.loads(g)["packages"]) for g in latest["guide"])
    assert packages.height == expected


def test_an_order_number_a_dealer_uses_twice_is_reported(
    data_dir: Path, standin: DealerConnectHandle
) -> None:
    code = standin.truth(DAY).dealer_codes()[0]
    fault = f"reuse_order:inventory_{code}"
    standin.set_state(date=DAY, faults=fault)
    result = materialize_day(RAW[:1] + TRANSFORMED[:1], DAY.isoformat())
    assert result.success
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    integrity, found = checks["integrity"], checks["discrepancies"]
    assert integrity.passed is False
    assert integrity.metadata["short_sub_resources"].value == 1
    assert f"inventory_{code}" in integrity.metadata["samples"].value
    assert found.passed is False
    assert found.metadata["count.key conflicts"].value == 1
    # Every other dealer's units, sharing order numbers with this one, are all there.
    truth = standin.truth(DAY, fault).inventory()
    vehicles = table(data_dir, "stellantis_transformed.dealerconnect_vehicles")
    assert vehicles.height == truth.height - 1
    key = ["dealer_code", "order_number"]
    assert vehicles.select(key).unique().height == truth.select(key).unique().height


def test_a_portal_read_twice_in_a_day_keeps_each_units_later_read(
    data_dir: Path, standin: DealerConnectHandle
) -> None:
    once = standin.truth(DAY).inventory()
    code = once.group_by("dealer_code").len().sort("len", "dealer_code").row(-1)[0]
    standin.set_state(date=DAY, faults=f"read_twice:inventory_{code}")
    result = materialize_day(RAW[:1] + TRANSFORMED[:1], DAY.isoformat())
    assert result.success
    raw = table(data_dir, "stellantis_raw.dealerconnect_inventory")
    bodies = raw.filter(pl.col("_sub_resource") == f"inventory_{code}")["_response_body"]
    units = once.filter(pl.col("dealer_code") == code).height
    assert units > 5 and sum(b.count('"order_number"') for b in bodies) == 2 * units

    vehicles = table(data_dir, "stellantis_transformed.dealerconnect_vehicles")
    assert vehicles.height == once.height
    read_twice = vehicles.filter(pl.col("dealer_code") == code)
    # Every unit once, as its latest read has it, whichever page and hash each read landed on.
    assert read_twice.height == units
    assert read_twice["status"].unique().to_list() == ["IN_STOCK"]
    later = once["fetched_at"].max() + dt.timedelta(hours=3)  # type: ignore[operator]
    assert read_twice["fetched_at"].dt.replace_time_zone(None).unique().to_list() == [later]
    # The earlier read is still reported: a read time cannot tell it from a reused order number.
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["discrepancies"].metadata["count.key conflicts"].value == units
    integrity = checks["integrity"]
    assert integrity.passed is False and integrity.metadata["short_sub_resources"].value == 1
    assert (
        f"inventory_{code}: {units} distinct of {2 * units}" in integrity.metadata["samples"].value
    )


def test_units_without_a_vin_sent_as_pending_are_the_same_rows_reported(
    data_dir: Path, standin: DealerConnectHandle
) -> None:
    standin.set_state(date=DAY, faults="")
    assert materialize_day(RAW[:1] + TRANSFORMED[:1], DAY.isoformat()).success
    name = "stellantis_transformed.dealerconnect_vehicles"
    want = table(data_dir, name).drop("_fetched_at")
    code = want.filter(pl.col("vin").is_null())["dealer_code"].min()
    pending = want.filter((pl.col("dealer_code") == code) & pl.col("vin").is_null()).height
    assert pending > 0

    standin.set_state(date=DAY, faults=f"pending_vins:inventory_{code}")
    result = materialize_day(RAW[:1] + TRANSFORMED[:1], DAY.isoformat())
    assert result.success
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["integrity"].passed
    found = checks["discrepancies"]
    assert found.passed is False
    assert found.metadata["count.unreadable vin"].value == pending
    assert "PENDING" in found.metadata["samples"].value
    got = table(data_dir, name).select(want.columns)
    key = ["dealer_code", "order_number"]
    assert got.sort(key).equals(want.sort(key))


def test_a_column_tables_add_is_named_and_the_rows_stay_as_they_were(
    data_dir: Path, standin: DealerConnectHandle
) -> None:
    def run(faults: str) -> dict[str, dict[str, int]]:
        """Each table's unknown keys with their counts."""
        standin.set_state(date=DAY, faults=faults)
        result = materialize_day(RAW + TRANSFORMED, DAY.isoformat())
        assert result.success
        return unknown_keys(result)

    def rows(name: str) -> pl.DataFrame:
        frame = table(data_dir, f"stellantis_transformed.{name}").drop("_fetched_at")
        return frame.sort(frame.columns)

    clean_day = run("")
    assert set(clean_day) == set(TRANSFORMED) and not any(clean_day.values())
    clean = {name: rows(name) for name in ("dealerconnect_vehicles", "dealerconnect_sales")}
    sold = table(data_dir, "stellantis_raw.dealerconnect_sales")
    with_sales = sold.filter(pl.col("_response_body").str.contains('"rows":[{', literal=True))
    sales = with_sales["_sub_resource"][0]
    stock = sales.replace("sales_", "inventory_")

    named = run(f"new_column:{sales},new_column:{stock}")

    column = f"rows[].{NEW_COLUMN[0]}"
    counted = {}
    for kind, name in (("sales", sales), ("inventory", stock)):
        raw = table(data_dir, f"stellantis_raw.dealerconnect_{kind}")
        bodies = raw.filter(pl.col("_sub_resource") == name)["_response_body"]
        # Every row of the table, and no other table's, carries the column.
        counted[kind] = sum(b.count('"order_number"') for b in bodies)
        assert sum(b.count(f'"{NEW_COLUMN[0]}"') for b in raw["_response_body"]) == counted[kind]
    assert named == clean_day | {
        "stellantis/transformed/dealerconnect_sales": {column: counted["sales"]},
        "stellantis/transformed/dealerconnect_vehicles": {column: counted["inventory"]},
    }
    assert min(counted.values()) > 0
    for name, frame in clean.items():
        assert rows(name).equals(frame), name


def test_the_contracts_poc_keys_are_those_the_unit_reads_or_ignores() -> None:
    def fields(dtype: object) -> dict[str, object]:
        assert isinstance(dtype, pl.Struct)
        return {f.name: f.dtype for f in dtype.fields}

    rows = fields(compile_extractor(DealerConnectVehicle).plan.page_dtype)["rows"]
    assert isinstance(rows, pl.List)
    poc = fields(fields(rows.inner)["poc"])
    prefix = "rows[].poc."
    ignored = {k.removeprefix(prefix) for k in DealerConnectVehicle.ignored_keys if prefix in k}
    assert (set(poc) | ignored) - {"_error", "_text"} == set(POC_KEYS)
    assert set(fields(poc["price"])) == set(POC_PRICES)


def test_sales_sharing_one_document_are_all_counted_and_all_kept(
    data_dir: Path, standin: DealerConnectHandle
) -> None:
    # The contract does not say a document holds one row: a sales report may list several.
    truth = standin.truth(DAY).sales()
    code = truth.group_by("dealer_code").len().sort("len", "dealer_code").row(-1)[0]
    sold = truth.filter(pl.col("dealer_code") == code).height
    assert sold > 1
    standin.set_state(date=DAY, faults=f"one_document:sales_{code}")
    result = materialize_day(RAW[1:2] + TRANSFORMED[2:3], DAY.isoformat())
    assert result.success
    checks = {(c.asset_key.path[1], c.check_name): c for c in result.get_asset_check_evaluations()}
    raw = checks[("raw", "completeness")]
    assert raw.passed, raw.metadata
    assert raw.metadata["distinct_records"].value == truth.height
    sales = table(data_dir, "stellantis_transformed.dealerconnect_sales")
    assert sales.filter(pl.col("dealer_code") == code).height == sold
    assert checks[("transformed", "integrity")].passed
