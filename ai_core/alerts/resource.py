"""`SentryResource`: where alerts go. With no DSN configured, nothing is sent.

The Sentry SDK is imported when there is something to send, not in every process that loads
the location."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg
from pydantic import Field

from ai_core.alerts.events import AlertEvent

SENTRY_DSN_ENV = "SENTRY_DSN"


@dataclass(frozen=True)
class Delivery:
    """How many events, in order, Sentry accepted, and why the next one was not."""

    delivered: int
    failure: str | None = None


class SentryResource(dg.ConfigurableResource):
    """A Sentry project; `build_core_defs` sets `dsn` from `$SENTRY_DSN` as a `dg.EnvVar`."""

    dsn: str | None = Field(default=None, description="Sentry DSN; unset, nothing is sent")
    environment: str | None = Field(default=None, description="Sentry environment of the events")
    timeout_s: float = Field(default=10.0, description="Seconds to wait for Sentry to answer")

    def resolved_dsn(self) -> str | None:
        """The DSN in use, or None when alerts are off."""
        return (self.dsn or "").strip() or None

    def send(self, events: Sequence[AlertEvent]) -> Delivery:
        """Send `events` in order, waiting for each answer, and stop at the first Sentry does not
        accept: the next would most likely fare the same, each try waiting up to `timeout_s`."""
        dsn = self.resolved_dsn()
        if dsn is None:
            return Delivery(0, f"{SENTRY_DSN_ENV} is not set")
        if not events:
            return Delivery(0)
        import sentry_sdk

        from ai_core.alerts.transport import EnvelopePoster

        transport = EnvelopePoster(dsn, self.timeout_s)
        # A client of our own, not `sentry_sdk.init`: the process's global hub belongs to
        # whatever else runs in it, and no integration should capture anything but these events.
        client = sentry_sdk.Client(
            dsn=dsn,
            environment=self.environment,
            transport=transport,
            default_integrations=False,
            auto_enabling_integrations=False,
        )
        try:
            for delivered, event in enumerate(events):
                if client.capture_event(event.as_sentry()) is None:
                    return Delivery(delivered, "the Sentry SDK discarded the event")
                if transport.failure is not None:
                    return Delivery(delivered, transport.failure)
        finally:
            client.close()
        return Delivery(len(events))
