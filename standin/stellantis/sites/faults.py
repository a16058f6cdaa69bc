"""Fault injection: which misbehaviour a request gets, from rates and from pinned targets.

Spec syntax, the same on the command line and in JSON (items separated by commas):

- `KIND:RATE` fires KIND on that share of requests, e.g. `html:0.05,429_retry_after:0.02`;
- `KIND@DOMAIN/ENDPOINT/CODE/PAGExN` fires KIND on the first N attempts at that target, e.g.
  `html@jeep.com/inventory/IUJ202610/3x2`; dealers and filters have no code:
  `failure@jeep.com/dealers/1x1`. DOMAIN, CODE and PAGE may be `*`; each concrete target
  matched by a wildcard gets its own N attempts. `xN` defaults to `x1`.

JSON may also give a list of such items, or an object mapping `KIND` to a rate and
`KIND@TARGET` to N. Pinned items win over rates; among rates, the first kind in `KINDS` order
whose draw hits fires. Faults never change the data: a client that retries and dedupes gets
exactly the ground truth, and after a `skip` (a page that starts one vehicle late, as when one
ahead of it sold while the client paged) one that fetches the page again.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

KINDS = (
    "429",
    "429_retry_after",
    "5xx",
    "reset",
    "stall",
    "html",
    "truncated",
    "failure",
    "drift",
    "repeat",
    "skip",
)
ENDPOINTS = ("inventory", "filters", "dealers")
INVENTORY_ONLY = frozenset({"drift", "repeat", "skip"})

_PINNED = re.compile(r"^(?P<kind>[a-z0-9_]+)@(?P<target>[^\s,]+?)(?:x(?P<count>\d+))?$")
_USAGE = "KIND:RATE or KIND@DOMAIN/ENDPOINT/[CODE/]PAGE[xN]"


class FaultSpecError(ValueError):
    """A fault spec that cannot be parsed; the message names the item and the syntax."""


@dataclass(frozen=True, slots=True)
class Pinned:
    """Fire `kind` on the first `count` attempts at each target matching the pattern."""

    kind: str
    domain: str
    endpoint: str
    code: str
    page: str
    count: int

    def matches(self, domain: str, endpoint: str, code: str, page: int) -> bool:
        return (
            self.endpoint == endpoint
            and self.domain in ("*", domain)
            and self.code in ("*", code)
            and self.page in ("*", str(page))
        )

    def __str__(self) -> str:
        middle = f"/{self.code}" if self.endpoint == "inventory" else ""
        return f"{self.kind}@{self.domain}/{self.endpoint}{middle}/{self.page}x{self.count}"


@dataclass(frozen=True, slots=True)
class FaultSpec:
    rates: Mapping[str, float] = field(default_factory=dict)
    pinned: tuple[Pinned, ...] = ()

    def __str__(self) -> str:
        items = [f"{k}:{self.rates[k]:g}" for k in KINDS if self.rates.get(k)]
        return ",".join(items + [str(p) for p in self.pinned])

    @classmethod
    def parse(cls, spec: object) -> FaultSpec:
        """A spec from a string, a list of item strings, a mapping, or None/"" for no faults."""
        if spec is None or spec == "":
            return cls()
        if isinstance(spec, FaultSpec):
            return spec
        if isinstance(spec, str):
            items = [i for i in re.split(r"[,\s;]+", spec) if i]
        elif isinstance(spec, Mapping):
            items = [f"{k}x{int(v)}" if "@" in str(k) else f"{k}:{v}" for k, v in spec.items()]
        elif isinstance(spec, Sequence):
            items = [str(i).strip() for i in spec if str(i).strip()]
        else:
            raise FaultSpecError(f"fault spec must be a string, list or object, not {spec!r}")
        rates: dict[str, float] = {}
        pinned: list[Pinned] = []
        for item in items:
            if "@" in item:
                pinned.append(_parse_pinned(item))
            else:
                kind, rate = _parse_rate(item)
                rates[kind] = rate
        return cls(rates, tuple(pinned))


def _check_kind(kind: str, item: str) -> None:
    if kind not in KINDS:
        raise FaultSpecError(
            f"fault spec item {item!r}: unknown kind {kind!r}; kinds: {', '.join(KINDS)}"
        )


def _parse_rate(item: str) -> tuple[str, float]:
    kind, sep, value = item.partition(":")
    _check_kind(kind, item)
    try:
        rate = float(value) if sep else float("nan")
    except ValueError:
        rate = float("nan")
    if not 0.0 <= rate <= 1.0:
        raise FaultSpecError(f"fault spec item {item!r}: expected {_USAGE}, rate in [0, 1]")
    return kind, rate


def _parse_pinned(item: str) -> Pinned:
    match = _PINNED.match(item)
    if match is None:
        raise FaultSpecError(f"fault spec item {item!r}: expected {_USAGE}")
    kind = match["kind"]
    _check_kind(kind, item)
    parts = match["target"].split("/")
    count = int(match["count"] or 1)
    if len(parts) == 4 and parts[1] == "inventory":
        domain, endpoint, code, page = parts
    elif len(parts) == 3:
        domain, endpoint, page = parts
        code = "*"
    else:
        raise FaultSpecError(f"fault spec item {item!r}: expected {_USAGE}")
    if endpoint not in ENDPOINTS:
        raise FaultSpecError(
            f"fault spec item {item!r}: unknown endpoint {endpoint!r}; "
            f"endpoints: {', '.join(ENDPOINTS)}"
        )
    if page != "*" and not page.isdigit():
        raise FaultSpecError(f"fault spec item {item!r}: page must be a number or *")
    return Pinned(kind, domain, endpoint, code, page, count)


class FaultInjector:
    """Decides the fault of each request and counts what was injected."""

    def __init__(self, spec: FaultSpec, seed: int) -> None:
        self.spec = spec
        self._rng = random.Random(seed * 7919 + 17)
        self._attempts: Counter[tuple[int, str, str, str, int]] = Counter()
        self.injected: Counter[str] = Counter()

    def decide(self, domain: str, endpoint: str, code: str | None, page: int) -> str | None:
        """The fault kind for this request, or None; call `record` once it was applied."""
        code_key = code or ""
        for i, pin in enumerate(self.spec.pinned):
            if not pin.matches(domain, endpoint, code_key, page):
                continue
            target = (i, domain, endpoint, code_key, page)
            if self._attempts[target] < pin.count:
                self._attempts[target] += 1
                return pin.kind
        for kind in KINDS:
            rate = self.spec.rates.get(kind, 0.0)
            if not rate or (kind in INVENTORY_ONLY and endpoint != "inventory"):
                continue
            if self._rng.random() < rate:
                return kind
        return None

    def record(self, kind: str) -> None:
        self.injected[kind] += 1

    def random(self) -> float:
        return self._rng.random()
