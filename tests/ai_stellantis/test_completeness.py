"""Short, long and empty sub-resources fail the completeness check, with the details."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import dagster as dg
import orjson
import polars as pl
import pyarrow as pa
import pytest

from ai_core.iceberg.catalog import load_catalog
from ai_core.iceberg.reader import arrow_batches
from ai_core.raw.checks import CompletenessTally
from ai_core.raw.layout import CompletenessRule
from ai_core.raw.result import RawFetchResult, RawPage
from ai_stellantis.sources.public_sites import INVENTORY, MODEL_YEAR_CODES
from standin.stellantis.sites.truth import GroundTruth
from tests.ai_stellantis.conftest import DAY, UpstreamEnv, materialize_day
from tests.ai_stellantis.raw_vehicles import (
    RADIUS,
    ZIP,
    stored,
    stored_vehicles,
    truth_vehicles,
)

CODES_AND_INVENTORY = ["stellantis/raw/public_model_year_codes", "stellantis/raw/public_inventory"]
RULE = CompletenessRule(
    total_pattern=r'"total[cC]ount"\s*:\s*"?([0-9]+)',
    record_key_pattern=r'"vin"\s*:\s*"([^"]+)"',
)
"""The same facts as regexes, as a YAML source's rule gives them."""


@pytest.fixture(params=["layout", "regex"])
def rule(request: pytest.FixtureRequest) -> CompletenessRule:
    """The inventory's rule, read with its page layout or found by regexes: both judge alike."""
    return INVENTORY.completeness() if request.param == "layout" else RULE


def keys_only(rule: CompletenessRule) -> CompletenessRule:
    """The rule without its total."""
    if rule.record_key_pattern is not None:
        return CompletenessRule(record_key_pattern=rule.record_key_pattern)
    return CompletenessRule(records_path=rule.records_path, record_key=rule.record_key)


def _page(number: int, total: int, vins: list[str]) -> RawPage:
    body = {
        "result": {
            "result": "SUCCESS",
            "errors": [],
            "data": {"metadata": {"totalcount": total}, "vehicles": [{"vin": v} for v in vins]},
        }
    }
    return RawPage(number, "u", {}, 200, orjson.dumps(body), dt.datetime.now(dt.UTC))


def _frame(*results: RawFetchResult) -> list[pa.Table]:
    return [r.to_arrow(dt.date(2026, 11, 20)) for r in results]


def tallied_check(
    batches: Iterable[pa.RecordBatch | pa.Table | pl.DataFrame],
    rule: CompletenessRule,
    listed: Mapping[str, int] | None = None,
) -> dg.AssetCheckResult:
    """The check over `batches`, tallied as the raw asset tallies the chunks it writes, with
    the records each sub-resource's list gave it (`listed`)."""
    tally = CompletenessTally(rule)
    tally.expect_listed(listed or {})
    for batch in batches:
        tally.add(batch)
    return tally.check_result()


