"""dlt's declarative `rest_api` configuration of the Stellantis inventory, as a plain dict.

The model-year codes of `getinventoryfilters.json` are the parent resource and the inventory
pages the child, one request per page (`pageNumber` from 1, `pageSize` vehicles each). Speed is
configured as dlt's performance guide recommends: the child resource is `parallelized`, so the
pages of different codes are fetched at once by the extract thread pool. dlt's page-number
paginator reads its `total_path` as a number of pages while the contract's total counts
vehicles, so each code stops at its first empty page, as `stop_after_empty_page` (dlt's
default) does. Nothing here imports dlt, so the project's tests can check it.
"""

from __future__ import annotations

import itertools
from typing import Any

INVENTORY_PATH = "hostd/inventory/getinventoryresults.json"
FILTERS_PATH = "hostd/inventory/getinventoryfilters.json"
# The contract allows `totalCount` as well: the path names both fields.
TOTAL_PATH = "result.data.metadata.[totalcount,totalCount]"


def source_config(
    base_url: str, zip_code: str, radius: int, page_size: int, pages: itertools.count[int]
) -> dict[str, Any]:
    """The `rest_api` configuration: codes as the parent, inventory pages as the child."""
    search = {"func": "SALES", "zip": zip_code, "radius": radius}

    def count_page(response: Any, *args: Any, **kwargs: Any) -> Any:
        next(pages)  # itertools.count is atomic under the GIL: safe from dlt's threads
        return response

    return {
        "client": {"base_url": base_url.rstrip("/") + "/"},
        "resource_defaults": {"write_disposition": "replace"},
        "resources": [
            {
                "name": "model_year_codes",
                "endpoint": {
                    "path": FILTERS_PATH,
                    "params": search,
                    "data_selector": "result.data.modelYearCodes",
                    "paginator": "single_page",
                },
            },
            {
                "name": "inventory",
                "parallelized": True,
                "endpoint": {
                    "path": INVENTORY_PATH,
                    "params": {
                        **search,
                        "modelYearCode": "{resources.model_year_codes.code}",
                        "includeIncentives": "N",
                        "matchType": "X",
                        "pageSize": page_size,
                        "sortBy": 0,
                    },
                    "data_selector": "result.data.vehicles",
                    "paginator": {
                        "type": "page_number",
                        "page_param": "pageNumber",
                        "base_page": 1,
                        "total_path": TOTAL_PATH,
                    },
                    "response_actions": [count_page],
                },
            },
        ],
    }
