"""Vehicle JSON, rendered column-wise with string expressions.

Each vehicle's JSON is built as two strings, `head` (up to and including the dealer fields) and
`tail` (everything after `distance`); the server puts the request-specific `"distance":…` between
them. Documented quirks are applied per vehicle from its hash draws `q0…q11`, so they are stable:
money as `"$52,345"` strings, flags as booleans or missing, empty strings, null nested objects,
and on some days a few vehicles whose `brand` names another maker.

Everything shared by many vehicles comes pre-rendered from `blocks`, so each half is one flat
concatenation of a few dozen pieces.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from standin.stellantis.sites.blocks import COMBO_KEYS, BrandTables, combo_frame
from standin.stellantis.sites.catalog import MISLABELLED_PER_DAY, OTHER_MAKERS, BrandSpec
from standin.stellantis.sites.hashing import key, uniform, uniform_series
from standin.stellantis.sites.inventory import EPOCH, N_OPTIONS, N_PACKAGES, day_number
from standin.stellantis.sites.variants import json_text
from standin.stellantis.sites.vin import vin_expr

MISLABEL_DAY_RATE = 0.4
"""Share of days on which a few vehicles carry another maker's name."""


def mislabels_on(seed: int, day: dt.date) -> bool:
    """Whether `day` is one on which a few vehicles name another maker as their brand."""
    return uniform(seed, day_number(day), 77) < MISLABEL_DAY_RATE


def _s(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String)


