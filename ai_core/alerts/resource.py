"""`SentryResource`: where alerts go. With no DSN configured, nothing is sent.

The Sentry SDK is imported when there is something to send, not in every process that loads
the location."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg
from pydantic import Field

from ai_core.alerts.events import AlertEvent

SENTRY_DSN_ENV = "SENTRY_DSN"


@dataclass(frozen=True)
class Delivery:
    """How many events, in order, were dealt with (accepted, or refused for good), and why the
    next one was not; `refused` says which Sentry will never take, and why."""

    delivered: int
    failure: str | None = None
    refused: tuple[str, ...] = ()


SEND_BUDGET_S = 20.0
"""Seconds a tick starts sending in: Dagster gives a sensor's evaluation 60, and a tick cut
short there saves no cursor, so its first alerts would be sent again on every tick after. The
last try may still take its connect, write and read waits of up to `timeout_s` each."""


class SentryResource(dg.ConfigurableResource):
    """A Sentry project; `build_core_defs` sets `dsn` from `$SENTRY_DSN` as a `dg.EnvVar`."""

    dsn: str | None = Field(default=None, description="Sentry DSN; unset, nothing is sent")
    environment: str | None = Field(default=None, description="Sentry environment of the events")
    timeout_s: float = Field(default=10.0, description="Seconds to wait for Sentry to answer")

    def resolved_dsn(self) -> str | None:
        """The DSN in use, or None when alerts are off."""
        return (self.dsn or "").strip() or None

    def send(self, events: Sequence[AlertEvent], budget_s: float = SEND_BUDGET_S) -> Delivery:
        """Send `events` in order, waiting for each answer, within `budget_s`. An event Sentry
        refuses for good is passed, so it cannot hold back the others: one too large (413), or
        one refused as bad (400) when the next is accepted; two 400s running are a proxy in the
        way. At any other failure (unreachable, throttled, an unknown key) sending stops there:
        the next would most likely fare the same, each try waiting up to `timeout_s`."""
        dsn = self.resolved_dsn()
        if dsn is None:
            return Delivery(0, f"{SENTRY_DSN_ENV} is not set")
        if not events:
            return Delivery(0)
        import sentry_sdk

        from ai_core.alerts.transport import TOO_LARGE, EnvelopePoster

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
        deadline = time.monotonic() + budget_s
        refused: list[str] = []
        bad: tuple[int, str] | None = None  # a 400 waiting for the next event's answer
        try:
            for done, event in enumerate(events):
                left = deadline - time.monotonic()
                if left <= 0:
                    stop, why = bad or (done, "the tick's time for sending ran out")
                    return Delivery(stop, why, tuple(refused))
                transport.timeout_s = min(self.timeout_s, left)
                if client.capture_event(event.as_sentry()) is None:
                    stop, why = bad or (done, "the Sentry SDK discarded the event")
                    return Delivery(stop, why, tuple(refused))
                failure = transport.failure
                if failure is not None and transport.status == 400 and bad is None:
                    bad = (done, failure)
                    continue
                if failure is not None and transport.status != TOO_LARGE:
                    stop, why = bad or (done, failure)
                    return Delivery(stop, why, tuple(refused))
                if bad is not None:
                    refused.append(f"{events[bad[0]].message}: {bad[1]}")
                    bad = None
                if failure is not None:
                    refused.append(f"{event.message}: {failure}")
        finally:
            client.close()
        if bad is not None:
            return Delivery(bad[0], bad[1], tuple(refused))
        return Delivery(len(events), None, tuple(refused))
