"""`PageLayout`: where an endpoint's page holds its records, their keys and the total reported.

Declared once per endpoint. The fetcher reads each parsed page with it (`read`: the total plans
the pages, the records' count says whether a page was full, and their keys count the records),
the raw completeness check is derived from it (`completeness()`: the same facts as regexes over
the stored bodies), and the transformed tier's entities take the records' path and the totals'
paths from it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from ai_core.raw.checks import CompletenessPatterns
from ai_core.raw.paging import PageContent


@dataclass(frozen=True, slots=True)
class PageLayout:
    """`records`: the path from the page to its list of records; `key`: the field of a record
    that identifies it (text); `totals`: paths to the record count the upstream reports, the
    first present wins (none for a list that reports no total)."""

    records: tuple[str, ...]
    key: str
    totals: tuple[tuple[str, ...], ...] = ()

    def read(self, data: Any) -> PageContent:
        """The total the page reports, the keys of its records and how many it holds."""
        items = value_at(data, self.records)
        rows = items if isinstance(items, list) else []
        # A key as the completeness pattern finds it: non-empty text, or a number (no bool).
        keys = [
            str(k)
            for r in rows
            if type(r) is dict
            and ((type(k := r.get(self.key)) is str and k) or type(k) is int or type(k) is float)
        ]
        return PageContent(self._total(data), keys, entries=len(rows))

    def shape(self, *also: tuple[str, ...]) -> type:
        """The parts of a page that `read` looks at, plus the paths in `also` (what a validation
        reads), as a TypedDict: a decoder given it builds only those parts of a large page."""
        tree: dict[str, Any] = {}
        for path in (*self.totals, *also):
            _plant(tree, path, Any)
        record = _typed("Record", {self.key: Any})
        _plant(tree, self.records, list[record] | None)  # type: ignore[valid-type]
        return _typed("Page", tree)

    def _total(self, data: Any) -> int | None:
        for path in self.totals:
            value = value_at(data, path)
            if value is not None:
                return whole_number(value)
        return None

    def completeness(self) -> CompletenessPatterns:
        """The same facts as regexes over a stored body: each record's key, and the total. A
        whole list may truly be empty; a paged one says so with its total."""
        names = sorted({path[-1] for path in self.totals})
        total = "|".join(re.escape(n) for n in names)
        return CompletenessPatterns(
            # A key may come as text or as a number, as `read` takes it.
            record_key_pattern=rf'"{re.escape(self.key)}"\s*:\s*("[^"]+"|-?[0-9][0-9.eE+-]*)',
            total_pattern=rf'"(?:{total})"\s*:\s*"?([0-9][0-9,]*)' if names else None,
            may_be_empty=not names,
        )


def value_at(data: Any, path: Sequence[str]) -> Any:
    """The value at `path` in nested JSON objects, or None where the path leaves them."""
    for name in path:
        if not isinstance(data, dict):
            return None
        data = data.get(name)
    return data


def _plant(tree: dict[str, Any], path: Sequence[str], leaf: Any) -> None:
    *parents, last = path
    for name in parents:
        tree = tree.setdefault(name, {})
    if not isinstance(tree.get(last), dict):
        tree[last] = leaf


def _typed(name: str, tree: dict[str, Any]) -> type:
    fields = {
        key: _typed(f"{name}_{key}", value) if isinstance(value, dict) else value
        for key, value in tree.items()
    }
    return TypedDict(name, fields, total=False)  # type: ignore[operator]


WHOLE_NUMBER = re.compile(r"\s*([0-9][0-9,]*)(?:\.0*)?\s*", re.ASCII)
"""A total as text: digits with thousands separators, and at most a zero fraction (`70.0`)."""


def whole_number(value: Any) -> int | None:
    """A reported count, which may come as a number (`70`, `70.0`), as text, or not at all."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    found = WHOLE_NUMBER.fullmatch(str(value))
    return int(found.group(1).replace(",", "")) if found else None
