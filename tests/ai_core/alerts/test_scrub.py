"""Secrets never reach an alert: secret-looking names, credentials inside URLs and HTTP
credentials quoted in text are redacted."""

from __future__ import annotations

import pytest

from ai_core.alerts.scrub import REDACTED, scrub_text, scrub_value


@pytest.mark.parametrize(
    "name",
    [
        "api_token",
        "password",
        "client_secret",
        "X-Auth",
        "Authorization",
        "api-key",
        "dsn",
        "accessToken",
        "clientSecret",
        "authToken",
        "APIKey",
        "refresh_Token",
    ],
)
def test_values_under_secret_names_are_redacted(name: str) -> None:
    assert scrub_value(name, "hunter2") == REDACTED


@pytest.mark.parametrize(
    "name",
    ["passed_rows", "author", "tokenizer", "samples", "pages", "authorName", "tokenizerVersion"],
)
def test_ordinary_names_keep_their_values(name: str) -> None:
    assert scrub_value(name, 12) == 12


def test_credentials_inside_urls_are_redacted_and_the_rest_kept() -> None:
    text = "GET https://svc:hunter2@api.example.test/v1?page=2&access_token=abc&sig=x#f failed"
    assert scrub_text(text) == (
        f"GET https://{REDACTED}@api.example.test/v1?page=2&access_token={REDACTED}"
        f"&sig={REDACTED}#f failed"
    )


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        (
            "401 for GET /v1 with Authorization: Bearer eyJhbGciOi.eyJzdWIi.c2ln-_x",
            f"401 for GET /v1 with Authorization: Bearer {REDACTED}",
        ),
        ("authorization=Basic dXNlcjpodW50ZXIy; retry", f"authorization=Basic {REDACTED}; retry"),
        ("Proxy-Authorization: hunter2", f"Proxy-Authorization: {REDACTED}"),
        # A token of letters alone, or after a scheme of another shape, goes with the rest.
        ("Authorization: abcdefXYZ refused", f"Authorization: {REDACTED}"),
        ("Authorization: ApiKey s3cr3tvalue123", f"Authorization: {REDACTED}"),
        (
            "Authorization: AWS4-HMAC-SHA256 Credential=AK/x, SignedHeaders=host, Signature=abc",
            f"Authorization: {REDACTED}",
        ),
        # Quotes inside a value, JSON's escaped quotes, a pair's comma.
        ('Authorization: Token token="s3cr3tTOKEN"', f"Authorization: {REDACTED}"),
        ('{\\"Authorization\\": \\"ApiKey k3y\\"}', f'{{\\"Authorization\\": \\"{REDACTED}\\"}}'),
        ("('authorization', 'ApiKey k3y')", f"('authorization', '{REDACTED}')"),
        # The rest of the line stays: after a single token, and after a query parameter.
        ("Bearer x got 401 Unauthorized", f"Bearer {REDACTED} got 401 Unauthorized"),
        (
            "Authorization: Bearer x got 401 Unauthorized",
            f"Authorization: Bearer {REDACTED} got 401 Unauthorized",
        ),
        (
            "GET /x?authorization=abc&page=2 returned 500",
            f"GET /x?authorization={REDACTED}&page=2 returned 500",
        ),
        (
            "GET /x?credential=c1&pass=p1&zip=1",
            f"GET /x?credential={REDACTED}&pass={REDACTED}&zip=1",
        ),
        (
            "headers {'Authorization': 'Bearer abc', 'Accept': 'application/json'}",
            f"headers {{'Authorization': 'Bearer {REDACTED}', 'Accept': 'application/json'}}",
        ),
        ("the client sent bearer abc+/= twice", f"the client sent bearer {REDACTED} twice"),
        (
            "Cookie: session=abc; theme=dark\nnext line kept",
            f"Cookie: {REDACTED}\nnext line kept",
        ),
        ("{'Set-Cookie': 'sid=1; Path=/', 'n': 2}", f"{{'Set-Cookie': '{REDACTED}', 'n': 2}}"),
    ],
)
def test_http_credentials_in_free_text_are_redacted(text: str, scrubbed: str) -> None:
    assert scrub_text(text) == scrubbed


@pytest.mark.parametrize(
    "text",
    [
        "authorization failed for user svc",
        "the Authorization header is missing",
        "cookie consent banner changed",
        "3 cookies: none stored",
    ],
)
def test_prose_about_credentials_is_kept(text: str) -> None:
    assert scrub_text(text) == text


def test_nested_values_are_scrubbed_and_made_json_safe() -> None:
    value = {"rows": [1, {"token": "t"}], "url": "s3://k:s@bucket/x", "when": object}
    scrubbed = scrub_value("meta", value)
    assert scrubbed["rows"] == [1, {"token": REDACTED}]
    assert scrubbed["url"] == f"s3://{REDACTED}@bucket/x"
    assert scrubbed["when"] == "<class 'object'>"
