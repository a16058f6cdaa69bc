"""The three public endpoints: parameters in, contract-shaped answers out.

Bad parameters (an unknown zip, a malformed model-year code) get the contract's FAILURE answer,
as the real sites give, never an HTTP error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from standin.stellantis.sites import responses
from standin.stellantis.sites.cache import DayCache, SearchKey
from standin.stellantis.sites.catalog import BY_LETTER, BrandSpec
from standin.stellantis.sites.geo import centroid
from standin.stellantis.sites.protocol import Response
from standin.stellantis.sites.world import Search

INVENTORY_PATH = "/hostd/inventory/getinventoryresults.json"
FILTERS_PATH = "/hostd/inventory/getinventoryfilters.json"
DEALERS_PATH = "/bdlws/MDLSDealerLocator"
IMAGE_PATH = "/mediaserver/iris"
PATHS = {INVENTORY_PATH: "inventory", FILTERS_PATH: "filters", DEALERS_PATH: "dealers"}
_CODE = re.compile(r"^[A-Z]{2}[A-Z]\d{6}$")


class ParamError(Exception):
    """A request parameter the sites would refuse; answered with a FAILURE payload."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _int(query: Mapping[str, str], name: str, default: int, low: int = 1) -> int:
    raw = query.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ParamError("INVALID_PARAMETER", f"{name}={raw!r} is not a whole number") from None
    if value < low:
        raise ParamError("INVALID_PARAMETER", f"{name}={value} must be at least {low}")
    return value


def search_key(brand: BrandSpec, query: Mapping[str, str], zip_name: str) -> SearchKey:
    """The (domain, lat, lon, radius) a request asks about, or a ParamError."""
    zip_code = query.get(zip_name, "")
    point = centroid(zip_code)
    if point is None:
        raise ParamError("INVALID_ZIP", f"{zip_name}={zip_code!r} is not a known US zip code")
    raw = query.get("radius", "")
    try:
        radius = float(raw)
    except ValueError:
        raise ParamError("INVALID_RADIUS", f"radius={raw!r} is not a number of miles") from None
    if not 0 < radius <= 100_000:
        raise ParamError("INVALID_RADIUS", f"radius={raw!r} must be between 0 and 100000 miles")
    return (brand.domain, point[0], point[1], radius)


def model_year_code(brand: BrandSpec, query: Mapping[str, str]) -> str | None:
    """The requested code, None when absent (all codes), or a ParamError when malformed."""
    code = query.get("modelYearCode", "")
    if code == "":
        return None
    known = {line.myc + line.myc_suffix for line in brand.lines}
    if not _CODE.match(code) or code[2] != brand.code_letter or code[:2] + code[7:] not in known:
        raise ParamError(
            "INVALID_MODEL_YEAR_CODE",
            f"modelYearCode={code!r} is not a {brand.name} model-year code",
        )
    return code


def target(endpoint: str, query: Mapping[str, str]) -> tuple[str | None, int]:
    """Code and page a request aims at, read leniently, for fault targeting only."""
    page_name = {"inventory": "pageNumber", "dealers": "resultsPage"}.get(endpoint)
    try:
        page = int(query.get(page_name, "1") or 1) if page_name else 1
    except ValueError:
        page = 1
    return (query.get("modelYearCode") or None) if endpoint == "inventory" else None, page


def _page_window(search: Search, code: str | None, page: int, size: int) -> tuple[int, int]:
    start, end = search.span(code)
    first = start + (page - 1) * size
    return min(first, end), min(first + size, end)


async def inventory(
    cache: DayCache,
    brand: BrandSpec,
    query: Mapping[str, str],
    fault: str | None,
    nudge: int,
    max_page_size: int,
) -> tuple[Response, bool, int]:
    """One page of vehicles, at most `max_page_size` of them whatever `pageSize` asks; applies
    `drift` (total off by `nudge`), `repeat` and `skip`.

    Returns the answer, whether the fault was applied, and the number of vehicles served.
    """
    key = search_key(brand, query, "zip")
    code = model_year_code(brand, query)
    page = _int(query, "pageNumber", 1)
    size = min(_int(query, "pageSize", 50), max_page_size)
    search = await cache.search(key)
    start, end = _page_window(search, code, page, size)
    vehicles = search.vehicles_json(start, end)
    span_start, span_end = search.span(code)
    total = span_end - span_start
    applied = False
    if fault == "drift":
        total = max(0, total + nudge)
        applied = True
    elif fault == "repeat" and vehicles:
        # A vehicle that moved between pages while the client paged: seen twice.
        if start > span_start:
            vehicles = search.vehicles_json(start - 1, start) + vehicles
        elif end < span_end:
            vehicles = vehicles + search.vehicles_json(end, end + 1)
        else:
            vehicles = vehicles + vehicles[-1:]
        applied = True
    elif fault == "skip" and start > span_start:
        # A vehicle ahead of the page left while the client paged: the page starts one later
        # and the total is one less, so its first vehicle is on no page of this pass.
        vehicles = search.vehicles_json(start + 1, min(end + 1, span_end))
        total -= 1
        applied = True
    spelling = cache.world.total_count_key(search.day, brand.domain, code, page)
    return responses.inventory_page(spelling, total, vehicles), applied, len(vehicles)


async def filters(cache: DayCache, brand: BrandSpec, query: Mapping[str, str]) -> Response:
    """The model-year codes with vehicles within the radius today."""
    search = await cache.search(search_key(brand, query, "zip"))
    return responses.model_year_codes(brand, search.codes)


async def dealers(
    cache: DayCache, brand: BrandSpec, query: Mapping[str, str], max_page_size: int
) -> Response:
    """The brand's dealers within the radius, nearest first, at most `max_page_size` a page."""
    letter = query.get("brandCode", brand.letter) or brand.letter
    if letter != brand.letter:
        known = BY_LETTER.get(letter)
        detail = f"the brand of {known.domain}" if known else "not a brand code"
        raise ParamError("INVALID_BRAND", f"brandCode={letter!r} is {detail}, not {brand.name}")
    search = await cache.search(search_key(brand, query, "zipCode"))
    page = _int(query, "resultsPage", 1)
    size = min(_int(query, "resultsPerPage", max_page_size), max_page_size)
    chosen = search.dealers[(page - 1) * size : page * size]
    locator = cache.world.locator_json
    return responses.dealer_list([locator[d.index] for d, _ in chosen])
