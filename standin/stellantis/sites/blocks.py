"""JSON blocks shared by many vehicles, rendered once per combination instead of per vehicle.

Polars' `concat_str` costs about the same per piece and row whatever the piece's length, so
everything that depends only on (variant, paint, interior, model year) is concatenated once per
combination present (`combo_frame`), and the tails of the `options` and `packages` lists once per
set of chosen extras (`mask_frames`).
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import polars as pl

from standin.stellantis.sites.catalog import BrandSpec
from standin.stellantis.sites.incentives import money_text
from standin.stellantis.sites.inventory import N_OPTIONS, N_PACKAGES
from standin.stellantis.sites.variants import colour_frames, variant_frame

COMBO_KEYS = ["v_idx", "paint_idx", "int_idx", "model_year"]


@dataclass(frozen=True, slots=True)
class BrandTables:
    """Every lookup table of one brand, built once per process."""

    variants: pl.DataFrame
    paints: pl.DataFrame
    interiors: pl.DataFrame
    options: pl.DataFrame
    packages: pl.DataFrame

    @classmethod
    def build(cls, brand: BrandSpec) -> BrandTables:
        paints, interiors = colour_frames(brand)
        options, packages = mask_frames(brand)
        return cls(variant_frame(brand), paints, interiors, options, packages)


def _s(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String)


def combo_frame(
    brand: BrandSpec,
    combos: pl.DataFrame,
    variants: pl.DataFrame,
    paints: pl.DataFrame,
    interiors: pl.DataFrame,
) -> pl.DataFrame:
    """JSON blocks shared by every vehicle of one (variant, paint, interior, model year)."""
    year = _s(pl.col("model_year"))
    code = pl.concat_str([pl.col("myc_head"), year, pl.col("myc_tail")])
    image = [
        pl.lit(f"client=fcaus&market=U&brand={brand.letter}&vehicle="),
        year,
        pl.lit("_"),
        pl.col("family"),
        pl.lit("&paint="),
        pl.col("paint_code"),
        pl.lit("&fabric="),
        pl.col("int_code"),
        pl.lit("&sa="),
        pl.col("model_code"),
        pl.lit(","),
        pl.col("qop"),
        pl.lit(","),
        pl.col("cpp"),
    ]
    return (
        combos.join(variants, on="v_idx", how="left")
        .join(paints, on="paint_idx", how="left")
        .join(interiors, on="int_idx", how="left")
        .with_columns(code=code)
        .select(
            *COMBO_KEYS,
            "code",
            "line_idx",
            "line_name",
            "wmi_vds",
            "vin_static_sum",
            "trim_letter",
            "price_base",
            b_year=pl.concat_str(
                [pl.lit(',"modelYear":"'), year, pl.lit('","modelYearCode":"'), pl.col("code")]
            ),
            b_assumed=pl.concat_str(
                [pl.lit('","assumedModelYearCode":"'), pl.col("code"), pl.lit('"')]
            ),
            b_ccode=pl.concat_str(
                [
                    pl.lit(',"ccode":"'),
                    pl.col("code"),
                    pl.col("model_code"),
                    pl.col("cpp"),
                    pl.col("paint_code"),
                    pl.lit('"'),
                ]
            ),
            b_desc=pl.concat_str(
                [
                    pl.lit(","),
                    pl.col("f_model"),
                    pl.lit(',"vehicleDesc":"'),
                    year,
                    pl.lit(" "),
                    pl.col("desc_tail"),
                    pl.lit('",'),
                    pl.col("f_static"),
                    pl.lit(","),
                    pl.col("f_paint"),
                    pl.lit(","),
                    pl.col("f_int"),
                ]
            ),
            b_trim=pl.concat_str([pl.lit(","), pl.col("f_trim")]),
            b_fabric=pl.concat_str([pl.lit(","), pl.col("f_fabric")]),
            b_options=pl.concat_str(
                [
                    pl.lit(',"options":["'),
                    pl.concat_str(
                        [
                            "cpp",
                            "qop",
                            "paint_code",
                            "int_code",
                            "engine_code",
                            "transmission_code",
                        ],
                        separator='","',
                    ),
                ]
            ),
            b_packages=pl.concat_str(
                [
                    pl.lit(',"packages":[{"code":"'),
                    pl.col("qop"),
                    pl.lit('","desc":"Quick Order Package '),
                    pl.col("qop"),
                    pl.lit('","msrp":0}'),
                ]
            ),
            b_attrs=pl.concat_str([pl.lit(","), pl.col("f_attrs")]),
            b_images=pl.concat_str(
                [
                    pl.lit(',"extImage":"'),
                    *image,
                    pl.lit('","intImage":"'),
                    *image,
                    pl.lit('&pov=I01&width=1024"'),
                ]
            ),
            b_mack=pl.concat_str(
                [
                    pl.lit(',"mackevisionData":{"consumerFamily":"'),
                    pl.col("family"),
                    pl.lit("_"),
                    year,
                    pl.lit('","ulp":"'),
                    pl.col("model_code"),
                    pl.lit("_"),
                    pl.col("paint_code"),
                    pl.lit('"}'),
                ]
            ),
        )
    )


def mask_frames(brand: BrandSpec) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The tails of the `options` and `packages` lists for every set of chosen extras.

    Bit i < N_PACKAGES of a mask is package i, bit N_PACKAGES + j is stand-alone option j; the
    packages table is keyed by package bits + 64 when money is printed as text.
    """
    opt_rows = []
    for mask in range(2 ** (N_PACKAGES + N_OPTIONS)):
        codes = [p.code for i, p in enumerate(brand.packages) if mask >> i & 1]
        codes += [c for j, c in enumerate(brand.options) if mask >> (N_PACKAGES + j) & 1]
        opt_rows.append((mask, "".join(f'","{c}' for c in codes) + '"]'))
    pkg_rows = []
    for as_text in (0, 1):
        for mask in range(2**N_PACKAGES):
            items = [
                orjson.dumps(
                    {
                        "code": p.code,
                        "desc": p.desc,
                        "msrp": money_text(p.msrp) if as_text else p.msrp,
                    }
                ).decode()
                for i, p in enumerate(brand.packages)
                if mask >> i & 1
            ]
            pkg_rows.append((mask + 64 * as_text, "".join("," + item for item in items) + "]"))
    options = pl.DataFrame(
        opt_rows, schema=[("opt_mask", pl.Int64), ("b_opt_tail", pl.String)], orient="row"
    )
    packages = pl.DataFrame(
        pkg_rows, schema=[("pkg_mask", pl.Int64), ("b_pkg_tail", pl.String)], orient="row"
    )
    return options, packages
