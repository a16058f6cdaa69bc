"""Bodies of the three public endpoints, their failure answers, and the CDN's error page."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from standin.stellantis.sites.catalog import BrandSpec
from standin.stellantis.sites.protocol import Response
from standin.stellantis.sites.world import CodeInfo

_JSON = "application/json;charset=UTF-8"


def inventory_page(total_key: str, total: int, vehicles: Sequence[str]) -> Response:
    """One page of the inventory search; `total_key` is `totalcount` or `totalCount`."""
    body = (
        '{"result":{"result":"SUCCESS","errors":[],"data":{"metadata":{"'
        + total_key
        + f'":{total},"exactMatchCount":{total}}},"vehicles":['
        + ",".join(vehicles)
        + "]}}}"
    )
    return Response(200, body.encode(), _JSON)


def result_failure(code: str, message: str) -> Response:
    """An inventory-style answer that says the request failed."""
    body = {
        "result": {
            "result": "FAILURE",
            "errors": [{"code": code, "message": message}],
            "data": None,
        }
    }
    return Response(200, orjson.dumps(body), _JSON)


def model_year_codes(brand: BrandSpec, codes: Sequence[CodeInfo]) -> Response:
    """The filters answer: today's model-year codes within the radius, with counts."""
    listed = [
        {
            "code": c.code,
            "year": str(c.year),
            "vehicleLine": c.line,
            "label": f"{c.year} {brand.name} {c.line}",
            "count": c.count,
        }
        for c in codes
    ]
    body = {"result": {"result": "SUCCESS", "errors": [], "data": {"modelYearCodes": listed}}}
    return Response(200, orjson.dumps(body), _JSON)


def dealer_list(dealers: Sequence[str]) -> Response:
    """The dealer locator's answer from pre-rendered dealer objects."""
    body = '{"status":"SUCCESS","dealer":[' + ",".join(dealers) + "]}"
    return Response(200, body.encode(), _JSON)


def dealer_failure(message: str) -> Response:
    return Response(200, orjson.dumps({"status": "FAILURE", "error": message, "dealer": []}), _JSON)


def cdn_error_page(status: int = 200) -> Response:
    """What the CDN answers when the origin is unhappy: HTML, whatever was asked for."""
    body = (
        "<!DOCTYPE html><html><head><title>Access Denied</title></head><body>"
        "<h1>Access Denied</h1><p>You don't have permission to access this resource on this "
        "server.</p><p>Reference #18.4f2c1702.1763912040.2b1d9e7</p></body></html>"
    )
    return Response(status, body.encode(), "text/html")


def too_many_requests(retry_after: str | None = None) -> Response:
    """A rate limiter's 429, with `Retry-After` when given."""
    headers = [("Retry-After", retry_after)] if retry_after is not None else []
    return Response(429, b"Too Many Requests", "text/plain", headers)


def plain_error(status: int, message: str) -> Response:
    return Response(status, orjson.dumps({"error": message}), "application/json")
