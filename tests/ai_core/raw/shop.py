"""A toy paged source for the raw tier: a shop's item catalogue served over real HTTP on loopback.

`ShopServer` answers `GET /items?category=C&page=N&size=S` with
`{"total": T, "items": [{"sku": ...}, ...]}`, from a catalogue of categories it is given, and can
be told to answer one page with 503 every time, to serve fewer items a page than asked
(`max_size`), as servers that cap the page size do, or to report totals above its items
(`drift`), as a catalogue that shrank while it was paged does, to sell an item as a page is
answered (`sells`), which shifts the later pages, to stall a page (`stalling`), to ignore the
page number (`ignores_page`), to serve some items without their SKU (`unkeyed`), to answer a
page once with no items (`empty_once`), or to refuse pages past its items (`past_end_status`).
`ShopCategory` is that endpoint as a `PagedSubResource` (read as a whole list, without its total,
when `whole`), and `ShopRawSource` the raw component a shop's YAML instantiates.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import dagster as dg
import orjson
import polars as pl

from ai_core.http.config import HttpClientConfig
from ai_core.http.errors import RetryableResponse
from ai_core.raw.component import RawSourceComponent
from ai_core.raw.paging import PageContent, PagedSubResource

CATALOGUE = {"bolts": 7, "nuts": 3, "washers": 0}
STALL_S = 3.0
"""Items per category: 7 bolts are three pages of three, 3 nuts exactly one full page."""


def skus(category: str, count: int) -> list[str]:
    return [f"{category}-{i:03d}" for i in range(1, count + 1)]


@dataclass
class ShopServer:
    """The shop on a free loopback port; `failing` holds (category, page) pairs that answer 503."""

    catalogue: Mapping[str, int]
    failing: set[tuple[str, int]] = field(default_factory=set)
    max_size: int | None = None
    drift: int = 0
    sells: dict[tuple[str, int], str] = field(default_factory=dict)
    """(category, page) → the SKU that leaves the catalogue once that page is first answered."""
    requests: list[tuple[str, int]] = field(default_factory=list)
    sold: set[str] = field(default_factory=set)
    on_answer: Callable[[str, int], None] | None = None
    """Called with (category, page) as each answer of items is sent."""
    stalling: set[tuple[str, int]] = field(default_factory=set)
    """(category, page) pairs answered only after `STALL_S`."""
    past_end_total: int | None = None
    """The total a page past the last item reports, where it is not the catalogue's."""
    ignores_page: bool = False
    """Every page answered as page 1, as a server that does not page a list does."""
    unkeyed: set[str] = field(default_factory=set)
    """SKUs served without their `sku` field (as `{"name": ...}`)."""
    empty_once: set[tuple[str, int]] = field(default_factory=set)
    """(category, page) pairs answered once with no items, as a glitch would."""
    past_end_status: int | None = None
    """The status a page past the last item answers instead of an empty page, as a search
    backend refusing offsets past its deepest does."""

    def __post_init__(self) -> None:
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                category, page = query.get("category", ""), int(query.get("page", "1"))
                shop.requests.append((category, page))
                page = 1 if shop.ignores_page else page
                if url.path != "/items" or category not in shop.catalogue:
                    self._answer(404, b'{"error": "no such category"}')
                elif (category, page) in shop.failing:
                    self._answer(503, b'{"error": "busy"}')
                else:
                    size = min(int(query.get("size", "3")), shop.max_size or 1_000_000)
                    every = skus(category, shop.catalogue[category])
                    every = [s for s in every if s not in shop.sold]
                    items = [
                        {"name": s} if s in shop.unkeyed else {"sku": s}
                        for s in every[(page - 1) * size : page * size]
                    ]
                    if (category, page) in shop.empty_once:
                        shop.empty_once.discard((category, page))
                        items = []
                    elif not items and page > 1 and shop.past_end_status is not None:
                        self._answer(shop.past_end_status, b'{"error": "offset out of range"}')
                        return
                    total = len(every) + shop.drift
                    if not items and page > 1 and shop.past_end_total is not None:
                        total = shop.past_end_total
                    # Before the answer is sent, so the client's next request sees the sale.
                    if (category, page) in shop.sells:
                        shop.sold.add(shop.sells.pop((category, page)))
                    if shop.on_answer is not None:
                        shop.on_answer(category, page)
                    if (category, page) in shop.stalling:
                        time.sleep(STALL_S)
                    self._answer(200, orjson.dumps({"total": total, "items": items}))

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                # The client may have stopped waiting, as a fetch that fails does.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> ShopServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@dataclass(frozen=True, slots=True)
class ShopCategory:
    """One category of the shop's catalogue, paged by `size`."""

    base_url: str
    category: str
    page_size: int = 3
    max_records: int | None = None
    listed_records: int | None = None
    page_shape: type | None = None
    whole: bool = False
    """Read without the total, as a list that reports none (a dealer locator) is."""
    numbered_pages: bool = True
    """False to read the endpoint as one whose request names no page."""

    @property
    def key(self) -> str:
        return f"shop/{self.category}"

    def request(self, page: int) -> tuple[str, Mapping[str, str | int]]:
        return f"{self.base_url}/items", {
            "category": self.category,
            "page": page,
            "size": self.page_size,
        }

    def label(self, page: int) -> str:
        return f"shop_items page {page} of {self.key}"

    def validate(self, data: Any) -> None:
        if not isinstance(data, dict) or "items" not in data:
            raise RetryableResponse("the answer has no `items`")

    def read(self, data: Any) -> PageContent:
        total = None if self.whole else int(data["total"])
        items = data["items"]
        keys = [str(item["sku"]) for item in items if "sku" in item]
        return PageContent(total, keys, entries=len(items))


def fast_http() -> HttpClientConfig:
    """One quick retry and short bounds, so a page that keeps failing is given up at once."""
    return HttpClientConfig(
        timeout_s=5, page_deadline_s=10, max_retries=1, retry_backoff_s=0.01, workers=4
    )


class ShopRawSource(RawSourceComponent):
    """The shop's item catalogue, one sub-resource per category."""

    base_url: str
    categories: list[str]
    listed: dict[str, int] = {}
    """Items the shop's category list gives each category, where it gives a count."""

    def http_config(self, context: dg.AssetExecutionContext) -> HttpClientConfig:
        return fast_http()

    def plan(
        self, context: dg.AssetExecutionContext, inputs: Mapping[str, pl.LazyFrame]
    ) -> Sequence[PagedSubResource]:
        return [
            ShopCategory(self.base_url, c, listed_records=self.listed.get(c))
            for c in self.categories
        ]


def iter_skus(bodies: Sequence[str]) -> Iterator[str]:
    """The SKUs in stored response bodies, in order."""
    for body in bodies:
        if body:
            yield from (item["sku"] for item in orjson.loads(body)["items"])
