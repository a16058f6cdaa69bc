"""Where the records of a parsed Stellantis page are, for the per-record baseline's `records`.

Each function takes one parsed body and yields its records as the original deployment found
them: a page whose list is missing or null holds none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def inventory_vehicles(page: Any) -> Iterable[Mapping[str, Any]]:
    """The `vehicles` of a `getinventoryresults.json` page."""
    data = ((page or {}).get("result") or {}).get("data") or {}
    return data.get("vehicles") or []