def completeness_of(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    return next(
        c
        for c in result.get_asset_check_evaluations()
        if c.asset_key.to_user_string() == "stellantis/raw/public_inventory"
        and c.check_name == "completeness"
    )


def jeep_in_pages_of_five(env: UpstreamEnv, monkeypatch: pytest.MonkeyPatch) -> GroundTruth:
    monkeypatch.setenv("STELLANTIS_BRANDS", "jeep.com")
    monkeypatch.setenv("STELLANTIS_PAGE_SIZE", "5")
    return env.upstream.truth(ZIP, RADIUS, brands=["jeep.com"], page_size=5)


def assert_stored_every_vin(env: UpstreamEnv, truth: GroundTruth) -> None:
    """Every VIN the truth lists is stored under its code, and no other VIN."""
    got = stored_vehicles(env).select("sub_resource", "vin").unique()
    want = truth.vehicles.select(
        (pl.col("domain") + "/" + pl.col("modelYearCode")).alias("sub_resource"), "vin"
    )
    assert got.sort("sub_resource", "vin").equals(want.sort("sub_resource", "vin"))


def test_check_names_short_long_and_empty_sub_resources(rule: CompletenessRule) -> None:
    ok = RawFetchResult("jeep.com/A", [_page(1, 3, ["a1", "a2"]), _page(2, 3, ["a3"])])
    repeated = RawFetchResult("jeep.com/B", [_page(1, 2, ["b1", "b2"]), _page(2, 2, ["b2"])])
    short = RawFetchResult("jeep.com/C", [_page(1, 4, ["c1", "c2"])])
    long = RawFetchResult("jeep.com/D", [_page(1, 1, ["d1", "d2"])])
    empty = RawFetchResult("jeep.com/E", [_page(1, 0, [])])
    result = tallied_check(_frame(ok, repeated, short, long, empty), rule)
    assert not result.passed
    assert result.metadata["incomplete_sub_resources"].value == 3
    samples = result.metadata["samples"].value
    assert "| jeep.com/C | short | 1 | 2 | 4 | 4 |" in samples
    assert "| jeep.com/D | long | 1 | 2 | 1 | 1 |" in samples
    assert "| jeep.com/E | empty | 1 | 0 | 0 | 0 |" in samples
    assert "jeep.com/A" not in samples and "jeep.com/B" not in samples
    assert result.description == (
        "3 sub-resources fetched in full are off (1 empty, 1 long, 1 short: jeep.com/C, "
        "jeep.com/D, jeep.com/E); see the samples."
    )
    one = tallied_check(_frame(ok, short), rule)
    assert one.description == (
        "1 sub-resource fetched in full is off (1 short: jeep.com/C); see the samples."
    )

    passing = tallied_check(_frame(ok, repeated), rule)
    assert passing.passed
    assert passing.metadata["distinct_records"].value == 5


def test_a_sub_resource_listed_empty_passes_only_when_it_answers_a_total_of_0(
    rule: CompletenessRule,
) -> None:
    as_listed = RawFetchResult("jeep.com/E", [_page(1, 0, [])])
    answered = RawFetchResult("jeep.com/F", [_page(1, 2, [])])

    def check(given: CompletenessRule) -> dg.AssetCheckResult:
        listed = {"jeep.com/E": 0, "jeep.com/F": 0}
        return tallied_check(_frame(as_listed, answered), given, listed)

    result = check(rule)
    samples = str(result.metadata["samples"].value)
    assert result.metadata["empty_as_listed"].value == ["jeep.com/E"]
    assert "| jeep.com/F | empty |" in samples and "jeep.com/E" not in samples
    # Without a total in the bodies the list alone does not excuse an empty sub-resource.
    without_total = check(keys_only(rule))
    assert without_total.metadata["empty_as_listed"].value == []
    assert without_total.metadata["incomplete_sub_resources"].value == 2


def test_a_code_listed_with_a_vehicle_or_two_that_answers_none_is_a_warning(
    rule: CompletenessRule,
) -> None:
    sold = RawFetchResult("jeep.com/S", [_page(1, 0, [])])
    both_sold = RawFetchResult("jeep.com/T", [_page(1, 0, [])])
    ok = RawFetchResult("jeep.com/A", [_page(1, 1, ["a1"])])

    def check(listed: dict[str, int], *results: RawFetchResult) -> dg.AssetCheckResult:
        return tallied_check(_frame(ok, *results), rule, listed | {"jeep.com/A": 1})

    warned = check({"jeep.com/S": 1, "jeep.com/T": 2}, sold, both_sold)
    assert not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
    assert warned.metadata["sold_out_since_listed"].value == ["jeep.com/S", "jeep.com/T"]
    assert "| jeep.com/S | sold out since listed? | 1 | 0 | 0 | 0 | 1 |" in str(
        warned.metadata["samples"].value
    )
    assert warned.description == (
        "2 sub-resources fetched in full are off (2 sold out since listed?: jeep.com/S, "
        "jeep.com/T); see the samples. Each was listed with fewer than 3 records, which can sell "
        "between the list and the fetch, so this is a warning: look at it if they did not."
    )
    # Listed with three, or with no list to say, an empty answer is an error.
    for listed in ({"jeep.com/S": 3}, {}):
        errored = check(listed, sold)
        assert errored.severity == dg.AssetCheckSeverity.ERROR
        assert errored.metadata["sold_out_since_listed"].value == []
    # A total of 1 with no vehicle on the page is short of what the search itself says.
    short = RawFetchResult("jeep.com/S", [_page(1, 1, [])])
    assert check({"jeep.com/S": 1}, short).severity == dg.AssetCheckSeverity.ERROR
    # Any other problem beside it makes the whole check an error.
    short_beside = RawFetchResult("jeep.com/U", [_page(1, 4, ["u1"])])
    now = dt.datetime.now(dt.UTC)
    lost = RawPage(1, "u", {}, 0, b"", now, "HTTP 503 after 3 attempts")
    lost_beside = RawFetchResult("jeep.com/V", [lost])
    for beside in (short_beside, lost_beside):
        mixed = check({"jeep.com/S": 1, "jeep.com/V": 1}, sold, beside)
        assert mixed.severity == dg.AssetCheckSeverity.ERROR
        assert mixed.metadata["sold_out_since_listed"].value == ["jeep.com/S"]
        assert "warning" not in (mixed.description or "")


def test_an_empty_whole_list_is_a_warning_and_a_failed_page_still_an_error() -> None:
    # A brand's filter page: its whole list at once, no total, and nothing near a small search.
    whole = MODEL_YEAR_CODES.completeness()
    assert whole.may_be_empty

    def codes(domain: str, listed: list[str], error: str | None = None) -> RawFetchResult:
        body = {
            "result": {
                "result": "SUCCESS",
                "data": {"modelYearCodes": [{"code": c} for c in listed]},
            }
        }
        now = dt.datetime.now(dt.UTC)
        return RawFetchResult(domain, [RawPage(1, "u", {}, 200, orjson.dumps(body), now, error)])

    listed = codes("jeep.com", ["IUJ202610", "IUJ202620"])
    nothing = codes("alfaromeousa.com", [])
    warned = tallied_check(_frame(listed, nothing), whole)
    assert not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
    assert "| alfaromeousa.com | empty | 1 | 0 |" in warned.metadata["samples"].value
    assert warned.description == (
        "1 sub-resource fetched in full is off (1 empty: alfaromeousa.com); see the samples. An "
        "empty answer is true of a search with nothing in it, so this is a warning: look at it if "
        "the search should hold records."
    )
    # A page that was not fetched is never a true answer, and makes the whole check an error.
    failed = codes("dodge.com", [], error="HTTP 503 after 3 attempts")
    errored = tallied_check(_frame(listed, nothing, failed), whole)
    assert not errored.passed and errored.severity == dg.AssetCheckSeverity.ERROR
    assert errored.metadata["incomplete_sub_resources"].value == 2
    assert "warning" not in (errored.description or "")


def test_an_empty_paged_answer_stays_an_error(rule: CompletenessRule) -> None:
    """A paged source says "none" with its total; its empty answer is not excused."""
    assert not rule.may_be_empty
    paged = tallied_check(_frame(RawFetchResult("jeep.com/E", [_page(1, 0, [])])), rule)
    assert not paged.passed and paged.severity == dg.AssetCheckSeverity.ERROR


def test_a_listing_that_moved_passes_from_its_lowest_total_up_once_settled(
    rule: CompletenessRule,
) -> None:
    # Pages of two; a1 sold once page 1 was answered, so page 2 skipped a3 and both pages were
    # fetched again: a1 was seen, and every copy from then on reports 4.
    sold = RawFetchResult(
        "jeep.com/A",
        [
            *(_page(1, 5, ["a1", "a2"]), _page(2, 4, ["a4", "a5"]), _page(3, 4, [])),
            *(_page(1, 4, ["a2", "a3"]), _page(2, 4, ["a4", "a5"])),
        ],
    )
    # b0 added ahead once page 1 was answered: b2 twice, then both pages again.
    added = RawFetchResult(
        "jeep.com/B",
        [
            *(_page(1, 3, ["b1", "b2"]), _page(2, 4, ["b2", "b3"])),
            *(_page(1, 4, ["b0", "b1"]), _page(2, 4, ["b2", "b3"])),
        ],
    )
    passing = tallied_check(_frame(sold, added), rule)
    assert passing.passed, passing.description
    assert passing.metadata["moved_sub_resources"].value == ["jeep.com/A", "jeep.com/B"]
    # c3 skipped and its pages never fetched again: pages 1 and 2 share no total, and the count
    # is no lower than the lowest. d's page 2 past the end reports none and counts no more.
    unsettled = RawFetchResult("jeep.com/C", [_page(1, 5, ["c1", "c2"]), _page(2, 4, ["c4", "c5"])])
    cut = RawFetchResult("jeep.com/D", [_page(1, 4, ["d1", "d2"]), _page(2, 0, [])])
    failing = tallied_check(_frame(unsettled, cut), rule)
    assert not failing.passed
    samples = failing.metadata["samples"].value
    assert "| jeep.com/C | moved, unsettled | 2 | 4 | 5 | 4 |" in samples
    assert "| jeep.com/D | short | 2 | 2 | 4 | 4 |" in samples
    assert failing.metadata["moved_sub_resources"].value == ["jeep.com/C"]


def test_a_page_past_the_end_that_reports_a_total_of_0_settles_nothing_and_fails_nothing(
    rule: CompletenessRule,
) -> None:
    # Two full pages of two, then the page past the end, which this server answers with 0.
    full = RawFetchResult(
        "jeep.com/A", [_page(1, 4, ["a1", "a2"]), _page(2, 4, ["a3", "a4"]), _page(3, 0, [])]
    )
    passing = tallied_check(_frame(full), rule)
    assert passing.passed, passing.description
    # A vehicle missing from such a day is still missing: the pages holding records say 4.
    cut = RawFetchResult(
        "jeep.com/B", [_page(1, 4, ["b1", "b2"]), _page(2, 4, ["b3"]), _page(3, 0, [])]
    )
    failing = tallied_check(_frame(cut), rule)
    assert "| jeep.com/B | short | 3 | 3 | 4 | 4 |" in failing.metadata["samples"].value
    # Pages of three: c2 sold once page 2 was answered, so the planned page 3 came back empty
    # and c7 moved onto page 2. Its 0 does not fit 7 records: a boundary, until page 2 again
    # reports 6, which fits two pages.
    first_pass = [
        _page(1, 7, ["c1", "c2", "c3"]),
        _page(2, 7, ["c4", "c5", "c6"]),
        _page(3, 0, []),
    ]
    sold = tallied_check(_frame(RawFetchResult("jeep.com/C", first_pass)), rule)
    assert sold.metadata["incomplete_sub_resources"].value == 1
    again = [*first_pass, _page(2, 6, ["c5", "c6", "c7"]), _page(3, 0, [])]
    settled = tallied_check(_frame(RawFetchResult("jeep.com/C", again)), rule)
    assert settled.passed, settled.description


def test_a_drifted_total_on_a_single_page_is_looked_at_again_or_fails_the_check(
    stellantis_env: UpstreamEnv,
) -> None:
    truth = stellantis_env.upstream.truth(ZIP, RADIUS)
    one_page = truth.codes.filter((pl.col("pages") == 1) & (pl.col("domain") == "jeep.com"))
    code, count = one_page.row(0, named=True)["code"], one_page.row(0, named=True)["count"]
    stellantis_env.upstream.set_state(faults=f"drift@jeep.com/inventory/{code}/1x1")
    result = materialize_day(CODES_AND_INVENTORY)
    check = completeness_of(result)
    pages = stored(stellantis_env, "public_inventory").filter(
        pl.col("_sub_resource") == f"jeep.com/{code}"
    )
    reported = [orjson.loads(b)["result"]["data"]["metadata"] for b in pages["_response_body"]]
    first = next(iter(reported[0].values()))
    if first > count:
        # Page 1 held fewer than its total: page 2, empty, reported the true total, so both were
        # fetched again and page 1's second copy, with every vehicle, reported it too.
        assert pages["_page_number"].to_list() == [1, 1, 2, 2]
        assert check.passed
    else:
        # Page 1 held more than its total and no other page says otherwise.
        assert pages["_page_number"].to_list() == [1]
        assert not check.passed
        assert f"| jeep.com/{code} | long |" in check.metadata["samples"].value
    # The data itself is complete: the reported total was wrong, not the vehicles.
    got = stored_vehicles(stellantis_env).select("sub_resource", "vin").unique()
    want = truth_vehicles(stellantis_env).select("sub_resource", "vin")
    assert got.sort("sub_resource", "vin").equals(want.sort("sub_resource", "vin"))


def test_drifting_totals_still_fetch_every_page(
    stellantis_env: UpstreamEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Drift moves a page's total by 1 to 5: with 5 vehicles a page that is a whole page more or
    # less than the truth, so paging must extend past a short plan and stop on a short page.
    truth = jeep_in_pages_of_five(stellantis_env, monkeypatch)
    codes = truth.codes.filter(pl.col("pages") >= 3)["code"].to_list()
    assert codes
    faults = ",".join(f"drift@jeep.com/inventory/{code}/*x99" for code in codes)
    stellantis_env.upstream.set_state(faults=faults)
    materialize_day(CODES_AND_INVENTORY, DAY)
    assert stellantis_env.upstream.stats()["faults"]["drift"] >= 3 * len(codes)
    assert_stored_every_vin(stellantis_env, truth)


def test_a_vehicle_skipped_while_paged_is_fetched_again(
    stellantis_env: UpstreamEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every code's page 2 starts one vehicle late once, as when one ahead of it sold: that
    # vehicle is on no page of the first pass, and page 2 reports one fewer than its neighbours.
    truth = jeep_in_pages_of_five(stellantis_env, monkeypatch)
    stellantis_env.upstream.set_state(faults="skip@jeep.com/inventory/*/2x1")
    result = materialize_day(CODES_AND_INVENTORY, DAY)
    # Page 2 is asked of every code with 5 vehicles or more (a full last page asks one more).
    paged = truth.codes.filter(pl.col("count") >= 5)["count"]
    skipped = stellantis_env.upstream.stats()["faults"]["skip"]
    assert skipped == paged.len() > 0
    assert_stored_every_vin(stellantis_env, truth)
    (raw,) = [
        m
        for m in result.get_asset_materialization_events()
        if m.asset_key.to_user_string() == "stellantis/raw/public_inventory"
    ]
    metadata = raw.materialization.metadata
    # Page 2 and its neighbours: pages 1 and 2, and 3 where page 1 planned it.
    assert metadata["pages_again"].value == sum(3 if n > 10 else 2 for n in paged)
    check = completeness_of(result)
    assert check.passed, check.description
    # Moved, to the check, where the late page 2 still held vehicles: more than 6 in the code.
    assert len(check.metadata["moved_sub_resources"].value) == sum(n > 6 for n in paged)


def test_max_per_model_caps_each_code_and_the_check_reports_it_short(
    stellantis_env: UpstreamEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STELLANTIS_BRANDS", "jeep.com")
    monkeypatch.setenv("STELLANTIS_INVENTORY_MAX_PER_MODEL", "3")
    result = materialize_day(CODES_AND_INVENTORY)
    per_code = stored_vehicles(stellantis_env).group_by("sub_resource").agg(pl.len().alias("n"))
    assert per_code["n"].max() == 3
    check = completeness_of(result)
    truth = stellantis_env.upstream.truth(ZIP, RADIUS, brands=["jeep.com"])
    assert check.passed == bool((truth.codes["count"] <= 3).all())


def test_the_check_tallied_while_writing_equals_the_check_of_the_stored_partition(
    stellantis_env: UpstreamEnv,
) -> None:
    # A page that keeps failing makes the check fail, so both paths have something to find.
    truth = stellantis_env.upstream.truth(ZIP, RADIUS)
    code = truth.codes.filter((pl.col("pages") == 1) & (pl.col("domain") == "jeep.com"))["code"][0]
    stellantis_env.upstream.set_state(faults=f"html@jeep.com/inventory/{code}/1x99")
    result = materialize_day(CODES_AND_INVENTORY)
    tallied = completeness_of(result)
    table = load_catalog(stellantis_env.data_dir).load_table("stellantis_raw.public_inventory")
    columns = ["_sub_resource", "_page_number", "_response_body", "_fetch_error"]
    listed = {f"{d}/{c}": n for d, c, n in truth.codes.select("domain", "code", "count").rows()}
    stored = tallied_check(arrow_batches(table, [DAY], columns), INVENTORY.completeness(), listed)
    assert not tallied.passed and not stored.passed
    assert {k: v.value for k, v in tallied.metadata.items()} == {
        k: v.value for k, v in stored.metadata.items()
    }
    assert tallied.metadata["failed_pages"].value == 1
    assert tallied.metadata["pages"].value == truth.codes["pages"].sum()
