"""The three public endpoints, each as a `PagedSubResource` the raw tier can fetch.

Paths and parameters follow the upstream contract (`stellantis-api.md`). Payloads that say the
upstream failed (`"result": "FAILURE"`, `"status": "FAILURE"`) raise `RetryableResponse`, so the
client retries them like any other transient fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ai_core.http.errors import RetryableResponse
from ai_core.raw.layout import PageLayout
from ai_core.raw.paging import PageContent
from ai_stellantis.brands import Brand
from ai_stellantis.settings import StellantisApiResource

INVENTORY_PATH = "/hostd/inventory/getinventoryresults.json"
FILTERS_PATH = "/hostd/inventory/getinventoryfilters.json"
DEALERS_PATH = "/bdlws/MDLSDealerLocator"

INVENTORY = PageLayout(
    records=("result", "data", "vehicles"),
    key="vin",
    totals=(
        ("result", "data", "metadata", "totalcount"),
        ("result", "data", "metadata", "totalCount"),
        ("result", "data", "metadata", "exactMatchCount"),
    ),
)
"""A page of the inventory search: its vehicles, by VIN, and the code's total (the search asks
for exact matches, so `exactMatchCount` stands in for a page that sends no `totalcount`)."""
MODEL_YEAR_CODES = PageLayout(records=("result", "data", "modelYearCodes"), key="code")
"""A brand's filter page: its model-year codes, whole."""
DEALERS = PageLayout(records=("dealer",), key="dealerCode")
"""A brand's dealer locator page: its dealers, or a page of them."""


def _succeeded(outcome: Any, errors: Any, records: Any) -> bool:
    """Whether an answer's outcome (`result.result`, `status`) says it succeeded: `SUCCESS` in
    any case; or, as keys may be missing, no outcome at all, no errors and its list of records."""
    if outcome is None:
        return not errors and isinstance(records, list)
    return isinstance(outcome, str) and outcome.strip().upper() == "SUCCESS"


def _result_data(data: Any, records: str) -> Mapping[str, Any]:
    """The `result.data` object of an inventory-style answer whose list of records is under
    `records`, or a retryable failure (the client's error names the page)."""
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(result, dict):
        raise RetryableResponse("the answer has no `result` object")
    payload = result.get("data")
    listed = payload.get(records) if isinstance(payload, dict) else None
    errors = result.get("errors")
    if not _succeeded(result.get("result"), errors, listed):
        raise RetryableResponse(f"result {result.get('result')!r}, errors {errors or []!r}")
    if not isinstance(payload, dict):
        raise RetryableResponse("the answer has no `result.data` object")
    return payload


@dataclass(frozen=True, slots=True)
class InventoryCode:
    """Vehicles of one brand's model-year code, paged by `pageSize`."""

    brand: Brand
    code: str
    settings: StellantisApiResource
    listed_records: int | None = None
    """The code list's `count` for the code, when it gives one."""
    numbered_pages: ClassVar[bool] = True
    # What `validate` and `read` look at: the outcome, its errors, the total and the VINs.
    page_shape: ClassVar[type | None] = INVENTORY.shape(("result", "result"), ("result", "errors"))

    @property
    def key(self) -> str:
        return f"{self.brand.domain}/{self.code}"

    @property
    def page_size(self) -> int:
        # Pages are stored verbatim, so a cap below one page asks for smaller pages; above
        # that the cap is met in whole pages.
        cap = self.settings.inventory_max_per_model
        return min(self.settings.page_size, cap) if cap else self.settings.page_size

    @property
    def max_records(self) -> int | None:
        return self.settings.inventory_max_per_model

    def request(self, page: int) -> tuple[str, Mapping[str, str | int]]:
        s = self.settings
        params: dict[str, str | int] = {
            "func": "SALES",
            "includeIncentives": "N",
            "matchType": "X",
            "modelYearCode": self.code,
            "pageNumber": page,
            "pageSize": self.page_size,
            "radius": s.inventory_radius,
            "sortBy": 0,
            "zip": s.inventory_zip,
        }
        return s.base_url(self.brand) + INVENTORY_PATH, params

    def label(self, page: int) -> str:
        return f"public_inventory page {page} of {self.key}"

    def validate(self, data: Any) -> None:
        _result_data(data, "vehicles")

    def read(self, data: Any) -> PageContent:
        return INVENTORY.read(data)


@dataclass(frozen=True, slots=True)
class _WholeBrandList:
    """An endpoint that answers a brand's whole list, without a total, keyed by the brand's
    domain."""

    brand: Brand
    settings: StellantisApiResource
    page_size: ClassVar[int]
    max_records: ClassVar[int | None] = None
    listed_records: ClassVar[int | None] = None
    page_shape: ClassVar[type | None] = None  # a page or two a brand: parsed whole

    @property
    def key(self) -> str:
        return self.brand.domain


@dataclass(frozen=True, slots=True)
class ModelYearCodes(_WholeBrandList):
    """The model-year codes a brand lists today: one page, as its request names no page."""

    page_size: ClassVar[int] = 10_000
    numbered_pages: ClassVar[bool] = False

    def request(self, page: int) -> tuple[str, Mapping[str, str | int]]:
        s = self.settings
        params: dict[str, str | int] = {
            "func": "SALES",
            "zip": s.inventory_zip,
            "radius": s.inventory_radius,
        }
        return s.base_url(self.brand) + FILTERS_PATH, params

    def label(self, page: int) -> str:
        return f"public_model_year_codes of {self.key}"

    def validate(self, data: Any) -> None:
        codes = _result_data(data, "modelYearCodes").get("modelYearCodes")
        if not isinstance(codes, list):
            raise RetryableResponse("no `modelYearCodes` list")

    def read(self, data: Any) -> PageContent:
        return MODEL_YEAR_CODES.read(data)


@dataclass(frozen=True, slots=True)
class DealerLocator(_WholeBrandList):
    """A brand's dealers within the radius, asked 5,000 a page: the fetcher pages on where a
    locator serves fewer (see `ai_core.raw.paging`), so a list of 1 to 4,999 costs one more page,
    which answers none."""

    page_size: ClassVar[int] = 5000
    numbered_pages: ClassVar[bool] = True

    def request(self, page: int) -> tuple[str, Mapping[str, str | int]]:
        s = self.settings
        params: dict[str, str | int] = {
            "brandCode": self.brand.letter,
            "func": "SALES",
            "radius": s.inventory_radius,
            "resultsPage": page,
            "resultsPerPage": self.page_size,
            "zipCode": s.inventory_zip,
        }
        return s.base_url(self.brand) + DEALERS_PATH, params

    def label(self, page: int) -> str:
        return f"public_dealers page {page} of {self.key}"

    def validate(self, data: Any) -> None:
        if not isinstance(data, dict) or not _succeeded(
            data.get("status"), data.get("error"), data.get("dealer")
        ):
            status = data.get("status") if isinstance(data, dict) else type(data).__name__
            error = data.get("error") if isinstance(data, dict) else None
            raise RetryableResponse(f"status {status!r}, error {error!r}")
        if not isinstance(data.get("dealer"), list):
            raise RetryableResponse("no `dealer` list")

    def read(self, data: Any) -> PageContent:
        return DEALERS.read(data)
