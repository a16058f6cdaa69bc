"""The shared client's settings: the stall watchdog outlasts every wait of a working fetch."""

import pytest
from pydantic import ValidationError

from ai_core.http.config import HttpClientConfig


def test_the_stall_watchdog_outlasts_a_page_deadline_and_a_throttled_hosts_waits() -> None:
    HttpClientConfig()  # the defaults hold
    HttpClientConfig(stall_s=400, page_deadline_s=300, retry_after_cap_s=150, timeout_s=100)
    refused = {
        # A page's tries may run its whole deadline without a page finishing.
        "page_deadline_s (180 s)": {"page_deadline_s": 180},
        # A throttled host's probe: the longest wait honoured, then a whole try.
        "+ 2 × timeout_s (200 s)": {"timeout_s": 70},
        "+ 2 × timeout_s (190 s)": {"retry_after_cap_s": 150},
        "+ 2 × timeout_s (210 s)": {"max_backoff_s": 170, "retry_after_cap_s": 0},
    }
    for says, settings in refused.items():
        with pytest.raises(ValidationError, match=r"stall_s \(180 s\) must be longer") as caught:
            HttpClientConfig(**settings)  # type: ignore[arg-type]
        assert says in str(caught.value)
