"""The raw tier against the local upstream: exact ground truth, faults, reruns, failures."""

from __future__ import annotations

import dagster as dg
import orjson
import polars as pl
import pytest

from ai_core.raw.paging import Unobservable
from ai_stellantis.components import RESOURCE_KEY, StellantisRawSource, read_model_year_codes
from ai_stellantis.settings import StellantisApiResource
from tests.ai_stellantis.conftest import DAY, RAW_KEYS, UpstreamEnv, materialize_day
from tests.ai_stellantis.raw_vehicles import RADIUS, ZIP, stored, stored_vehicles, truth_vehicles


def test_raw_day_stores_exactly_the_ground_truth(stellantis_env: UpstreamEnv) -> None:
    result = materialize_day()
    assert result.success
    checks = {
        c.asset_key.to_user_string(): c.passed
        for c in result.get_asset_check_evaluations()
        if c.check_name == "completeness"
    }
    assert checks == dict.fromkeys(RAW_KEYS, True)

    got = stored_vehicles(stellantis_env).sort("sub_resource", "page", "vin")
    want = truth_vehicles(stellantis_env).sort("sub_resource", "page", "vin")
    assert got.height > 100
    assert got.equals(want)

    inventory = stored(stellantis_env, "public_inventory")
    pages_per_sub = want.group_by("sub_resource").agg(pl.col("page").max().alias("n")).sort("n")
    assert inventory.height == int(pages_per_sub["n"].sum())
    assert set(inventory["_http_status"].to_list()) == {200}
    assert inventory["_partition_date"].cast(pl.String).unique().to_list() == [DAY]

    truth = stellantis_env.upstream.truth(ZIP, RADIUS)
    dealers = stored(stellantis_env, "public_dealers")
    # A locator's list short of the 5,000 asked costs one more page, which answers none.
    pages = dealers.group_by("_sub_resource").agg(pl.col("_page_number").sort())
    assert dict(pages.iter_rows()) == {brand: [1, 2] for brand in stellantis_env.brands}
    assert _locator_dealers(dealers) == set(
        truth.dealers.select("domain", "dealerCode").iter_rows()
    )


def _locator_dealers(pages: pl.DataFrame) -> set[tuple[str, str]]:
    """(brand, dealer code) of every dealer on stored locator pages."""
    return {
        (page_sub, d["dealerCode"])
        for page_sub, body in pages.select("_sub_resource", "_response_body").iter_rows()
        for d in orjson.loads(body)["dealer"]
    }


def test_a_locator_that_serves_fewer_dealers_than_asked_is_paged_to_its_end(
    stellantis_env: UpstreamEnv,
) -> None:
    truth = stellantis_env.upstream.truth(ZIP, RADIUS).dealers
    most = truth.group_by("domain").len()["len"].max()
    assert isinstance(most, int) and most > 4  # three pages of two at least
    stellantis_env.upstream.set_state(max_dealers_per_page=2)
    result = materialize_day(["stellantis/raw/public_dealers"])
    assert result.success
    checks = [c for c in result.get_asset_check_evaluations() if c.check_name == "completeness"]
    assert len(checks) == 1 and checks[0].passed

    dealers = stored(stellantis_env, "public_dealers")
    assert _locator_dealers(dealers) == set(truth.select("domain", "dealerCode").iter_rows())
    assert dealers["_page_number"].max() == most // 2 + 1
    [materialization] = result.asset_materializations_for_node("stellantis__raw__public_dealers")
    assert materialization.metadata["served_page_size"].value == 2


def test_a_locator_whose_page_past_the_list_fails_keeps_the_list(
    stellantis_env: UpstreamEnv,
) -> None:
    # What a page past a locator's list answers is not in the contract: say it fails.
    stellantis_env.upstream.set_state(faults="failure@jeep.com/dealers/2x99")
    instance = dg.DagsterInstance.ephemeral()
    result = materialize_day(["stellantis/raw/public_dealers"], instance=instance)
    assert result.success
    checks = [c for c in result.get_asset_check_evaluations() if c.check_name == "completeness"]
    assert len(checks) == 1 and checks[0].passed

    truth = stellantis_env.upstream.truth(ZIP, RADIUS).dealers
    dealers = stored(stellantis_env, "public_dealers")
    assert _locator_dealers(dealers) == set(truth.select("domain", "dealerCode").iter_rows())
    assert dealers.filter(pl.col("_sub_resource") == "jeep.com")["_page_number"].to_list() == [1]
    [materialization] = result.asset_materializations_for_node("stellantis__raw__public_dealers")
    assert materialization.metadata["end_unconfirmed_sub_resources"].value == ["jeep.com"]
    assert materialization.metadata["failed_pages"].value == 0
    logs = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any("jeep.com is kept as page 1 gave it" in message for message in logs)


