"""Ground truth: exactly what a fault-free crawl of one (seed, date, scope, zip, radius) returns.

Computed through the same `World` as the server, so every vehicle's `json` is byte for byte the
object the server puts on the page `page` of its model-year code (at `page_size` a page).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import polars as pl

from ai_stellantis.settings import DEFAULT_PAGE_SIZE
from standin.stellantis.sites.catalog import BRANDS, BY_DOMAIN
from standin.stellantis.sites.geo import centroid
from standin.stellantis.sites.world import World

VEHICLE_SCHEMA = {
    "domain": pl.String,
    "modelYearCode": pl.String,
    "vin": pl.String,
    "dealerCode": pl.String,
    "page": pl.Int64,
    "position": pl.Int64,
    "price": pl.Int64,
    "json": pl.String,
}


@dataclass(slots=True)
class GroundTruth:
    """Every vehicle, dealer and model-year code a search returns, per brand."""

    seed: int
    date: dt.date
    scope: str
    zip: str
    radius: float
    page_size: int
    vehicles: pl.DataFrame = field(repr=False)
    dealers: pl.DataFrame = field(repr=False)
    codes: pl.DataFrame = field(repr=False)

    def write(self, out_dir: Path | str) -> list[Path]:
        """`vehicles.parquet`, `dealers.parquet`, `codes.parquet` and `meta.json` in `out_dir`."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        files = []
        for name, frame in (
            ("vehicles", self.vehicles),
            ("dealers", self.dealers),
            ("codes", self.codes),
        ):
            path = out / f"{name}.parquet"
            frame.write_parquet(path)
            files.append(path)
        meta = {
            "seed": self.seed,
            "date": self.date.isoformat(),
            "scope": self.scope,
            "zip": self.zip,
            "radius": self.radius,
            "page_size": self.page_size,
            "vehicles": self.vehicles.height,
            "dealers": self.dealers.height,
            "codes": self.codes.height,
        }
        (out / "meta.json").write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2))
        return [*files, out / "meta.json"]


def ground_truth(
    seed: int,
    date: dt.date | str,
    scope: str,
    zip: str = "66952",
    radius: float = 5000,
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
    brands: Iterable[str] | None = None,
    world: World | None = None,
) -> GroundTruth:
    """What the server serves for this search; `brands` limits it to some domains."""
    day = dt.date.fromisoformat(date) if isinstance(date, str) else date
    point = centroid(zip)
    if point is None:
        raise ValueError(f"zip {zip!r} is not one the simulated sites know")
    world = world or World(seed, scope)
    domains = list(brands) if brands is not None else [b.domain for b in BRANDS]
    vehicles, dealers, codes = [], [], []
    for domain in domains:
        brand = BY_DOMAIN[domain]
        search = world.search(world.brand_day(domain, day), point[0], point[1], radius)
        starts = pl.DataFrame(
            {"code": list(search.spans), "start": [s for s, _ in search.spans.values()]},
            schema={"code": pl.String, "start": pl.Int64},
        )
        with_dealers = search.frame.join(world.dealer_table, on="dealer_idx", how="left")
        vehicles.append(
            with_dealers.join(starts, on="code", how="left").select(
                domain=pl.lit(domain),
                modelYearCode=pl.col("code"),
                vin=pl.col("vin"),
                dealerCode=pl.col("dealerCode"),
                page=(pl.col("position").cast(pl.Int64) - pl.col("start")) // page_size + 1,
                position=pl.col("position").cast(pl.Int64),
                price=pl.col("price").cast(pl.Int64),
                json=pl.concat_str(["head", "dist_json", "tail"]),
            )
        )
        dealers.append(
            pl.DataFrame(
                {
                    "domain": [domain] * len(search.dealers),
                    "dealerCode": [d.code for d, _ in search.dealers],
                    "dealerName": [d.name for d, _ in search.dealers],
                    "dealerCity": [d.city for d, _ in search.dealers],
                    "dealerState": [d.state for d, _ in search.dealers],
                    "dealerZipCode": [d.zip_code for d, _ in search.dealers],
                    "lat": [d.lat for d, _ in search.dealers],
                    "lon": [d.lon for d, _ in search.dealers],
                    "distance": [m for _, m in search.dealers],
                    "json": [world.locator_json[d.index] for d, _ in search.dealers],
                },
                schema_overrides={"lat": pl.Float64, "lon": pl.Float64, "distance": pl.Float64},
            )
        )
        codes.append(
            pl.DataFrame(
                {
                    "domain": [domain] * len(search.codes),
                    "code": [c.code for c in search.codes],
                    "year": [c.year for c in search.codes],
                    "vehicleLine": [c.line for c in search.codes],
                    "label": [f"{c.year} {brand.name} {c.line}" for c in search.codes],
                    "count": [c.count for c in search.codes],
                    "pages": [-(-c.count // page_size) for c in search.codes],
                },
                schema_overrides={"year": pl.Int64, "count": pl.Int64, "pages": pl.Int64},
            )
        )
    return GroundTruth(
        seed,
        day,
        scope,
        zip,
        float(radius),
        page_size,
        pl.concat(vehicles) if vehicles else pl.DataFrame(schema=VEHICLE_SCHEMA),
        pl.concat(dealers, how="vertical_relaxed") if dealers else pl.DataFrame(),
        pl.concat(codes) if codes else pl.DataFrame(),
    )
