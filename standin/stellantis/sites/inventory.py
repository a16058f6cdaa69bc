"""A brand's vehicles on one day, generated column-wise from integer ids.

Vehicles of a brand arrive at a steady rate; the vehicle with local id `arrival * stride + j` is
the j-th arrival of its arrival day. Each has a hash-derived lifetime and is active on day d iff
`arrival <= d < arrival + lifetime`, so consecutive days share most vehicles, and arrivals and
sales (about 1.7 % each a day) are visible. Prices drop in steps as a vehicle ages. Everything is
column arithmetic on Polars series of ids: no Python loop over vehicles.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import polars as pl

from standin.stellantis.sites.catalog import BrandSpec, Scope
from standin.stellantis.sites.hashing import key, uniform_series

EPOCH = dt.date(2020, 1, 1)
_EPOCH_UNIX_DAYS = (EPOCH - dt.date(1970, 1, 1)).days
LIFE_MIN, LIFE_SCALE, LIFE_MAX = 5, 55.0, 240
"""Lifetime in days: LIFE_MIN plus an exponential tail of scale LIFE_SCALE, capped at LIFE_MAX."""

# Stream numbers of the per-vehicle draws; any distinct small integers do.
S_LIFE, S_VARIANT, S_PAINT, S_INT, S_DEALER, S_MY, S_OLD = 1, 2, 3, 4, 5, 6, 7
S_PERIOD, S_PHASE, S_BASE, S_DEMO, S_MILES, S_TIME = 8, 9, 10, 11, 12, 13
S_PKG, S_OPT, S_QUIRK = 20, 30, 40
S_DAY_COUNT, S_DAY_ROUND = 60, 61
N_PACKAGES, N_OPTIONS = 6, 5


def day_number(day: dt.date) -> int:
    """Days since the simulation epoch."""
    return (day - EPOCH).days


def mean_lifetime() -> float:
    """Expected lifetime in days of the capped distribution above."""
    return LIFE_MIN + sum(math.exp(-k / LIFE_SCALE) for k in range(1, LIFE_MAX - LIFE_MIN + 1))


@dataclass(frozen=True, slots=True)
class Flow:
    """How many vehicles of a brand arrive a day, and the id stride that keeps ids unique."""

    rate: float
    stride: int

    @classmethod
    def of(cls, brand: BrandSpec, scope: Scope) -> Flow:
        rate = scope.vehicles(brand) / mean_lifetime()
        return cls(rate, math.ceil(rate * 1.2) + 2)


def salt(seed: int, brand: BrandSpec, stream: int) -> int:
    return key(seed, brand.index, stream)


def draw(seed: int, brand: BrandSpec, stream: int, ids: pl.Series) -> pl.Series:
    """A uniform draw in [0, 1) per id from stream `stream`."""
    return uniform_series(ids, salt(seed, brand, stream))


def pick(cumulative: pl.Series, draws: pl.Series) -> pl.Series:
    """Index of the bucket each draw in [0, 1) falls into, given cumulative weights ending at 1."""
    idx = cumulative.search_sorted(draws, side="right").cast(pl.Int64)
    return idx.clip(upper_bound=len(cumulative) - 1)


def active_ids(seed: int, brand: BrandSpec, scope: Scope, day: int) -> pl.DataFrame:
    """`local_id`, `gid`, `arrival` and `age` of every vehicle active on day number `day`."""
    flow = Flow.of(brand, scope)
    days = pl.int_range(day - LIFE_MAX + 1, day + 1, eager=True).alias("arrival")
    noise = draw(seed, brand, S_DAY_COUNT, days)
    rounding = draw(seed, brand, S_DAY_ROUND, days)
    counts = (flow.rate * (0.8 + 0.4 * noise) + rounding).floor().cast(pl.Int64)
    candidates = (
        pl.DataFrame({"arrival": days, "n": counts})
        .with_columns(j=pl.int_ranges(0, pl.col("n")))
        .explode("j")
        .drop_nulls("j")
        .select("arrival", local_id=pl.col("arrival") * flow.stride + pl.col("j"))
    )
    life_draw = draw(seed, brand, S_LIFE, candidates["local_id"])
    lifetime = (LIFE_MIN + (-LIFE_SCALE * (1.0 - life_draw).log()).floor()).clip(
        upper_bound=LIFE_MAX
    )
    return candidates.filter(pl.col("arrival") + lifetime > day).select(
        "local_id",
        "arrival",
        gid=pl.col("local_id") * 8 + brand.index,
        age=day - pl.col("arrival"),
    )


def date_expr(day_numbers: pl.Expr) -> pl.Expr:
    """Day numbers as Polars dates."""
    return (day_numbers + _EPOCH_UNIX_DAYS).cast(pl.Int32).cast(pl.Date)


def vehicle_draws(
    seed: int,
    brand: BrandSpec,
    ids: pl.DataFrame,
    variant_cum: pl.Series,
    dealer_cum: pl.Series,
    dealer_idx: pl.Series,
) -> pl.DataFrame:
    """The active vehicles with every per-vehicle choice made: variant, dealer, colours, prices."""
    n_paints, n_ints = len(brand.paints), len(brand.interiors)
    lid = ids["local_id"]

    def d(stream: int) -> pl.Series:
        return draw(seed, brand, stream, lid)

    frame = ids.with_columns(
        u_variant=d(S_VARIANT),
        u_dealer=d(S_DEALER),
        paint_idx=(d(S_PAINT) * n_paints).floor().cast(pl.Int64),
        int_idx=(d(S_INT) * n_ints).floor().cast(pl.Int64),
        my_offset=(d(S_MY) * 120).floor().cast(pl.Int64),
        leftover=d(S_OLD) < 0.08,
        period=10 + (d(S_PERIOD) * 21).floor().cast(pl.Int64),
        phase_draw=d(S_PHASE),
        base_pct=(d(S_BASE) * 4).floor().cast(pl.Int64),
        is_demo=d(S_DEMO) < 0.03,
        u_miles=d(S_MILES),
        u_time=d(S_TIME),
        **{f"pkg{i}": d(S_PKG + i) < 0.3 for i in range(N_PACKAGES)},
        **{f"opt{i}": d(S_OPT + i) < 0.4 for i in range(N_OPTIONS)},
        **{f"q{i}": d(S_QUIRK + i) for i in range(12)},
    )
    return frame.with_columns(
        v_idx=pick(variant_cum, frame["u_variant"]),
        dealer_idx=dealer_idx.gather(pick(dealer_cum, frame["u_dealer"])),
        phase=(pl.col("phase_draw") * pl.col("period")).floor().cast(pl.Int64),
        # Model year follows the build date, about five months after arrival; a few are
        # leftovers of the year before.
        model_year=(
            date_expr(pl.col("arrival") + 90 + pl.col("my_offset")).dt.year()
            - pl.col("leftover").cast(pl.Int32)
        ).cast(pl.Int32),
    ).drop("u_variant", "u_dealer", "phase_draw", "my_offset", "leftover")
