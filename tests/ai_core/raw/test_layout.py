"""`PageLayout`: the fetcher's reading of a page and the completeness check's agree."""

import datetime as dt
from collections.abc import Callable

import dagster as dg
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ai_core.http.payload import parse_json
from ai_core.raw.checks import CompletenessTally
from ai_core.raw.layout import CompletenessRule, PageLayout
from ai_core.raw.result import RawFetchResult, RawPage

LISTING = PageLayout(
    records=("result", "items"),
    key="sku",
    totals=(("result", "meta", "totalCount"), ("result", "meta", "totalcount")),
)
WHOLE = PageLayout(records=("shops",), key="shopCode")
KEYS = st.text(alphabet="ABCDEFGH0123456789-", min_size=1, max_size=12)


def stored(
    sub_resource: str, bodies: list[bytes], rule: CompletenessRule | None = None
) -> dict[str, object]:
    """The completeness table's row for `bodies` stored as the pages of one sub-resource, by
    `rule` (the listing's layout unless given)."""
    when = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    pages = [RawPage(n, "http://127.0.0.1/x", {}, 200, b, when) for n, b in enumerate(bodies, 1)]
    tally = CompletenessTally(rule or LISTING.completeness())
    tally.add(RawFetchResult(sub_resource, pages).to_arrow(dt.date(2026, 11, 20)))
    return tally.table().row(0, named=True)


@settings(deadline=None)
@given(
    # Keys as text or as numbers, as upstreams send identifiers.
    pages=st.lists(
        st.lists(KEYS | st.integers(-(10**12), 10**12), max_size=5), min_size=1, max_size=4
    ),
    total=st.integers(0, 10_000),
    spelling=st.sampled_from(["totalCount", "totalcount"]),
    written=st.sampled_from([int, str, "{:,}".format, float, "{:,.1f}".format]),
)
def test_the_check_counts_what_the_fetcher_reads(
    pages: list[list[str | int]], total: int, spelling: str, written: Callable[[int], object]
) -> None:
    reported = written(total)  # a number (70, 70.0), or text, with or without separators
    documents = [
        {"result": {"meta": {spelling: reported}, "items": [{"sku": k, "n": 1} for k in keys]}}
        for keys in pages
    ]
    read = [LISTING.read(d) for d in documents]
    assert [r.total for r in read] == [total] * len(pages)
    assert [list(r.record_keys) for r in read] == [[str(k) for k in keys] for keys in pages]
    row = stored("shop/1", [orjson.dumps(d) for d in documents])
    assert row["records"] == sum(len(keys) for keys in pages)
    assert row["distinct_records"] == len({str(k) for keys in pages for k in keys})
    assert row["expected_records"] == total


def test_the_first_total_present_wins_and_separators_are_read() -> None:
    page = {"result": {"meta": {"totalcount": "1,204"}, "items": []}}
    assert LISTING.read(page).total == 1204
    # Only whole numbers: no fraction, exponent, underscore or other script's digits.
    for odd in ("70.5", "7e1", "1_000", "\u0661\u0662", 70.5, True):
        assert LISTING.read({"result": {"meta": {"totalcount": odd}}}).total is None, odd
    assert LISTING.read({"result": {"meta": {"totalcount": "1,204.00"}}}).total == 1204
    shops = [{"shopCode": "A"}, {"name": "no code"}, "junk", {"shopCode": 0}, {"shopCode": ""}]
    shops += [{"shopCode": None}, {"shopCode": True}, {"shopCode": {"id": "B"}}]
    assert WHOLE.read({"shops": shops}).record_keys == ["A", "0"]
    # Every entry fills the page, keyed or not: the server's page held eight.
    assert WHOLE.read({"shops": shops}).entries == 8
    # The check counts the same two.
    assert (
        stored("shops", [orjson.dumps({"shops": shops})], WHOLE.completeness())["distinct_records"]
        == 2
    )
    assert WHOLE.read({"shops": None}).record_keys == []
    assert WHOLE.read([]).total is None


