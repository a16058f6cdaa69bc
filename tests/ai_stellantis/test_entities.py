"""Stellantis entity declarations: their tables, their rules, and a served day both ways."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

import orjson
import polars as pl
import pyarrow as pa
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ai_core.iceberg.stats import ColumnCounts
from ai_core.raw.result import RawPage, make_raw_row_frame
from ai_core.transform import (
    HASH_COLUMN,
    Entity,
    compile_extractor,
    oracle_extraction,
    pydantic_to_polars_schema,
    transformed_schema,
)
from ai_core.transform.column_drift import ColumnDriftRule, column_drift_result
from ai_stellantis.entities import (
    PUBLIC_SOURCES,
    SOURCES,
    FiltersModelYearCode,
    InventoryDealer,
    InventoryModel,
    InventoryOption,
    InventoryPackageFeature,
    InventoryVehicle,
    LocatorDealer,
)
from ai_stellantis.entities.fields import CPP, OptionalVin
from standin.stellantis.sites.catalog import BY_DOMAIN as SPECS
from standin.stellantis.sites.responses import dealer_list, inventory_page, model_year_codes
from standin.stellantis.sites.truth import ground_truth
from standin.stellantis.sites.world import CodeInfo
from tests.ai_core.transform.agree import assert_same
from tests.ai_core.transform.payloads import inventory_body, raw_rows

DEFS = Path(__file__).parents[2] / "ai_stellantis" / "defs"

DAY = dt.date(2026, 11, 20)
FETCHED = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
VIN = "1C4HJXEN5RW123456"


def one_vehicle(
    domain: str = "jeep.com", *, url: str | None = None, **fields: object
) -> pl.DataFrame:
    record = {"vin": VIN, "brand": "Jeep", **fields}
    page = (f"{domain}/IUJ202610", 1, inventory_body([record], 1))
    raw = raw_rows([page], url=url) if url else raw_rows([page])
    return compile_extractor(InventoryVehicle).extract(raw).rows


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.__name__)
def test_a_source_has_its_canonical_table(source: type[Entity]) -> None:
    canonical = source.__mro__[1]
    assert pydantic_to_polars_schema(source) == pydantic_to_polars_schema(canonical)


def test_the_vehicle_table_has_about_seventy_typed_columns() -> None:
    schema = transformed_schema(InventoryVehicle)
    assert 65 <= len(schema) <= 80
    assert schema["msrp"] == pl.Decimal(12, 2)
    assert schema["latitude"] == pl.Float64
    assert schema["is_demo"] == pl.Boolean
    assert schema["last_updated"] == pl.Datetime("us", "UTC")
    assert schema["options"] == pl.List(pl.String)
    assert schema["packages"] == pl.List(
        pl.Struct({"code": pl.String, "description": pl.String, "msrp": pl.Decimal(12, 2)})
    )
    assert schema["doors"] == pl.Int64
    assert schema[HASH_COLUMN] == pl.Int64
    assert list(schema)[:4] == ["_partition_date", "_sub_resource", "_page_number", "_fetched_at"]


def test_a_vehicle_is_flattened_and_coerced() -> None:
    row = one_vehicle(
        price={"msrp": "$52,345", "netPrice": 49_000, "employeePrice": "", "destination": None},
        attributes={
            "attributes": [
                {"typeId": 1, "typeDesc": "Drive", "value": "4WD"},
                {"typeId": 2, "typeDesc": "Doors", "value": "4"},
                {"typeId": 5, "typeDesc": "Power Source", "value": " Gas "},
            ]
        },
        isDemo=True,
        mileage="1,204",
        lastUpdated="2026-11-19T08:30:00Z",
        assumedModelYearCode="",
        options=["PAU", "22W", "2TW", "", None, "PAU"],
        packages=[{"code": "2TW", "desc": "Quick Order Package 2TW", "msrp": "$0"}, "junk"],
        incentives=[{"id": "26JRC", "name": "Cash", "amount": "$1,000", "expires": "11/30/2026"}],
        ccode="IUJ202610JLJL7422WPAU",
    ).row(0, named=True)
    assert (row["msrp"], row["net_price"], row["employee_price"], row["destination"]) == (
        52345.0,
        49000.0,
        None,
        None,
    )
    assert (row["drive"], row["doors"], row["seats"], row["power_source"]) == (
        "4WD",
        4,
        None,
        "Gas",
    )
    assert row["is_demo"] is True
    assert row["mileage"] == 1204
    assert row["last_updated"] == dt.datetime(2026, 11, 19, 8, 30, tzinfo=dt.UTC)
    assert row["assumed_model_year_code"] is None
    assert row["options"] == ["22W", "2TW", "PAU"]
    assert row["cpp"] == "22W"
    assert row["model_code"] == "JLJL74"
    assert row["packages"] == [
        {"code": "2TW", "description": "Quick Order Package 2TW", "msrp": 0.0}
    ]
    assert row["incentives"] == [
        {"id": "26JRC", "name": "Cash", "amount": 1000.0, "expires": dt.date(2026, 11, 30)}
    ]


def test_the_brand_comes_from_the_site_and_a_wrong_one_is_corrected() -> None:
    image = "client=fcaus&market=U&brand=J&vehicle=2026_JL&paint=PAU"
    row = one_vehicle(brand="Toyota", extImage=image, intImage=image + "&pov=I01").row(
        0, named=True
    )
    assert (row["brand"], row["published_brand"], row["brand_corrected"]) == (
        "Jeep",
        "Toyota",
        True,
    )
    assert row["maker_code"] == "1C4"
    assert row["vin_matches_brand"] is True
    assert row["image_brand"] == "J"
    assert row["image_brand_matches"] is True
    assert row["ext_image_url"] == f"https://www.jeep.com/mediaserver/iris?{image}"
    assert row["int_image_url"] == f"https://www.jeep.com/mediaserver/iris?{image}&pov=I01"
    right = one_vehicle(brand="Jeep").row(0, named=True)
    assert right["brand_corrected"] is False


@pytest.mark.parametrize(
    ("url", "site"),
    [
        (
            "http://127.0.0.1:8765/jeep.com/hostd/inventory/getinventoryresults.json?zip=66952",
            "http://127.0.0.1:8765/jeep.com",
        ),
        # A base URL with credentials is stored redacted; a link leaves them out.
        (
            "https://***@www.jeep.com/hostd/inventory/getinventoryresults.json",
            "https://www.jeep.com",
        ),
        # A same-host redirect away from /hostd/ leaves the origin.
        ("https://www.jeep.com/inventory/results?zip=66952", "https://www.jeep.com"),
        ("http://bü.example/é/hostd/inventory", "http://bü.example/é"),
    ],
)
def test_image_urls_point_at_the_site_the_page_came_from(url: str, site: str) -> None:
    image = "client=fcaus&brand=J&vehicle=2026_JL"
    row = one_vehicle(url=url, extImage=image).row(0, named=True)
    assert row["ext_image_url"] == f"{site}/mediaserver/iris?{image}"
    assert row["int_image_url"] is None
    page = ("jeep.com/IUJ202610", 1, inventory_body([{"vin": VIN, "extImage": image}], 1))
    oracle = oracle_extraction(InventoryVehicle, raw_rows([page], url=url)).rows
    assert oracle["ext_image_url"].to_list() == [row["ext_image_url"]]


def test_evidence_of_another_brand_is_flagged_not_fatal() -> None:
    row = one_vehicle(
        "ramtrucks.com", brand="Ram", extImage="client=fcaus&brand=J&vehicle=2026_JL"
    ).row(0, named=True)
    assert row["brand"] == "Ram"
    assert row["vin_matches_brand"] is False
    assert row["image_brand_matches"] is False


def test_an_italian_plants_maker_code_says_nothing_of_the_brand() -> None:
    # The sites say only that these are Italian-built: no VIN of them is flagged.
    for domain in ("jeep.com", "dodge.com", "fiatusa.com", "alfaromeousa.com"):
        for wmi in ("ZAC", "ZAR", "ZFA", "ZFB"):
            row = one_vehicle(domain, vin=wmi + VIN[3:]).row(0, named=True)
            assert (row["maker_code"], row["vin_matches_brand"]) == (wmi, None), (domain, wmi)
    assert one_vehicle("jeep.com", vin="1C6" + VIN[3:])["vin_matches_brand"].to_list() == [False]


def test_a_site_of_an_unknown_brand_gives_no_image_url_and_a_warning() -> None:
    rows = one_vehicle("toyota.com", brand="Toyota", extImage="brand=T", intImage=None)
    row = rows.row(0, named=True)
    assert row["brand"] == "Toyota"
    assert row["brand_corrected"] is False
    assert row["ext_image_url"] is None
    assert row["vin_matches_brand"] is None
    rule = InventoryVehicle.discrepancies["image of an unknown brand"]
    assert rows.select(rule).to_series().to_list() == [True]


@pytest.mark.parametrize(
    ("options", "cpp", "counted"),
    [
        (["22W", "2TW", "PAU"], "22W", False),
        (["2TW", "PAU"], None, True),
        (["22W", "23B"], None, True),
        (["22W", "2TW", " 22W"], "22W", False),  # listed twice, still one package
        (["22W", "22W", "23B"], None, True),
        ([" 21E "], "21E", False),
        ([], None, False),
        (None, None, None),
    ],
)
def test_the_cpp_is_the_one_option_of_its_form(
    options: list[str] | None, cpp: str | None, counted: bool | None
) -> None:
    rows = one_vehicle(options=options)
    assert rows["cpp"].to_list() == [cpp]
    # Options without one are counted, so a spelling the rule does not know shows.
    rule = InventoryVehicle.discrepancies["no CPP among the options"]
    assert rows.select(rule).to_series().to_list() == [counted]


def test_the_cpp_rule_agrees_on_the_per_record_path() -> None:
    lists = [
        ["22W", "2TW", " 22W"],
        ["22W", None, "22W "],
        ["22W", "22W", "23B"],
        ["22W", "23B"],
        [None, "", " "],
        ["2TW"],
        [],
        None,
    ]
    expected = ["22W", "22W", None, None, None, None, None, None]
    frame = pl.DataFrame({"options": lists}, schema={"options": pl.List(pl.String)})
    vectorised = frame.select(CPP.polars(pl.col("options"))).to_series().to_list()
    assert vectorised == [CPP.python(v) for v in lists] == expected


@pytest.mark.parametrize(
    ("ccode", "model_code"),
    [("IUJ202610JLJL7422WPAU", "JLJL74"), ("IUJ202610JLJL", None), ("", None), (None, None)],
)
def test_the_model_code_is_characters_ten_to_fifteen_of_ccode(
    ccode: str | None, model_code: str | None
) -> None:
    assert one_vehicle(ccode=ccode)["model_code"].to_list() == [model_code]


def test_a_malformed_vin_is_rejected() -> None:
    raw = raw_rows([("jeep.com/IUJ202610", 1, inventory_body([{"vin": "1C4-SHORT"}], 1))])
    extraction = compile_extractor(InventoryVehicle).extract(raw)
    assert extraction.rows.height == 0
    assert extraction.rejected["reason"].to_list() == ["vin does not match ^[A-HJ-NPR-Z0-9]{17}$"]


VIN_TEXTS = st.one_of(
    st.text(alphabet="1C4HJXEN5RWioq -\n\t\u00a0\u0131\u017f\uff21", max_size=20),
    st.text(alphabet="0123456789ABCDEFGHJKLMNPRSTUVWXYZabcdefghjklmnprstuvwxyz", min_size=17,
            max_size=17).map(lambda v: f" {v}\t"),
    st.sampled_from(["PENDING", "N/A", "", "[]", '{"a": 1}', VIN, VIN.lower()]),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.one_of(st.none(), VIN_TEXTS), min_size=1, max_size=20))
def test_a_vin_that_may_be_null_reads_alike_on_both_paths(values: list[str | None]) -> None:
    coercer = OptionalVin.__metadata__[0]
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    got = frame.select(coercer.polars(pl.col("v"))).to_series().to_list()
    assert got == [coercer.python(v) for v in values]


def test_options_and_packages_become_features_per_model_year_code() -> None:
    record = {
        "vin": VIN,
        "modelYearCode": "IUJ202610",
        "options": ["22W", "PAU"],
        "packages": [{"code": "AJ1", "desc": "Cold Weather Group", "msrp": "$995"}],
    }
    raw = raw_rows([("jeep.com/IUJ202610", 1, inventory_body([record, record], 2))])
    options = compile_extractor(InventoryOption).extract(raw)
    packages = compile_extractor(InventoryPackageFeature).extract(raw)
    # The second vehicle's codes are copies of the first's: typed once, counted as collapsed.
    assert options.rows.select("model_year_code", "kind", "code", "msrp").rows() == [
        ("IUJ202610", "option", "22W", None),
        ("IUJ202610", "option", "PAU", None),
    ]
    assert options.collapsed == 2
    assert options.pages["records"].to_list() == [4]
    assert packages.rows.select("kind", "code", "description", "msrp").rows() == [
        ("package", "AJ1", "Cold Weather Group", 995.0)
    ]
    assert packages.collapsed == 1


def _served(sub: str, number: int, body: bytes) -> RawPage:
    domain = sub.split("/")[0]
    return RawPage(number, f"https://www.{domain}/", {"pageNumber": number}, 200, body, FETCHED)


@cache
def served_day() -> dict[str, pa.Table]:
    """The raw rows of a served day, each body exactly as the local server renders it."""
    truth = ground_truth(7, DAY, "tiny")
    inventory = []
    for (domain, code, page), group in truth.vehicles.sort("position").group_by(
        ["domain", "modelYearCode", "page"], maintain_order=True
    ):
        total = truth.codes.filter(pl.col("code") == code)["count"].item()
        body = inventory_page("totalcount", total, group["json"].to_list()).body
        inventory.append(
            make_raw_row_frame(
                DAY, f"{domain}/{code}", [_served(f"{domain}/{code}", int(page), body)]
            )
        )
    dealers, codes = [], []
    for (domain,), group in truth.dealers.group_by(["domain"], maintain_order=True):
        body = dealer_list(group["json"].to_list()).body
        dealers.append(make_raw_row_frame(DAY, str(domain), [_served(str(domain), 1, body)]))
    for (domain,), group in truth.codes.group_by(["domain"], maintain_order=True):
        infos = [
            CodeInfo(
                code=r["code"], year=r["year"], line=r["vehicleLine"], count=r["count"], line_idx=0
            )
            for r in group.iter_rows(named=True)
        ]
        body = model_year_codes(SPECS[str(domain)], infos).body
        codes.append(make_raw_row_frame(DAY, str(domain), [_served(str(domain), 1, body)]))
    return {
        "inventory": pa.concat_tables(inventory),
        "dealers": pa.concat_tables(dealers),
        "codes": pa.concat_tables(codes),
    }


RAW_OF: dict[type[Entity], str] = {
    InventoryVehicle: "inventory",
    InventoryDealer: "inventory",
    InventoryModel: "inventory",
    InventoryOption: "inventory",
    InventoryPackageFeature: "inventory",
    LocatorDealer: "dealers",
    FiltersModelYearCode: "codes",
}


@pytest.mark.parametrize("source", PUBLIC_SOURCES, ids=lambda s: s.__name__)
def test_a_served_day_gives_the_same_frame_both_ways(source: type[Entity]) -> None:
    raw = served_day()[RAW_OF[source]]
    got = compile_extractor(source).extract(raw)
    want = oracle_extraction(source, raw)
    assert got.rows.height > 0
    assert_same(got, want, source)
    assert got.rejected.height == 0
    assert got.unknown_keys["key"].to_list() == want.unknown_keys["key"].to_list() == []


def test_a_served_day_reads_every_vehicle_and_dealer_of_the_ground_truth() -> None:
    truth = ground_truth(7, DAY, "tiny")
    raw = served_day()
    vehicles = compile_extractor(InventoryVehicle).extract(raw["inventory"])
    assert sorted(vehicles.rows["vin"]) == sorted(truth.vehicles["vin"])
    assert vehicles.pages["reported_total"].sum() >= vehicles.rows.height
    dealers = compile_extractor(LocatorDealer)(raw["dealers"])
    assert set(dealers["dealer_code"]) == set(truth.dealers["dealerCode"])
    hours = dealers.select(pl.col("monday_sales_open").drop_nulls().unique()).to_series()
    assert hours.to_list() == ["9:00 AM"]
    codes = compile_extractor(FiltersModelYearCode)(raw["codes"])
    assert set(codes["code"]) == set(truth.codes["code"])
    assert codes["brand"].null_count() == 0


def test_a_day_marked_closed_has_no_hours_whatever_times_it_carries() -> None:
    def day(closed: object, opens: str = "9:00", closes: str = "8:00") -> dict[str, object]:
        return {
            "closed": closed,
            "open": {"time": opens, "ampm": "AM"},
            "close": {"time": closes, "ampm": "PM"},
        }

    hours = {
        "monday": day("N"),
        "tuesday": day("Y"),  # closed, yet its times kept
        "wednesday": day(True),
        "thursday": day(False),
        "friday": {"open": {"time": "9:00", "ampm": "AM"}},  # no flag: open
        "saturday": day("Y", "", ""),
        "sunday": None,
    }
    dealer = {"dealerCode": "60421", "departments": {"sales": {"hours": hours}}}
    body = orjson.dumps({"status": "SUCCESS", "dealer": [dealer]})
    raw = raw_rows([("jeep.com", 1, body)], url="https://www.{domain}/bin/MDLSDealerLocator")
    got = compile_extractor(LocatorDealer).extract(raw)
    assert_same(got, oracle_extraction(LocatorDealer, raw), LocatorDealer)
    (row,) = got.rows.iter_rows(named=True)
    opens = {d: row[f"{d}_sales_open"] for d in hours}
    closes = {d: row[f"{d}_sales_close"] for d in hours}
    assert opens == {"monday": "9:00 AM", "tuesday": None, "wednesday": None,
        "thursday": "9:00 AM", "friday": "9:00 AM", "saturday": None, "sunday": None}  # fmt: skip
    assert closes["monday"] == closes["thursday"] == "8:00 PM"
    assert closes["tuesday"] is closes["wednesday"] is closes["friday"] is None
    assert got.unknown_keys.height == 0


def test_a_locator_without_closed_flags_is_no_drift() -> None:
    documents = list(yaml.safe_load_all(DEFS.joinpath("transformed/defs.yaml").read_text()))
    (locator,) = [d for d in documents if d["attributes"]["raw"].endswith("public_dealers")]
    rule = ColumnDriftRule(**locator["attributes"]["column_drift"])
    open_day = {"open": {"time": "9:00", "ampm": "AM"}, "close": {"time": "8:00", "ampm": "PM"}}
    hours = dict.fromkeys(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
        "sunday"), open_day)  # fmt: skip
    dealer = {"dealerCode": "60421", "departments": {"sales": {"hours": hours}}}
    body = orjson.dumps({"status": "SUCCESS", "dealer": [dealer]})
    raw = raw_rows([("jeep.com", 1, body)], url="https://www.{domain}/bin/MDLSDealerLocator")
    missing = compile_extractor(LocatorDealer).extract(raw).missing_keys or frozenset()
    assert {p for p in missing if p.endswith(".closed")} == set(rule.ignore)
    counts = ColumnCounts(dt.date(2026, 11, 20), 1, {})
    result = column_drift_result(counts, None, sorted(missing), rule)
    assert "closed" not in (result.description or "")


def test_keys_the_contract_does_not_list_are_no_drift_when_a_site_leaves_them_out() -> None:
    attributes = next(yaml.safe_load_all(DEFS.joinpath("transformed/defs.yaml").read_text()))
    rule = ColumnDriftRule(**attributes["attributes"]["column_drift"])
    vehicle = {"vin": "1C4HJXEN5RW123456", "modelYearCode": "IUJ202610", "dealerCode": "60421"}
    raw = raw_rows([("jeep.com/IUJ202610", 1, inventory_body([vehicle], total=1))])
    missing = compile_extractor(InventoryVehicle).extract(raw).missing_keys or frozenset()
    # The ignored paths are declared ones a site may leave out...
    assert set(rule.ignore) <= missing
    # ... and the only ones: a declared key the contract lists is still named when absent.
    counts = ColumnCounts(dt.date(2026, 11, 20), 1, {})
    result = column_drift_result(counts, None, sorted(missing), rule)
    described = result.description or ""
    assert "vehicles[].model " not in described and "vehicleType" not in described
    assert "vehicles[].msrp" in described or "vehicles[].price" in described
