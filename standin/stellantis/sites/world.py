"""The simulated market of one (seed, scope): its dealers, each brand's day, and radius searches.

`World.brand_day` renders every vehicle a brand has on a day (seconds nationally); `World.search`
answers one (zip, radius) with the vehicles in served order, the model-year codes with counts and
the dealers. The server and the ground truth both go through here, so they cannot disagree.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass, field

import polars as pl

from standin.stellantis.sites.blocks import BrandTables
from standin.stellantis.sites.catalog import BY_DOMAIN, SCOPES, BrandSpec
from standin.stellantis.sites.dealers import Dealer, build_dealers, dealer_frame
from standin.stellantis.sites.geo import haversine_miles
from standin.stellantis.sites.hashing import uniform
from standin.stellantis.sites.incentives import incentive_frame
from standin.stellantis.sites.inventory import active_ids, day_number, vehicle_draws
from standin.stellantis.sites.render import render_vehicles

TOTALCOUNT_CODE_RATE = 0.1
TOTALCOUNT_PAGE_RATE = 0.02
"""Shares of (day, code) and of single pages whose metadata spells `totalCount`."""


@dataclass(frozen=True, slots=True)
class CodeInfo:
    code: str
    year: int
    line: str
    line_idx: int
    count: int


@dataclass(slots=True)
class Search:
    """One brand's answer to a (zip, radius) on one day, in served order.

    `frame` holds one row per vehicle within the radius, ordered by code then VIN, with the
    vehicle's JSON in three pieces (`head`, `dist_json`, `tail`).
    """

    brand: BrandSpec
    day: dt.date
    spans: dict[str, tuple[int, int]]
    codes: list[CodeInfo]
    dealers: list[tuple[Dealer, float]]
    frame: pl.DataFrame = field(repr=False)

    @property
    def total(self) -> int:
        return self.frame.height

    def span(self, code: str | None) -> tuple[int, int]:
        """Start and end positions of one code's vehicles (all vehicles for None)."""
        if code is None:
            return 0, self.frame.height
        return self.spans.get(code, (0, 0))

    def vehicles_json(self, start: int, end: int) -> list[str]:
        """The served JSON of the vehicles at positions [start, end)."""
        if end <= start:
            return []
        part = self.frame.slice(start, end - start)
        heads = part.get_column("head").to_list()
        dists = part.get_column("dist_json").to_list()
        tails = part.get_column("tail").to_list()
        return [h + d + t for h, d, t in zip(heads, dists, tails, strict=True)]


@dataclass(slots=True)
class BrandDay:
    """Every vehicle of a brand on a day, rendered in two halves around `distance`."""

    brand: BrandSpec
    day: dt.date
    frame: pl.DataFrame


class World:
    """Static pieces of a (seed, scope), built once: dealers and per-brand lookup tables."""

    def __init__(self, seed: int, scope: str) -> None:
        if scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}; known: {', '.join(SCOPES)}")
        self.seed = seed
        self.scope = SCOPES[scope]
        self.dealers = build_dealers(seed, scope)
        self.dealer_table = dealer_frame(self.dealers, seed)
        self.locator_json: list[str] = self.dealer_table["locator"].to_list()
        self._tables = {d: BrandTables.build(b) for d, b in BY_DOMAIN.items()}

    def dealers_of(self, brand: BrandSpec) -> list[Dealer]:
        return [d for d in self.dealers if brand.letter in d.brands]

    def brand_day(self, domain: str, day: dt.date) -> BrandDay:
        """Render every vehicle of the brand active on `day`."""
        brand = BY_DOMAIN[domain]
        tables = self._tables[domain]
        sellers = self.dealer_table.filter(pl.col("brands").str.contains(brand.letter))
        weights = sellers["weight"]
        draws = vehicle_draws(
            self.seed,
            brand,
            active_ids(self.seed, brand, self.scope, day_number(day)),
            tables.variants["v_cum"],
            weights.cum_sum() / weights.sum(),
            sellers["dealer_idx"],
        )
        incentives = incentive_frame(self.seed, brand, day)
        rendered = render_vehicles(
            self.seed, brand, day, draws, tables, incentives, self.dealer_table
        )
        return BrandDay(brand, day, rendered)

    def search(self, brand_day: BrandDay, lat: float, lon: float, radius: float) -> Search:
        """The brand's dealers within `radius` miles and their vehicles, in served order.

        Order is stable for a day: codes by name, vehicles by VIN within a code; dealers by
        distance, then code.
        """
        brand = brand_day.brand
        near = []
        for dealer in self.dealers_of(brand):
            miles = haversine_miles(lat, lon, dealer.lat, dealer.lon)
            if miles <= radius:
                near.append((dealer, round(miles, 2)))
        near.sort(key=lambda item: (item[1], item[0].code))
        dist = pl.DataFrame(
            {
                "dealer_idx": [d.index for d, _ in near],
                "distance": [m for _, m in near],
                "dist_json": [f'"distance":{m!r}' for _, m in near],
            },
            schema={"dealer_idx": pl.Int64, "distance": pl.Float64, "dist_json": pl.String},
        )
        served = (
            brand_day.frame.join(dist, on="dealer_idx", how="inner")
            .sort(["code", "vin"])
            .with_row_index("position")
            .rechunk()
        )
        spans: dict[str, tuple[int, int]] = {}
        codes: list[CodeInfo] = []
        line_order = {line.name: i for i, line in enumerate(brand.lines)}
        grouped = served.group_by("code", maintain_order=True).agg(
            start=pl.col("position").min(),
            end=pl.col("position").max() + 1,
            year=pl.col("model_year").first(),
            line=pl.col("line_name").first(),
        )
        for rec in grouped.iter_rows(named=True):
            spans[rec["code"]] = (rec["start"], rec["end"])
            codes.append(
                CodeInfo(
                    rec["code"],
                    rec["year"],
                    rec["line"],
                    line_order[rec["line"]],
                    rec["end"] - rec["start"],
                )
            )
        codes.sort(key=lambda c: (c.line_idx, c.year, c.code))
        return Search(brand, brand_day.day, spans, codes, near, served)

    def total_count_key(self, day: dt.date, domain: str, code: str | None, page: int) -> str:
        """How the page's metadata spells the total: `totalcount`, or `totalCount` on some."""
        brand = BY_DOMAIN[domain]
        code_key = zlib.crc32((code or "").encode())
        dn = day_number(day)
        if uniform(self.seed, dn, brand.index, code_key, 90) < TOTALCOUNT_CODE_RATE:
            return "totalCount"
        if uniform(self.seed, dn, brand.index, code_key, page, 91) < TOTALCOUNT_PAGE_RATE:
            return "totalCount"
        return "totalcount"
