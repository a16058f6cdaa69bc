"""Settings: defaults in one place, environment overrides, clear errors."""

import pytest
from pydantic import ValidationError

from ai_core.http.config import HttpClientConfig
from ai_stellantis.brands import resolve_brands
from ai_stellantis.settings import StellantisApiResource, StellantisSettings


def test_defaults() -> None:
    s = StellantisSettings.from_env({})
    assert (s.inventory_zip, s.inventory_radius, s.inventory_pages_workers) == ("66952", 5000, 10)
    # The time-out bounds each connect, read and write; a page's tries end at its deadline.
    assert (s.inventory_timeout, s.inventory_max_retries, s.inventory_retry_backoff) == (
        20.0,
        3,
        2.0,
    )
    assert s.inventory_max_per_model is None
    assert [b.domain for b in s.selected_brands()] == [
        "jeep.com",
        "dodge.com",
        "ramtrucks.com",
        "chrysler.com",
        "fiatusa.com",
        "alfaromeousa.com",
    ]
    assert s.base_url(s.selected_brands()[2]) == "https://www.ramtrucks.com"


def test_http_defaults_are_the_shared_clients() -> None:
    assert StellantisSettings.from_env({}).http() == HttpClientConfig()


def test_environment_overrides_and_http_config() -> None:
    s = StellantisSettings.from_env(
        {
            "STELLANTIS_BASE_URL_TEMPLATE": "http://127.0.0.1:9/{domain}",
            "STELLANTIS_BRANDS": "jeep.com, Ram",
            "STELLANTIS_INVENTORY_ZIP": "10001",
            "STELLANTIS_INVENTORY_RADIUS": "50",
            "STELLANTIS_INVENTORY_PAGES_WORKERS": "4",
            "STELLANTIS_INVENTORY_MAX_PER_MODEL": "120",
            "STELLANTIS_INVENTORY_TIMEOUT": "",
        }
    )
    assert [b.name for b in s.selected_brands()] == ["Jeep", "Ram"]
    assert s.base_url(s.selected_brands()[0]) == "http://127.0.0.1:9/jeep.com"
    assert (s.inventory_zip, s.inventory_radius, s.inventory_max_per_model) == ("10001", 50, 120)
    http = s.http()
    assert (http.workers, http.timeout_s, http.max_retries) == (4, 20.0, 3)
    assert (http.page_deadline_s, http.stall_s) == (120.0, 180.0)


def test_resource_fields_override_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STELLANTIS_INVENTORY_ZIP", "10001")
    monkeypatch.setenv("STELLANTIS_INVENTORY_RADIUS", "50")
    s = StellantisApiResource(inventory_radius=75).settings()
    assert (s.inventory_zip, s.inventory_radius) == ("10001", 75)


def test_bad_settings_name_the_variable() -> None:
    with pytest.raises(ValueError, match=r"unknown brand 'toyota\.com'"):
        resolve_brands("jeep.com,toyota.com")
    with pytest.raises(ValidationError, match="inventory_pages_workers"):
        StellantisSettings.from_env({"STELLANTIS_INVENTORY_PAGES_WORKERS": "0"})