def test_rerun_replaces_the_partition(stellantis_env: UpstreamEnv) -> None:
    materialize_day()
    first = stored(stellantis_env, "public_inventory")
    materialize_day(["stellantis/raw/public_inventory"])
    second = stored(stellantis_env, "public_inventory")
    assert second.height == first.height
    assert (
        second.drop("_fetched_at")
        .sort("_sub_resource", "_page_number")
        .equals(first.drop("_fetched_at").sort("_sub_resource", "_page_number"))
    )


def test_a_site_that_caps_pages_below_the_size_asked_is_paged_by_its_own_size(
    stellantis_env: UpstreamEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STELLANTIS_PAGE_SIZE", "10")
    stellantis_env.upstream.set_state(max_page_size=4)
    result = materialize_day()
    assert result.success
    checks = [c for c in result.get_asset_check_evaluations() if c.check_name == "completeness"]
    assert checks and all(c.passed for c in checks)

    got = stored_vehicles(stellantis_env)
    want = truth_vehicles(stellantis_env).select("sub_resource", "vin")
    assert got.select("sub_resource", "vin").sort(pl.all()).equals(want.sort(pl.all()))
    pages = got.group_by("sub_resource").agg(pl.len().alias("n"), pl.col("page").max())
    assert pages.height > 1 and pages.filter(pl.col("page") < (pl.col("n") + 3) // 4).is_empty()
    assert got["page"].max() > 2  # some code needed more pages than ten a page would give
    [materialization] = result.asset_materializations_for_node("stellantis__raw__public_inventory")
    assert materialization.metadata["served_page_size"].value == 4


def test_a_brand_that_lists_no_model_year_codes_has_no_inventory_and_warns(
    stellantis_env: UpstreamEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Around Manhattan the tiny market has every brand's vehicles but Alfa Romeo's.
    monkeypatch.setenv("STELLANTIS_INVENTORY_ZIP", "10001")
    monkeypatch.setenv("STELLANTIS_INVENTORY_RADIUS", "30")
    truth = stellantis_env.upstream.truth("10001", 30).vehicles
    assert "alfaromeousa.com" not in set(truth["domain"]) and truth.height > 0
    instance = dg.DagsterInstance.ephemeral()
    result = materialize_day(instance=instance)
    assert result.success

    got = stored_vehicles(stellantis_env).select("sub_resource", "vin").sort(pl.all())
    want = truth.select(
        (pl.col("domain") + "/" + pl.col("modelYearCode")).alias("sub_resource"), "vin"
    )
    assert got.equals(want.sort(pl.all()))
    logs = instance.all_logs(result.run_id)
    assert any(
        "['alfaromeousa.com'] list no model-year codes today" in entry.user_message
        for entry in logs
    )
    # Its empty filter page and dealer locator are true answers: a warning each, not an alarm.
    checks = {
        c.asset_key.to_user_string(): c
        for c in result.get_asset_check_evaluations()
        if c.check_name == "completeness"
    }
    for name in ("public_model_year_codes", "public_dealers"):
        check = checks[f"stellantis/raw/{name}"]
        assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN, name
        assert check.metadata["incomplete_sub_resources"].value == 1
        assert "| alfaromeousa.com | empty |" in str(check.metadata["samples"].value)
    assert checks["stellantis/raw/public_inventory"].passed


def test_the_inventory_plan_reads_codes_and_tells_codeless_and_failed_lists() -> None:
    def page(domain: str, entries: list[object], error: str | None = None) -> dict[str, object]:
        body = {"result": {"result": "SUCCESS", "data": {"modelYearCodes": entries}}}
        text = "" if error else orjson.dumps(body).decode()
        return {"_sub_resource": domain, "_response_body": text, "_fetch_error": error}

    raw = pl.LazyFrame(
        [
            page(
                "jeep.com",
                [
                    {"code": "IUJ202610", "count": "1,100"},
                    {"code": "IUJ202620", "count": 0},
                    {"code": " IUJ202710\t"},
                    {"code": ""},
                    {"code": "  "},
                ],
            ),
            page("dodge.com", [{"modelYearCode": "IUD202610"}, "IUD202620"]),
            page("fiatusa.com", []),
            page("ramtrucks.com", [], error="public_model_year_codes page 1: http 503"),
        ]
    )
    lists = read_model_year_codes(raw)
    jeep = [("jeep.com", c) for c in ("IUJ202610", "IUJ202620", "IUJ202710")]
    assert lists.codes == jeep
    # Counts as the list gives them, as numbers or text; a code without one has none.
    assert lists.counts == {jeep[0]: 1100, jeep[1]: 0}
    assert lists.codeless == {"dodge.com": 2}

    source = StellantisRawSource(
        endpoint="inventory",
        asset_key="stellantis/raw/public_inventory",
        description="inventory",
        source_key="stellantis/sources/public_inventory",
        start_date="2026-01-01",
        upstream=["stellantis/raw/public_model_year_codes"],
    )
    api = StellantisApiResource(brands="jeep.com,dodge.com,fiatusa.com,ramtrucks.com")
    with dg.build_asset_context(resources={RESOURCE_KEY: api}, partition_key=DAY) as context:
        plan = source.plan(context, {"public_model_year_codes": raw})
    assert [(type(p).__name__, p.key, p.listed_records) for p in plan] == [
        ("Unobservable", "dodge.com", None),
        ("Unobservable", "ramtrucks.com", None),
        ("InventoryCode", "jeep.com/IUJ202610", 1100),
        ("InventoryCode", "jeep.com/IUJ202620", 0),
        ("InventoryCode", "jeep.com/IUJ202710", None),
    ]
    reasons = [p.reason for p in plan if isinstance(p, Unobservable)]
    assert "lists 2 entries without a code" in reasons[0]
    assert reasons[1] == (
        "public_model_year_codes of ramtrucks.com failed today: "
        "public_model_year_codes page 1: http 503"
    )


RETRIED_FAULTS = ["429", "429_retry_after", "5xx", "reset", "html", "truncated", "failure"]


@pytest.mark.parametrize("kind", [*RETRIED_FAULTS, "stall", "drift", "repeat"])
def test_each_fault_kind_still_yields_the_ground_truth(
    stellantis_env: UpstreamEnv, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setenv("STELLANTIS_INVENTORY_MAX_RETRIES", "12")
    rate = 0.3
    if kind == "stall":
        monkeypatch.setenv("STELLANTIS_INVENTORY_TIMEOUT", "0.5")
        rate = 0.15
    stellantis_env.upstream.set_state(faults=f"{kind}:{rate}", stall_seconds=3)
    result = materialize_day()
    assert result.success
    injected = stellantis_env.upstream.stats()["faults"]
    assert injected.get(kind, 0) > 0, injected
    got = stored_vehicles(stellantis_env).select("sub_resource", "vin").unique()
    want = truth_vehicles(stellantis_env).select("sub_resource", "vin")
    assert got.sort("sub_resource", "vin").equals(want.sort("sub_resource", "vin"))
    if kind in RETRIED_FAULTS or kind == "stall":
        retries = sum(
            int(event.materialization.metadata["retries"].value)
            for event in (e.event_specific_data for e in result.get_asset_materialization_events())
            if event is not None
        )
        assert retries > 0


@pytest.mark.parametrize(
    ("kind", "said"), [("html", "html"), ("failure", "upstream reported failure: result 'failure'")]
)
def test_exhausted_retries_keep_the_rest_of_the_day_and_say_what_is_missing(
    stellantis_env: UpstreamEnv, monkeypatch: pytest.MonkeyPatch, kind: str, said: str
) -> None:
    materialize_day()
    before = stored(stellantis_env, "public_inventory")
    first_sub = before.sort("_sub_resource")["_sub_resource"][0]
    domain, code = first_sub.split("/")
    monkeypatch.setenv("STELLANTIS_INVENTORY_MAX_RETRIES", "2")
    stellantis_env.upstream.set_state(faults=f"{kind}@{domain}/inventory/{code}/1x99")
    result = materialize_day(["stellantis/raw/public_inventory"], raise_on_error=False)
    assert result.success
    [check] = [c for c in result.get_asset_check_evaluations() if c.check_name == "completeness"]
    assert not check.passed
    assert check.severity.value == "ERROR"
    assert check.metadata["unobserved_sub_resources"].value == [first_sub]
    assert "rerun" in (check.description or "").lower()
    [materialization] = result.asset_materializations_for_node("stellantis__raw__public_inventory")
    assert materialization.metadata["failed_pages"].value == 1
    assert materialization.metadata["unobserved_sub_resources"].value == [first_sub]

    after = stored(stellantis_env, "public_inventory")
    failed = after.filter(pl.col("_fetch_error").is_not_null())
    assert failed.select("_sub_resource", "_page_number", "_http_status").rows() == [
        (first_sub, 1, 200)
    ]
    message = failed["_fetch_error"][0]
    assert f"public_inventory page 1 of {first_sub}" in message
    assert message.count("public_inventory page") == 1  # the page is named once
    assert "3 attempts" in message
    assert said in message.lower()
    assert "rerun" in message.lower()
    # Every other sub-resource is stored as before.
    kept = after.filter(pl.col("_sub_resource") != first_sub).drop("_fetched_at", "_fetch_error")
    expected = before.filter(pl.col("_sub_resource") != first_sub).drop("_fetched_at")
    assert kept.sort("_sub_resource", "_page_number").equals(
        expected.drop([c for c in expected.columns if c not in kept.columns]).sort(
            "_sub_resource", "_page_number"
        )
    )
