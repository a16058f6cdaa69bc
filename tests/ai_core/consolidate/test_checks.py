"""Integrity and discrepancy facts, and the asset-check results built from them."""

from __future__ import annotations

import re
from typing import Any

import dagster as dg
import polars as pl
import pytest
from pydantic import ValidationError

from ai_core.consolidate import LookupTable, consolidate, integrity
from ai_core.consolidate.check_results import discrepancy_check_result, integrity_check_result
from tests.ai_core.consolidate.frames import DAY, frame, inputs, vehicle_spec

DEALERS = pl.DataFrame({"dealer_code": ["D1", "D2"], "dealer_id": ["id-d1", "id-d2"]})


def _with_dealers(**overrides: object):
    return vehicle_spec(
        foreign_keys=[
            {"column": "dealer_id", "entity": "dealers", "by": {"dealer_code": "dealer_code"}}
        ],
        **overrides,
    )


def test_foreign_keys_resolve_and_orphans_are_counted_with_samples() -> None:
    spec = _with_dealers()
    rows: list[dict[str, Any]] = [
        {"vin": "A", "dealer_code": "D1"},
        {"vin": "B", "dealer_code": "D9"},
        {"vin": "C", "dealer_code": "D9"},
        {"vin": "D", "dealer_code": "D8"},
        {"vin": "E", "dealer_code": None},
    ]
    result = consolidate(
        spec,
        DAY,
        inputs(spec, {"public": frame(rows)}),
        "acme/US/vehicles",
        {"dealers": LookupTable(DEALERS.lazy(), "dealer_id")},
        chunk_rows=2,
    )
    links = dict(result.frame.select("vin", "dealer_id").iter_rows())
    assert links == {"A": "id-d1", "B": None, "C": None, "D": None, "E": None}
    [orphans] = result.integrity.orphans
    assert (orphans.column, orphans.entity, orphans.count) == ("dealer_id", "dealers", 3)
    assert orphans.samples == ["dealer_code=D8", "dealer_code=D9"]
    # The whole-frame function agrees with the facts gathered chunk by chunk.
    whole = integrity(result.frame, "vehicle_id", result.integrity.sources, spec.foreign_keys)
    assert whole == result.integrity

    check = integrity_check_result(result.integrity)
    assert (check.passed, check.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert check.metadata["orphans.dealer_id"].value == 3


def test_ids_that_are_not_unique_fail_as_errors() -> None:
    # Identified by dealer code but matched by vin: two vehicles share an id, one has none.
    spec = vehicle_spec(key_fields=["dealer_code"], id_policy="hash_all")
    rows = [{"vin": "A", "dealer_code": "D1"}, {"vin": "B", "dealer_code": "D1"}, {"vin": "C"}]
    result = consolidate(spec, DAY, inputs(spec, {"public": frame(rows)}), "acme/US/vehicles")
    facts = result.integrity
    assert (facts.rows, facts.duplicate_ids, facts.null_ids) == (3, 1, 1)
    assert facts.duplicate_samples == [result.frame["vehicle_id"][0]]
    check = integrity_check_result(facts)
    assert (check.passed, check.severity) == (False, dg.AssetCheckSeverity.ERROR)
    assert len(facts.errors) == 2


def test_discrepancies_count_sources_that_disagree_not_rows_within_one_source() -> None:
    spec = vehicle_spec(discrepancy_fields=["price", "status", "options", "missing_field"])
    public = frame(
        [
            {"vin": "A", "price": 1, "status": "new", "options": ["x"]},
            {"vin": "B", "price": 2, "status": "new"},
            {"vin": "C", "price": 3},
            {"vin": "C", "price": 4},  # the same source twice: not a disagreement between sources
        ]
    )
    dealer = frame(
        [
            {"vin": "A", "price": 1, "status": "demo", "options": ["y"]},
            {"vin": "B", "price": 5, "status": None},
            {"vin": "C", "price": None},
        ]
    )
    result = consolidate(spec, DAY, inputs(spec, {"public": public, "dealer": dealer}), "acme/US/v")
    found = result.discrepancies
    assert found.counts == {"price": 1, "status": 1, "options": 1, "missing_field": 0}
    ids = dict(result.frame.select("vin", "vehicle_id").iter_rows())
    samples = {
        (r["field"], r["vehicle_id"]): r["values"] for r in found.samples.iter_rows(named=True)
    }
    assert samples == {
        ("price", ids["B"]): "dealer=5; public=2",
        ("status", ids["A"]): "dealer=demo; public=new",
        ("options", ids["A"]): 'dealer={"options":["y"]}; public={"options":["x"]}',
    }
    check = discrepancy_check_result(found)
    assert (check.passed, check.metadata["disagreeing.price"].value) == (False, 1)


def test_a_prefix_compares_text_on_its_first_characters() -> None:
    spec = vehicle_spec(discrepancy_fields=["status"], discrepancy_prefix={"status": 5})
    public = frame(
        [
            {"vin": "A", "status": "10001-2345"},
            {"vin": "B", "status": "10001-2345"},
            {"vin": "C", "status": "10001"},
        ]
    )
    dealer = frame(
        [
            {"vin": "A", "status": "10001"},
            {"vin": "B", "status": "10002-2345"},
            {"vin": "C", "status": "10001-9999"},
        ]
    )
    result = consolidate(spec, DAY, inputs(spec, {"public": public, "dealer": dealer}), "acme/US/v")
    assert result.discrepancies.counts == {"status": 1}
    ids = dict(result.frame.select("vin", "vehicle_id").iter_rows())
    assert result.discrepancies.samples.rows() == [
        (ids["B"], "status", "dealer=10002-2345; public=10001-2345")
    ]
    # A number compares by its digits: a prefix on a column that is not text still loads and runs.
    spec = vehicle_spec(discrepancy_fields=["price"], discrepancy_prefix={"price": 2})
    public = frame([{"vin": "A", "price": 1000}, {"vin": "B", "price": 1000}])
    dealer = frame([{"vin": "A", "price": 1099}, {"vin": "B", "price": 1100}])
    result = consolidate(spec, DAY, inputs(spec, {"public": public, "dealer": dealer}), "acme/US/v")
    assert result.discrepancies.counts == {"price": 1}


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"discrepancy_prefix": {"vin": 5}}, "discrepancy_prefix names ['vin'], not in"),
        ({"discrepancy_tolerance": {"vin": 1}}, "discrepancy_tolerance names ['vin'], not in"),
        ({"discrepancy_prefix": {"price": 0}}, "discrepancy_prefix of ['price'] is under 1"),
        (
            {"discrepancy_prefix": {"price": 2}, "discrepancy_tolerance": {"price": 1}},
            "['price'] has both a tolerance and a prefix",
        ),
    ],
)
def test_a_discrepancy_rule_for_a_field_not_compared_is_refused(
    rules: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        vehicle_spec(discrepancy_fields=["price"], **rules)


def test_discrepancy_samples_stop_at_fifty() -> None:
    spec = vehicle_spec()
    public = frame([{"vin": f"V{i:03d}", "price": i} for i in range(70)])
    dealer = frame([{"vin": f"V{i:03d}", "price": i + 1} for i in range(70)])
    result = consolidate(spec, DAY, inputs(spec, {"public": public, "dealer": dealer}), "acme/US/v")
    assert result.discrepancies.counts["price"] == 70
    assert result.discrepancies.samples.height == 50
    assert result.discrepancies.samples["vehicle_id"].is_sorted()


def test_a_clean_day_passes_both_checks() -> None:
    spec = vehicle_spec()
    rows = [{"vin": "A", "price": 1}]
    result = consolidate(
        spec, DAY, inputs(spec, {"public": frame(rows), "dealer": frame(rows)}), "acme/US/v"
    )
    assert integrity_check_result(result.integrity).passed
    assert discrepancy_check_result(result.discrepancies).passed
    usage = result.integrity.sources.select("_source", "rows", "rows_without_key", "won").rows()
    assert usage == [("public", 1, 0, 1), ("dealer", 1, 0, 0)]
