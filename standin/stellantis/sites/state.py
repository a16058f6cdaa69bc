"""What the server serves right now, readable and changeable at run time through `/_sim/state`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from standin.stellantis.sites.faults import FaultSpec

REFERENCE_PAGE = 50
"""Vehicles on the page whose answer takes `latency`: the sites' own page size."""


class ServedState(BaseModel):
    """The served day, faults and pacing. Seed and scope are fixed for a server's life."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    date: dt.date = Field(default_factory=dt.date.today)
    faults: str = ""
    latency: float = Field(default=0.0, ge=0.0)
    jitter: float = Field(default=0.2, ge=0.0, le=1.0)
    evening: bool = False
    size_share: float = Field(default=0.5, ge=0.0, le=1.0)
    stall_seconds: float = Field(default=90.0, ge=0.0)
    max_page_size: int = Field(default=500, ge=1)
    """Vehicles a page at most, whatever `pageSize` asks: the sites' cap (500 observed)."""
    max_dealers_per_page: int = Field(default=5000, ge=1)
    """Dealers a locator page at most, whatever `resultsPerPage` asks (5,000 observed)."""
    schema_drift: float = Field(default=0.0, ge=0.0, le=1.0)
    """Share of successful answers served with the contract's schema drift (`schema_drift`)."""
    blocked_until: AwareDatetime | None = None
    """Until then every site request answers 429 with `Retry-After: 1`, as a rate limiter's block
    does; counted as the fault `block`."""

    def blocked(self) -> bool:
        until = self.blocked_until
        return until is not None and dt.datetime.now(dt.UTC) < until

    @field_validator("faults", mode="before")
    @classmethod
    def _canonical_faults(cls, value: Any) -> str:
        return str(FaultSpec.parse(value))

    def fault_spec(self) -> FaultSpec:
        return FaultSpec.parse(self.faults)

    def mean_latency(self) -> float:
        """Mean seconds per answer: US evening hours are twice as slow."""
        return self.latency * (2.0 if self.evening else 1.0)

    def answer_latency(self, vehicles: int | None) -> float:
        """Mean seconds for an answer: inventory pages cost more the more vehicles they carry.

        A search server's time is a fixed part (routing, the query) and a part that grows with the
        records it renders; `size_share` is that second part's share on a page of
        `REFERENCE_PAGE` vehicles, so such a page takes `mean_latency()` and a page of ten times
        as many takes `1 + 9 * size_share` times as long.
        """
        mean = self.mean_latency()
        if vehicles is None:
            return mean
        return mean * (1.0 - self.size_share + self.size_share * vehicles / REFERENCE_PAGE)

    def updated(self, changes: dict[str, Any]) -> ServedState:
        """A copy with `changes` applied and validated; unknown keys are an error."""
        return ServedState.model_validate(self.model_dump() | changes)
