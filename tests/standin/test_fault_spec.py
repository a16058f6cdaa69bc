"""Fault specs: parsing in every accepted form, and how the injector decides."""

from __future__ import annotations

import pytest

from standin.stellantis.sites.faults import FaultInjector, FaultSpec, FaultSpecError, Pinned
from standin.stellantis.sites.state import ServedState


def test_string_spec_parses_rates_and_pinned_targets() -> None:
    spec = FaultSpec.parse(
        "html:0.05, 429_retry_after:0.02,html@jeep.com/inventory/IUJ202610/3x2,"
        "failure@jeep.com/dealers/1"
    )
    assert spec.rates == {"html": 0.05, "429_retry_after": 0.02}
    assert spec.pinned == (
        Pinned("html", "jeep.com", "inventory", "IUJ202610", "3", 2),
        Pinned("failure", "jeep.com", "dealers", "*", "1", 1),
    )
    assert str(spec) == (
        "429_retry_after:0.02,html:0.05,html@jeep.com/inventory/IUJ202610/3x2,"
        "failure@jeep.com/dealers/1x1"
    )
    assert FaultSpec.parse(str(spec)) == spec


@pytest.mark.parametrize(
    "given",
    [
        ["5xx:0.1", "reset@*/inventory/*/2x3"],
        {"5xx": 0.1, "reset@*/inventory/*/2": 3},
        "5xx:0.1 reset@*/inventory/*/2x3",
    ],
)
def test_list_and_mapping_specs_mean_the_same(given: object) -> None:
    assert FaultSpec.parse(given) == FaultSpec(
        {"5xx": 0.1}, (Pinned("reset", "*", "inventory", "*", "2", 3),)
    )


@pytest.mark.parametrize("empty", [None, "", [], {}])
def test_empty_specs_inject_nothing(empty: object) -> None:
    assert FaultSpec.parse(empty) == FaultSpec()


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("teapot:0.1", "unknown kind 'teapot'"),
        ("html:2", "rate in [0, 1]"),
        ("html", "KIND:RATE"),
        ("html@jeep.com/images/1", "unknown endpoint 'images'"),
        ("html@jeep.com/inventory/X/Y/1", "KIND@DOMAIN"),
        ("html@jeep.com/dealers/first", "page must be a number"),
    ],
)
def test_bad_specs_say_what_is_wrong(bad: str, says: str) -> None:
    with pytest.raises(FaultSpecError, match=says.replace("[", r"\[").replace("]", r"\]")):
        FaultSpec.parse(bad)


def test_pinned_faults_fire_exactly_n_times_per_target() -> None:
    injector = FaultInjector(FaultSpec.parse("html@*/inventory/IUJ202610/*x2"), seed=1)
    fired = [injector.decide("jeep.com", "inventory", "IUJ202610", 3) for _ in range(5)]
    assert fired == ["html", "html", None, None, None]
    # Another page is another target with its own two attempts.
    assert injector.decide("jeep.com", "inventory", "IUJ202610", 4) == "html"
    assert injector.decide("jeep.com", "inventory", "WLJ202610", 3) is None
    assert injector.decide("jeep.com", "dealers", None, 1) is None


def test_rates_of_one_always_fire_and_page_faults_skip_other_endpoints() -> None:
    injector = FaultInjector(FaultSpec.parse("drift:1,truncated:1"), seed=1)
    # The first kind in KINDS order wins when several fire.
    assert {injector.decide("dodge.com", "inventory", "DUD202610", p) for p in range(50)} == {
        "truncated"
    }
    assert {injector.decide("dodge.com", "dealers", None, 1) for _ in range(50)} == {"truncated"}
    only_drift = FaultInjector(FaultSpec.parse("drift:1"), seed=1)
    assert {only_drift.decide("dodge.com", "inventory", None, 1) for _ in range(20)} == {"drift"}
    assert {only_drift.decide("dodge.com", "filters", None, 1) for _ in range(20)} == {None}


def test_rates_fire_about_as_often_as_asked() -> None:
    injector = FaultInjector(FaultSpec.parse("html:0.1"), seed=3)
    hits = sum(injector.decide("jeep.com", "inventory", None, 1) == "html" for _ in range(5000))
    assert 400 < hits < 600


def test_served_state_keeps_faults_canonical() -> None:
    state = ServedState.model_validate({"faults": {"html": 0.5}})
    assert state.faults == "html:0.5"
    assert state.updated({"faults": ""}).faults == ""
    with pytest.raises(ValueError, match="unknown kind"):
        state.updated({"faults": "nope:1"})
    assert ServedState(latency=0.3, evening=True).mean_latency() == pytest.approx(0.6)
