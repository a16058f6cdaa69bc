"""What the client refuses to do: wait past a page's deadline, follow a redirect to another host,
or keep a credential in anything it stores or reports."""

from __future__ import annotations

import asyncio
import time

import pytest

from ai_core.http import AsyncHttpClient, FetchError, HttpClientConfig
from ai_core.http.redact import redact_params, redact_url
from tests.ai_core.http.fault_server import Fault, FaultServer

FAST = HttpClientConfig(timeout_s=2, max_retries=2, retry_backoff_s=0.01, workers=2)


async def fetch(url: str, config: HttpClientConfig = FAST) -> tuple[object, dict]:
    async with AsyncHttpClient(config) as client:
        try:
            return await client.get_json(url, label="test page"), client.stats.summary()
        except FetchError as exc:
            return exc, client.stats.summary()


def test_a_redirect_on_the_same_host_is_followed_and_counted(fault_server: FaultServer) -> None:
    fault_server.script("/old", Fault.redirect(fault_server.url("/new")))
    response, stats = asyncio.run(fetch(fault_server.url("/old")))
    assert not isinstance(response, FetchError)
    assert response.url.endswith("/new")  # type: ignore[attr-defined]
    assert stats["redirects"] == 1


def test_a_redirect_to_another_host_is_refused_unless_configured(
    fault_server: FaultServer,
) -> None:
    elsewhere = fault_server.url("/new").replace("127.0.0.1", "localhost")
    fault_server.always("/old", Fault.redirect(elsewhere))
    error, stats = asyncio.run(fetch(fault_server.url("/old")))
    assert isinstance(error, FetchError)
    assert "redirect to another host (localhost)" in str(error)
    assert "cross_host_redirects" in str(error)
    assert [s.path for s in fault_server.seen].count("/new") == 0
    assert stats["requests"] == 1  # refused at once, not retried

    followed, _ = asyncio.run(
        fetch(fault_server.url("/old"), FAST.model_copy(update={"cross_host_redirects": True}))
    )
    assert not isinstance(followed, FetchError)
    assert [s.path for s in fault_server.seen].count("/new") == 1


def test_a_page_fails_at_its_deadline_whatever_its_retries(fault_server: FaultServer) -> None:
    fault_server.always("/slow", Fault.stall(30.0))
    config = FAST.model_copy(update={"timeout_s": 1.0, "max_retries": 50, "page_deadline_s": 1.5})
    started = time.monotonic()
    error, stats = asyncio.run(fetch(fault_server.url("/slow"), config))
    elapsed = time.monotonic() - started
    assert isinstance(error, FetchError)
    assert "no answer within the page deadline of 1.5 s" in str(error)
    assert 1.4 <= elapsed < 10
    assert stats["failures"] == 1


def test_credentials_never_reach_errors_or_stored_urls(fault_server: FaultServer) -> None:
    secret_url = fault_server.url("/p").replace("http://", "http://reader:s3cr3t@")
    fault_server.always("/p", Fault.status_code(503))
    error, _ = asyncio.run(fetch(secret_url + "?api_key=k3y&zip=66952"))
    assert isinstance(error, FetchError)
    for text in (str(error), error.url, repr(error.__reduce__())):
        assert "s3cr3t" not in text and "k3y" not in text and "reader" not in text
    assert "***@127.0.0.1" in error.url and "zip=66952" in error.url

    fault_server.always("/p", Fault.ok())
    response, _ = asyncio.run(fetch(secret_url + "?token=k3y"))
    assert not isinstance(response, FetchError)
    assert "s3cr3t" not in response.url and "k3y" not in response.url  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.jeep.com/p?zip=1", "https://www.jeep.com/p?zip=1"),
        ("https://u:p@host/p", "https://***@host/p"),
        ("https://host/p?apiKey=abc&zip=1", "https://host/p?apiKey=***&zip=1"),
        ("https://u@host/p?access_token=abc", "https://***@host/p?access_token=***"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_params_keeps_the_contract_parameters() -> None:
    params = {"modelYearCode": "IUJ202610", "zipCode": "66952", "password": "x"}
    assert redact_params(params) == {
        "modelYearCode": "IUJ202610",
        "zipCode": "66952",
        "password": "***",
    }
