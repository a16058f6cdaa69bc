"""Observed sale dates replace inferred ones; a price within tolerance is not a discrepancy."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from ai_core.consolidate import consolidate
from ai_core.consolidate.sales import SOLD_DATE_SOURCE, with_observed_sales
from ai_core.consolidate.spec import SalesSpec
from ai_core.transform.scalars import MONEY_DTYPE
from tests.ai_core.consolidate.frames import DAY, VEHICLE_SCHEMA, frame, inputs, vehicle_spec

SPEC = SalesSpec(source="acme/transformed/sales", match_on=[["order_number"], ["vin"]])
D1, D2 = dt.date(2026, 11, 18), dt.date(2026, 11, 19)


def rows() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "vin": ["V1", "V2", None, "V4", "V5"],
            "order_number": ["O1", None, "O3", None, "O5"],
            "sold_date": [D1, D1, None, D1, None],
            SOLD_DATE_SOURCE: [None, None, None, "observed", None],
        }
    )


def test_sales_match_by_order_number_then_vin_and_mark_the_date_observed() -> None:
    sales = pl.DataFrame(
        {
            "vin": ["V1", "V2", "V5", "V9"],
            "order_number": ["O1", None, "X", "O3"],
            "sale_date": [D2, D2, D2, D1],
        }
    )
    got = with_observed_sales(rows(), sales, SPEC)
    assert got.columns == rows().columns
    assert got.select("sold_date", SOLD_DATE_SOURCE).rows() == [
        (D2, "observed"),  # O1, by order number
        (D2, "observed"),  # V2, by VIN
        (D1, "observed"),  # O3: a sale of a unit still listed is a sale
        (D1, "observed"),  # carried from the previous day
        (D2, "observed"),  # V5, by VIN although its sale names another order number
    ]


def test_without_sales_a_sold_date_is_inferred_and_an_observed_mark_kept() -> None:
    got = with_observed_sales(rows().drop(SOLD_DATE_SOURCE), None, SPEC)
    assert got[SOLD_DATE_SOURCE].to_list() == ["inferred", "inferred", None, "inferred", None]
    kept = with_observed_sales(rows(), pl.DataFrame(schema={"vin": pl.String}), SPEC)
    assert kept[SOLD_DATE_SOURCE].to_list() == ["inferred", "inferred", None, "observed", None]


def test_a_price_tolerance_keeps_small_differences_out_of_the_discrepancies() -> None:
    spec = vehicle_spec(discrepancy_fields=["price"], discrepancy_tolerance={"price": 100})
    public = frame([{"vin": "A", "price": 1000}, {"vin": "B", "price": 1000}, {"vin": "C"}])
    dealer = frame([{"vin": "A", "price": 1100}, {"vin": "B", "price": 1101}, {"vin": "C"}])
    result = consolidate(spec, DAY, inputs(spec, {"public": public, "dealer": dealer}), "acme/US/v")
    assert result.discrepancies.counts == {"price": 1}
    ids = dict(result.frame.select("vin", "vehicle_id").iter_rows())
    assert result.discrepancies.samples.rows() == [(ids["B"], "price", "dealer=1101; public=1000")]


def test_a_price_tolerance_compares_decimal_prices_to_the_cent() -> None:
    # As floats, 1.30 - 1.00 is 0.30000000000000004: more than a 0.30 tolerance.
    spec = vehicle_spec(discrepancy_fields=["price"], discrepancy_tolerance={"price": 0.3})
    schema = {**VEHICLE_SCHEMA, "price": MONEY_DTYPE}
    public = frame(
        [{"vin": "A", "price": Decimal("1.00")}, {"vin": "B", "price": Decimal("1.00")}], schema
    )
    dealer = frame(
        [{"vin": "A", "price": Decimal("1.30")}, {"vin": "B", "price": Decimal("1.31")}], schema
    )
    result = consolidate(spec, DAY, inputs(spec, {"public": public, "dealer": dealer}), "acme/US/v")
    assert result.frame.schema["price"] == MONEY_DTYPE
    assert result.discrepancies.counts == {"price": 1}
    ids = dict(result.frame.select("vin", "vehicle_id").iter_rows())
    assert result.discrepancies.samples.rows() == [(ids["B"], "price", "dealer=1.31; public=1.00")]


def test_a_source_still_holding_float_prices_is_named_rather_than_stacked() -> None:
    spec = vehicle_spec()
    public = frame(
        [{"vin": "A", "price": Decimal("1.00")}], {**VEHICLE_SCHEMA, "price": MONEY_DTYPE}
    )
    dealer = frame([{"vin": "A", "price": 1.0}], {**VEHICLE_SCHEMA, "price": pl.Float64()})
    with pytest.raises(TypeError, match=r"acme/transformed/dealer 2026-11-20: column 'price' is"):
        consolidate(spec, DAY, inputs(spec, {"public": public, "dealer": dealer}), "acme/US/v")
