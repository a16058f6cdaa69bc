"""Secrets never reach an alert: secret-looking names and credentials inside URLs are redacted."""

from __future__ import annotations

import pytest

from ai_core.alerts.scrub import REDACTED, scrub_text, scrub_value


@pytest.mark.parametrize(
    "name",
    ["api_token", "password", "client_secret", "X-Auth", "Authorization", "api-key", "dsn"],
)
def test_values_under_secret_names_are_redacted(name: str) -> None:
    assert scrub_value(name, "hunter2") == REDACTED


@pytest.mark.parametrize("name", ["passed_rows", "author", "tokenizer", "samples", "pages"])
def test_ordinary_names_keep_their_values(name: str) -> None:
    assert scrub_value(name, 12) == 12


def test_credentials_inside_urls_are_redacted_and_the_rest_kept() -> None:
    text = "GET https://svc:hunter2@api.example.test/v1?page=2&access_token=abc&sig=x#f failed"
    assert scrub_text(text) == (
        f"GET https://{REDACTED}@api.example.test/v1?page=2&access_token={REDACTED}"
        f"&sig={REDACTED}#f failed"
    )


def test_nested_values_are_scrubbed_and_made_json_safe() -> None:
    value = {"rows": [1, {"token": "t"}], "url": "s3://k:s@bucket/x", "when": object}
    scrubbed = scrub_value("meta", value)
    assert scrubbed["rows"] == [1, {"token": REDACTED}]
    assert scrubbed["url"] == f"s3://{REDACTED}@bucket/x"
    assert scrubbed["when"] == "<class 'object'>"
