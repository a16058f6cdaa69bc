"""Parsing a page: whole, or only the parts a caller declares, with the same errors either way."""

from __future__ import annotations

from typing import Any, TypedDict

import orjson
import pytest

from ai_core.http.payload import parse_json


class _Item(TypedDict, total=False):
    sku: Any


class _Page(TypedDict, total=False):
    total: Any
    items: list[_Item]


PAGE = {"total": 2, "items": [{"sku": "a", "blurb": "x" * 50}, {"sku": "b", "tags": [1, 2]}]}


def test_a_shape_builds_only_the_parts_it_declares() -> None:
    data, problem = parse_json(orjson.dumps({**PAGE, "facets": {"colour": ["red"]}}), _Page)

    assert problem is None
    assert data == {"total": 2, "items": [{"sku": "a"}, {"sku": "b"}]}


@pytest.mark.parametrize(
    "payload",
    [
        {"total": 2, "items": "not a list"},
        {"total": 2, "items": [{"sku": "a"}, None]},
        ["not", "an", "object"],
    ],
)
def test_a_page_whose_parts_are_of_another_kind_is_parsed_whole(payload: object) -> None:
    data, problem = parse_json(orjson.dumps(payload), _Page)

    assert problem is None
    assert data == payload  # so the caller's own checks see what is wrong with it


def test_a_page_without_a_declared_part_is_of_its_shape_with_that_part_absent() -> None:
    data, problem = parse_json(orjson.dumps({"error": "no items", "total": None}), _Page)

    assert problem is None
    assert data == {"total": None}


@pytest.mark.parametrize("body", [b'{"total": 2, "items": [', b"", b"{'total': 2}"])
def test_invalid_json_is_the_same_problem_with_or_without_a_shape(body: bytes) -> None:
    whole = parse_json(body)
    shaped = parse_json(body, _Page)

    assert whole[0] is None and shaped[0] is None
    assert whole[1] == shaped[1]
    assert whole[1] is not None and whole[1].kind == "invalid_json"
