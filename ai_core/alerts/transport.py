"""A Sentry transport that posts each envelope while the caller waits and keeps why one failed.

The SDK's own transport sends from a background thread and drops what Sentry does not accept,
so a sensor could not tell a delivered alert from a lost one.
"""

from __future__ import annotations

import io

import httpx
import sentry_sdk
from sentry_sdk.consts import EndpointType
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from ai_core.alerts.scrub import REDACTED, scrub_text

TOO_LARGE = 413
"""An envelope too large for Sentry, or for a proxy in front of it: sending it again cannot help.
A 400 may be Sentry refusing that one envelope or a proxy refusing everything, which only the
next envelope's answer tells (`SentryResource.send`); an unknown key (401, 403) is the
deployment's to fix, and then every alert counts."""


class EnvelopePoster(Transport):
    """Posts envelopes to the DSN's project, waiting `timeout_s` at most for each answer;
    `failure` says why the last one was not accepted, None when it was, and `status` what
    Sentry answered (None when it did not)."""

    def __init__(self, dsn: str, timeout_s: float) -> None:
        super().__init__({"dsn": dsn})
        assert self.parsed_dsn is not None
        self._auth = self.parsed_dsn.to_auth(f"sentry.python/{sentry_sdk.VERSION}")
        self._http = httpx.Client()
        self.timeout_s = timeout_s
        self.failure: str | None = None
        self.status: int | None = None

    def capture_envelope(self, envelope: Envelope) -> None:
        body = io.BytesIO()
        envelope.serialize_into(body)
        self.failure = None
        self.status = None
        try:
            response = self._http.post(
                self._auth.get_api_url(EndpointType.ENVELOPE),
                content=body.getvalue(),
                headers={
                    "X-Sentry-Auth": self._auth.to_header(),
                    "Content-Type": "application/x-sentry-envelope",
                },
                timeout=self.timeout_s,
            )
        except httpx.HTTPError as error:
            self.failure = self._redact(f"Sentry could not be reached: {_describe(error)}")
            return
        if not response.is_success:
            # Sentry names what it refused in this header (a rate limit, a disabled project).
            reason = response.headers.get("X-Sentry-Error") or response.reason_phrase
            self.failure = self._redact(f"Sentry answered {response.status_code} {reason}")
        self.status = response.status_code

    def kill(self) -> None:
        self._http.close()

    def _redact(self, text: str) -> str:
        """`text` without the DSN's keys, which an error may quote with the URL."""
        text = scrub_text(text)
        for key in (self._auth.public_key, self._auth.secret_key):
            if key:
                text = text.replace(key, REDACTED)
        return text


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
