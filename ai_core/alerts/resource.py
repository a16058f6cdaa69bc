"""`SentryResource`: where alerts go. With no DSN configured, nothing is sent.

The Sentry SDK is imported when there is something to send, not in every process that loads
the location."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg
from pydantic import Field

from ai_core.alerts.events import AlertEvent

SENTRY_DSN_ENV = "SENTRY_DSN"


class SentryResource(dg.ConfigurableResource):
    """A Sentry project; `build_core_defs` sets `dsn` from `$SENTRY_DSN` as a `dg.EnvVar`."""

    dsn: str | None = Field(default=None, description="Sentry DSN; unset, nothing is sent")
    environment: str | None = Field(default=None, description="Sentry environment of the events")
    flush_timeout_s: float = Field(default=10.0, description="Seconds to wait for delivery")

    def resolved_dsn(self) -> str | None:
        """The DSN in use, or None when alerts are off."""
        return (self.dsn or "").strip() or None

    def send(self, events: Sequence[AlertEvent]) -> list[str]:
        """Send `events` and wait for their delivery; the ids Sentry will know them by."""
        dsn = self.resolved_dsn()
        if dsn is None or not events:
            return []
        import sentry_sdk

        # A client of our own, not `sentry_sdk.init`: the process's global hub belongs to
        # whatever else runs in it, and no integration should capture anything but these events.
        client = sentry_sdk.Client(
            dsn=dsn,
            environment=self.environment,
            default_integrations=False,
            auto_enabling_integrations=False,
        )
        try:
            ids = [client.capture_event(event.as_sentry()) for event in events]
        finally:
            client.close(timeout=self.flush_timeout_s)
        return [i for i in ids if i]