def test_the_rule_is_the_layout_and_a_rule_of_paths_gives_it_back() -> None:
    for layout in (LISTING, WHOLE):
        rule = layout.completeness()
        assert rule.layout() == layout
        assert rule.record_key_pattern is None and rule.total_pattern is None
        assert rule.reports_total == bool(layout.totals) and rule.may_be_empty == (
            not layout.totals
        )
    assert CompletenessRule(record_key_pattern='"sku":"([^"]+)"').layout() is None
    # Other groups are fine when they do not capture.
    assert CompletenessRule(record_key_pattern='"(?:sku|id)":"([^"]+)"').layout() is None


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"records_path": ["items"], "record_key": "sku", "record_key_pattern": "x"}, "not both"),
        ({"records_path": ["items"]}, "together"),
        ({"record_key": "sku"}, "together"),
        ({"records_path": [], "record_key": "sku"}, "together"),
        ({"records_path": ["items"], "record_key": "sku", "total_paths": [[]]}, "is empty"),
        ({}, "give records_path"),
        ({"total_pattern": "x"}, "give records_path"),
        ({"record_key_pattern": '"sku":"([^"]+'}, "not a regex Polars reads"),
        ({"record_key_pattern": '"sku":"[^"]+"'}, "has 0 capture groups"),
        ({"record_key_pattern": '"(sku)":"([^"]+)"'}, "has 2 capture groups"),
        (
            {"record_key_pattern": '"sku":"([^"]+)"', "total_pattern": '"total":[0-9]+'},
            "total_pattern .* has 0 capture groups",
        ),
        ({"record_key_pattern": '(?<="sku":")[^"]+'}, "without look-around"),
    ],
)
def test_a_rule_is_paths_or_patterns(fields: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        CompletenessRule.model_validate(fields)


def test_only_the_listed_records_keys_count_not_the_same_name_elsewhere() -> None:
    """A field named like the key elsewhere in a page (an error entry's, a nested object's, a
    related record's) is not a record: read by its layout, the page counts its own records;
    found by a regex anywhere in the body, it counts them all."""
    page = {
        "result": {
            "errors": [{"sku": "E-1"}],
            "meta": {"totalCount": 2, "note": {"totalCount": 9}},
            "items": [
                {"sku": "A", "bundle": {"sku": "A-PART"}, "related": [{"sku": "Z"}]},
                {"sku": "B"},
            ],
        }
    }
    body = orjson.dumps(page)
    assert list(LISTING.read(page).record_keys) == ["A", "B"]
    row = stored("shop/1", [body])
    assert (row["records"], row["distinct_records"], row["expected_records"]) == (2, 2, 2)
    patterns = CompletenessRule(
        record_key_pattern=r'"sku"\s*:\s*"([^"]+)"', total_pattern=r'"totalCount":([0-9]+)'
    )
    assert stored("shop/1", [body], patterns)["distinct_records"] == 5


def test_a_total_past_a_64_bit_count_or_negative_is_no_total() -> None:
    """Nonsense the upstream reports reaches the check as a missing total, not a failed step."""
    for huge in (2**63, 1e30, "99999999999999999999", "9" * 5000, -1, -3.0):
        page = {"result": {"meta": {"totalCount": huge}, "items": [{"sku": "A"}]}}
        assert LISTING.read(page).total is None
        assert stored("shop/1", [orjson.dumps(page)])["expected_records"] is None
    largest = {"result": {"meta": {"totalCount": 2**63 - 1}, "items": []}}
    assert LISTING.read(largest).total == 2**63 - 1


def test_a_body_that_is_not_json_counts_nothing() -> None:
    """A failed page's body (cut, an error page, nothing) holds no records and no total."""
    good = orjson.dumps({"result": {"meta": {"totalCount": 3}, "items": [{"sku": "A"}]}})
    row = stored("shop/1", [good, good[:-9], b"<html>busy</html>", b""])
    assert (row["pages"], row["records"], row["expected_records"]) == (4, 1, 3)


@settings(max_examples=60, deadline=None)
@given(
    keys=st.lists(KEYS, max_size=20),
    total=st.one_of(st.none(), st.integers(0, 10**6), st.just("1,204")),
    extra=st.dictionaries(st.text(max_size=5), st.integers(-(2**40), 2**40), max_size=3),
)
def test_a_page_decoded_to_its_shape_reads_as_the_whole_page(
    keys: list[str], total: object, extra: dict[str, int]
) -> None:
    page = {
        "result": {
            "status": "OK",
            "meta": {"totalCount": total, "pageSize": 50},
            "items": [{"sku": k, "price": 9.5, "options": [1, 2]} for k in keys],
        },
        "extra": extra,
    }
    body = orjson.dumps(page)
    shaped, problem = parse_json(body, LISTING.shape(("result", "status")))
    assert problem is None
    assert LISTING.read(shaped) == LISTING.read(page)
    assert shaped["result"]["status"] == "OK"
    assert "extra" not in shaped and all(set(r) == {"sku"} for r in shaped["result"]["items"])


def test_a_page_not_of_its_shape_is_parsed_whole() -> None:
    page = {"result": {"meta": None, "items": [{"sku": "A"}, 7]}}
    shaped, problem = parse_json(orjson.dumps(page), LISTING.shape())
    assert problem is None and shaped == page


def test_a_failed_page_fetched_again_later_in_the_day_counts_as_fetched() -> None:
    when = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    body = orjson.dumps({"result": {"meta": {"totalCount": 2}, "items": [{"sku": "A"}]}})
    second = orjson.dumps({"result": {"meta": {"totalCount": 2}, "items": [{"sku": "B"}]}})
    lost = RawPage(2, "http://127.0.0.1/x", {}, 503, b"", when, "HTTP 503 after 2 attempts")

    def check(pages: list[RawPage]) -> dg.AssetCheckResult:
        tally = CompletenessTally(LISTING.completeness())
        tally.add(RawFetchResult("shop/1", pages).to_arrow(dt.date(2026, 11, 20)))
        return tally.check_result()

    ok = RawPage(1, "http://127.0.0.1/x", {}, 200, body, when)
    again = RawPage(2, "http://127.0.0.1/x", {}, 200, second, when)
    assert check([ok, lost, again]).passed
    failed = check([ok, lost, RawPage(1, "http://127.0.0.1/x", {}, 200, second, when)])
    assert not failed.passed
    assert "pages 2 not fetched: HTTP 503 after 2 attempts" in str(failed.metadata)
