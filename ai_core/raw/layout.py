"""`PageLayout`: where an endpoint's page holds its records, their keys and the total reported.

Declared once per endpoint. The fetcher reads each parsed page with it (`read`: the total plans
the pages, the records' count says whether a page was full, and their keys count the records),
the raw completeness check reads the stored bodies with the same layout (`completeness()`), and
the transformed tier's entities take the records' path and the totals' paths from it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import polars as pl
from pydantic import BaseModel, model_validator

from ai_core.raw.paging import PageContent


@dataclass(frozen=True, slots=True)
class PageLayout:
    """`records`: the path from the page to its list of records; `key`: the field of a record
    that identifies it (text); `totals`: paths to the record count the upstream reports, the
    first that reads as a number wins (none for a list that reports no total)."""

    records: tuple[str, ...]
    key: str
    totals: tuple[tuple[str, ...], ...] = ()

    def read(self, data: Any) -> PageContent:
        """The total the page reports, the keys of its records and how many it holds."""
        items = value_at(data, self.records)
        rows = items if isinstance(items, list) else []
        # A key is non-empty text, or a number (no bool).
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
        # The first that reads as a number, as the transformed tier coalesces them.
        for path in self.totals:
            total = whole_number(value_at(data, path))
            if total is not None:
                return total
        return None

    def completeness(self) -> CompletenessRule:
        """The check's rule: the stored bodies read with this layout. A whole list may truly be
        empty; a paged one says so with its total."""
        return CompletenessRule(
            records_path=list(self.records),
            record_key=self.key,
            total_paths=[list(path) for path in self.totals],
            may_be_empty=not self.totals,
        )


class CompletenessRule(BaseModel):
    """Where a page states its records' keys and, for paged sources, its reported total.

    Either as paths into the page (`records_path` to the list of records, `record_key` the
    field that identifies a record, `total_paths` where the total may be, the first that reads
    as a number wins): each stored body is parsed and read as the fetcher reads it
    (`PageLayout.read`), so only the listed records' keys count. Or as regexes over the body's
    text, each with exactly one capture group, checked when the rule is read (commas in a
    captured total are thousands separators, and the quotes around a captured key are dropped,
    so a key pattern may capture a JSON text or a number whole): a regex matches its key
    anywhere in a body, a nested object's field of the same name included, so it suits bodies
    where only records carry that name. Without a total a sub-resource only has to hold at
    least one record.
    """

    records_path: list[str] | None = None
    record_key: str | None = None
    total_paths: list[list[str]] = []
    record_key_pattern: str | None = None
    total_pattern: str | None = None
    may_be_empty: bool = False
    """An answer with no records can be true (a brand with nothing within a small search), so
    an empty sub-resource fails the check as a warning; other problems stay errors."""
    empty_is_complete: bool = False
    """A sub-resource answered in full with no records is complete, not suspect: a dealer's
    day without a sale."""
    keys_may_repeat: bool = False
    """Records are counted, not their distinct keys: for a source whose pages never overlap (a
    query's result, read once), where two records may truly share a key (two sales on one
    document). A listing that moves while paged repeats records, so its keys are counted."""
    may_sell_out_below: int = 3
    """A sub-resource its list gave fewer records than this (a model-year code with a vehicle or
    two left) may have sold them all by its fetch: answering a total of 0 with none, it fails the
    check as a warning. Listed with more, an empty answer is more likely a fault."""

    @model_validator(mode="after")
    def _paths_or_patterns(self) -> CompletenessRule:
        paths = self.records_path is not None or self.record_key is not None or self.total_paths
        patterns = self.record_key_pattern is not None or self.total_pattern is not None
        if paths and patterns:
            raise ValueError(
                "give the paths (records_path, record_key, total_paths) or the patterns "
                "(record_key_pattern, total_pattern), not both"
            )
        if paths and not (self.records_path and self.record_key):
            raise ValueError(
                "records_path (not empty) and record_key go together; got "
                f"records_path={self.records_path!r}, record_key={self.record_key!r}"
            )
        if not paths and self.record_key_pattern is None:
            raise ValueError("give records_path with record_key, or record_key_pattern")
        if any(not path for path in self.total_paths):
            raise ValueError("a path in total_paths is empty")
        for name in ("record_key_pattern", "total_pattern"):
            pattern = getattr(self, name)
            if pattern is not None:
                _one_capture_group(name, pattern)
        return self

    @property
    def reports_total(self) -> bool:
        return bool(self.total_paths) or self.total_pattern is not None

    def layout(self) -> PageLayout | None:
        """The page layout the paths describe; None for a rule of patterns."""
        if self.records_path is None or self.record_key is None:
            return None
        totals = tuple(tuple(path) for path in self.total_paths)
        return PageLayout(tuple(self.records_path), self.record_key, totals)


def _one_capture_group(name: str, pattern: str) -> None:
    """Refuse, when the rule is read, a pattern the check could not use: one Polars' regex
    engine does not read, or one without exactly one capture group to take the value from."""
    try:
        groups = pl.Series([""], dtype=pl.String).str.extract_groups(pattern).struct.fields
    except pl.exceptions.PolarsError as exc:
        problem = str(exc).strip().splitlines()
        raise ValueError(
            f"{name} {pattern} is not a regex Polars reads ({problem[-1]}); it takes Rust's "
            "regex syntax, without look-around or back-references"
        ) from exc
    if len(groups) != 1:
        raise ValueError(
            f"{name} {pattern} has {len(groups)} capture groups; it needs exactly one, "
            "around the value (use (?:...) for the others)"
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


MAX_COUNT = 2**63 - 1
"""The largest count a table column (Int64) holds."""
WHOLE_NUMBER = re.compile(r"\s*([0-9][0-9,]*)(?:\.0*)?\s*", re.ASCII)
"""A total as text: digits with thousands separators, and at most a zero fraction (`70.0`)."""


def whole_number(value: Any) -> int | None:
    """A reported count, which may come as a number (`70`, `70.0`), as text, or not at all;
    None when negative or past what a 64-bit count holds, which no listing reports."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            return None
        number = int(value)
    else:
        found = WHOLE_NUMBER.fullmatch(str(value))
        digits = found.group(1).replace(",", "") if found else ""
        # Python refuses to read thousands of digits; a count has at most MAX_COUNT's.
        if not digits or len(digits) > len(str(MAX_COUNT)):
            return None
        number = int(digits)
    return number if 0 <= number <= MAX_COUNT else None
