"""VIN rules: transliteration, weights and the check digit, in Python and as a Polars expression."""

from __future__ import annotations

import polars as pl

WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_TRANSLIT = dict(
    zip(
        "ABCDEFGHJKLMNPRSTUVWXYZ",
        (1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9),
        strict=True,
    )
)
_TRANSLIT |= {str(d): d for d in range(10)}
YEAR_CHARS = "ABCDEFGHJKLMNPRSTVWXY123456789"
"""VIN position 10 from model year 2010 on, a 30-year cycle."""
PLANT_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
_YEAR_VALUES = {c: _TRANSLIT[c] for c in YEAR_CHARS}
_PLANT_VALUES = {c: _TRANSLIT[c] for c in PLANT_CHARS}


def value(ch: str) -> int:
    """The transliterated value of one VIN character for the check digit."""
    return _TRANSLIT[ch]


def check_digit(vin: str) -> str:
    """The check digit (position 9) a 17-character VIN must carry."""
    total = sum(value(c) * w for c, w in zip(vin, WEIGHTS, strict=True))
    return "X" if total % 11 == 10 else str(total % 11)


def prefix_sum(wmi_vds: str) -> int:
    """The weighted sum of positions 1 to 8, computed once per variant."""
    return sum(value(c) * w for c, w in zip(wmi_vds, WEIGHTS[:8], strict=True))


def vin_expr() -> pl.Expr:
    """VIN from `wmi_vds`, `vin_static_sum`, `model_year` and `gid`, with a real check digit.

    Positions 11 to 17 (plant and serial) spell `gid` modulo 33 million, so VINs are unique
    across brands and over any three years of arrivals.
    """
    gid = pl.col("gid")
    serial = gid % 1_000_000
    plant = (gid // 1_000_000) % len(PLANT_CHARS)
    plant_char = plant.replace_strict(dict(enumerate(PLANT_CHARS)), return_dtype=pl.String)
    year_char = ((pl.col("model_year") - 2010) % len(YEAR_CHARS)).replace_strict(
        dict(enumerate(YEAR_CHARS)), return_dtype=pl.String
    )
    year_val = year_char.replace_strict(_YEAR_VALUES, return_dtype=pl.Int64)
    plant_val = plant_char.replace_strict(_PLANT_VALUES, return_dtype=pl.Int64)
    digits = sum(((serial // 10 ** (5 - i)) % 10) * WEIGHTS[11 + i] for i in range(6))
    total = pl.col("vin_static_sum") + year_val * WEIGHTS[9] + plant_val * WEIGHTS[10]
    check = ((total + digits) % 11).replace_strict(
        {**{i: str(i) for i in range(10)}, 10: "X"}, return_dtype=pl.String
    )
    return pl.concat_str(
        [pl.col("wmi_vds"), check, year_char, plant_char, serial.cast(pl.String).str.zfill(6)]
    )
