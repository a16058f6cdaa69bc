"""Observed sale dates replace inferred ones; a price within tolerance is not a discrepancy."""

from __future__ import annotations

import datetime as dt

import polars as pl

from ai_core.consolidate import consolidate
from ai_core.consolidate.sales import SOLD_DATE_SOURCE, with_observed_sales
from ai_core.consolidate.spec import SalesSpec
from tests.ai_core.consolidate.frames import DAY, frame, inputs, vehicle_spec

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