def money_json(amount: pl.Expr) -> pl.Expr:
    """A whole-dollar amount as the JSON string `"$52,345"` (null stays null)."""
    thousands = _s(amount // 1000)
    units = _s(amount % 1000)
    return (
        pl.when(amount >= 1000)
        .then(
            pl.concat_str([pl.lit('"$'), thousands, pl.lit(","), units.str.zfill(3), pl.lit('"')])
        )
        .otherwise(pl.concat_str([pl.lit('"$'), units, pl.lit('"')]))
    )


def _price(amounts: list[tuple[str, pl.Expr]], money: bool) -> pl.Expr:
    """The `price` member, as JSON numbers or (`money`) as dollar strings."""
    pieces: list[pl.Expr] = []
    for i, (name, value) in enumerate(amounts):
        pieces += [
            pl.lit(('{"' if i == 0 else ',"') + name + '":'),
            money_json(value) if money else _s(value),
        ]
    return pl.concat_str([pl.lit(',"price":'), *pieces, pl.lit("}")])


def render_vehicles(
    seed: int,
    brand: BrandSpec,
    day: dt.date,
    draws: pl.DataFrame,
    tables: BrandTables,
    incentives: pl.DataFrame,
    dealers: pl.DataFrame,
) -> pl.DataFrame:
    """Columns `vin`, `code`, `dealer_idx`, `head`, `tail` (and a few more), one per vehicle."""
    dn = day_number(day)
    combos = combo_frame(
        brand, draws.select(COMBO_KEYS).unique(), tables.variants, tables.paints, tables.interiors
    )
    q = [pl.col(f"q{i}") for i in range(12)]
    as_text = q[0] < 0.15
    pkg_mask = sum(pl.col(f"pkg{i}").cast(pl.Int64) * 2**i for i in range(N_PACKAGES))
    opt_mask = sum(
        pl.col(f"opt{j}").cast(pl.Int64) * 2 ** (N_PACKAGES + j) for j in range(N_OPTIONS)
    )
    pkg_total = sum(pl.col(f"pkg{i}").cast(pl.Int64) * p.msrp for i, p in enumerate(brand.packages))
    frame = (
        draws.join(combos, on=COMBO_KEYS, how="left")
        .join(incentives, on=["line_idx", "model_year"], how="left")
        .join(dealers.select("dealer_idx", "d_head", "d_tail"), on="dealer_idx", how="left")
        .with_columns(
            opt_mask=pkg_mask + opt_mask,
            pkg_mask=pkg_mask + as_text.cast(pl.Int64) * 64,
            msrp=pl.col("price_base") + pkg_total + brand.destination,
            n_drops=(pl.col("age") + pl.col("phase")) // pl.col("period"),
            incentive_total=pl.col("incentive_total").fill_null(0),
        )
        .join(tables.options, on="opt_mask", how="left")
        .join(tables.packages, on="pkg_mask", how="left")
        .with_columns(
            discount_pct=(pl.col("base_pct") + pl.col("n_drops")).clip(upper_bound=15),
            changed_on=pl.col("arrival")
            + (pl.col("n_drops") * pl.col("period") - pl.col("phase")).clip(lower_bound=0),
            minute_of_day=360 + (pl.col("u_time") * 960).floor().cast(pl.Int64),
        )
        .with_columns(
            vin=vin_expr(),
            discounted=pl.col("msrp") - (pl.col("msrp") * pl.col("discount_pct") // 500) * 5,
        )
    )

    # Brand name: on an affected day a handful of vehicles carry another maker's name.
    n_wrong = MISLABELLED_PER_DAY.get(brand.domain, 0)
    brand_json: pl.Expr = pl.lit(f'"brand":"{json_text(brand.name)}"')
    if n_wrong and mislabels_on(seed, day):
        order = uniform_series(frame["gid"], key(seed, dn, 78)).rank("ordinal")
        wrong = pl.lit(order) <= n_wrong
        maker = ((pl.col("gid") + dn) % len(OTHER_MAKERS)).replace_strict(
            {i: f'"brand":"{m}"' for i, m in enumerate(OTHER_MAKERS)}, return_dtype=pl.String
        )
        brand_json = pl.when(wrong).then(maker).otherwise(brand_json)

    dates = {d: (EPOCH + dt.timedelta(days=d)).isoformat() for d in frame["changed_on"].unique()}
    times = {m: f"T{m // 60:02d}:{m % 60:02d}:00Z" for m in range(360, 1320)}
    in_transit = pl.col("age") < 5
    miles = _s(
        pl.when(pl.col("is_demo"))
        .then(1000 + (pl.col("u_miles") * 4000).floor())
        .otherwise((pl.col("u_miles") * 30).floor())
        .cast(pl.Int64)
    )
    amounts = [
        ("msrp", pl.col("msrp")),
        ("netPrice", pl.col("discounted") - pl.col("incentive_total")),
        ("employeePrice", pl.col("msrp") - pl.col("msrp") * 4 // 100),
        ("destination", pl.lit(brand.destination, pl.Int64)),
        ("discountedPrice", pl.col("discounted")),
        ("totalIncentives", pl.col("incentive_total")),
    ]
    # Dollar strings are rendered for the few vehicles that show them only: `when` would
    # render both forms for every row.
    texts = frame.filter(as_text).select("gid", price_text=_price(amounts, money=True))
    frame = frame.join(texts, on="gid", how="left")
    price = (
        pl.when(q[1] < 0.003)
        .then(pl.lit(',"price":null'))
        .when(as_text)
        .then(pl.col("price_text"))
        .otherwise(_price(amounts, money=False))
    )
    demo = pl.col("is_demo")
    head = [
        pl.lit('{"vin":"'),
        pl.col("vin"),
        pl.lit('",'),
        brand_json,
        pl.col("b_year"),
        pl.when(q[3] < 0.05)
        .then(pl.lit('","assumedModelYearCode":""'))
        .otherwise(pl.col("b_assumed")),
        pl.col("b_ccode"),
        pl.lit(',"llp":"'),
        _s(pl.col("discounted") * 165 // 10_000),
        pl.when(in_transit)
        .then(pl.lit('","statusCode":"KZP",'))
        .otherwise(pl.lit('","statusCode":"KZX",')),
        pl.col("d_head"),
        pl.lit(","),
    ]
    tail = [
        pl.col("d_tail"),
        pl.col("b_desc"),
        pl.when(q[4] < 0.01).then(pl.lit(',"trimDesc":null')).otherwise(pl.col("b_trim")),
        pl.when(q[5] < 0.04).then(pl.lit(',"interiorFabric":""')).otherwise(pl.col("b_fabric")),
        pl.col("b_options"),
        pl.col("b_opt_tail"),
        pl.col("b_packages"),
        pl.col("b_pkg_tail"),
        price,
        pl.when(q[2] < 0.05)
        .then(pl.lit(',"incentives":null'))
        .when(as_text)
        .then(pl.col("inc_txt").fill_null(',"incentives":[]'))
        .otherwise(pl.col("inc_num").fill_null(',"incentives":[]')),
        pl.when(q[6] < 0.01).then(pl.lit(',"attributes":null')).otherwise(pl.col("b_attrs")),
        pl.col("b_images"),
        pl.when(q[7] < 0.03).then(pl.lit(',"mackevisionData":null')).otherwise(pl.col("b_mack")),
        pl.when(in_transit)
        .then(pl.lit(',"inventoryStatus":"In Transit"'))
        .otherwise(pl.lit(',"inventoryStatus":"In Stock"')),
        pl.when(q[8] < 0.02)
        .then(pl.lit(',"stockNumber":""'))
        .otherwise(
            pl.concat_str(
                [
                    pl.lit(',"stockNumber":"'),
                    pl.col("trim_letter"),
                    _s(pl.col("model_year") % 100),
                    _s(pl.col("gid") % 10_000).str.zfill(4),
                    pl.lit('"'),
                ]
            )
        ),
        # Flags: mostly "Y"/"N", sometimes booleans, sometimes absent.
        pl.when(q[9] < 0.03)
        .then(pl.lit(""))
        .when(q[9] < 0.08)
        .then(pl.when(demo).then(pl.lit(',"isDemo":true')).otherwise(pl.lit(',"isDemo":false')))
        .otherwise(pl.when(demo).then(pl.lit(',"isDemo":"Y"')).otherwise(pl.lit(',"isDemo":"N"'))),
        pl.lit(',"mileage":'),
        pl.when(q[10] < 0.05)
        .then(pl.concat_str([pl.lit('"'), miles, pl.lit('"')]))
        .otherwise(miles),
        pl.lit(',"daysInInventory":'),
        _s(pl.col("age")),
        pl.lit(',"lastUpdated":"'),
        pl.col("changed_on").replace_strict(dates, return_dtype=pl.String),
        pl.col("minute_of_day").replace_strict(times, return_dtype=pl.String),
        pl.lit('"}'),
    ]
    return frame.select(
        "vin",
        "code",
        "dealer_idx",
        "model_year",
        "line_name",
        price=pl.col("discounted"),
        head=pl.concat_str(head),
        tail=pl.concat_str(tail),
    )
