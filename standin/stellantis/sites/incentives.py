"""Manufacturer incentives of a month: the programs a (line, model year) carries, and how much.

Programs change at month boundaries, as the real ones do; older model years carry more cash.
"""

from __future__ import annotations

import calendar
import datetime as dt

import orjson
import polars as pl

from standin.stellantis.sites.catalog import BrandSpec
from standin.stellantis.sites.hashing import uniform

_PROGRAMS = (
    ("RC", "Retail Consumer Cash", 1000, 0.6),
    ("BC", "Bonus Cash", 500, 0.35),
    ("CQ", "Conquest Bonus Cash", 750, 0.2),
    ("MB", "Military Bonus Cash", 500, 0.25),
)


def money_text(amount: int) -> str:
    """`$52,345`: a whole-dollar amount as the sites sometimes print it."""
    return f"${amount:,}"


def incentive_frame(seed: int, brand: BrandSpec, day: dt.date) -> pl.DataFrame:
    """Per (line_idx, model year): the `,"incentives":[…]` member in both money styles."""
    month = day.year * 100 + day.month
    expires = day.replace(day=calendar.monthrange(day.year, day.month)[1]).isoformat()
    rows = []
    for li, _line in enumerate(brand.lines):
        for my in range(day.year - 3, day.year + 3):
            age = max(0, day.year - my)
            items = []
            for pi, (code, name, base, rate) in enumerate(_PROGRAMS):
                if uniform(seed, brand.index, li, my, month, pi) >= rate * (1 + 0.5 * age):
                    continue
                steps = 1 + int(uniform(seed, brand.index, li, my, month, pi, 1) * 4)
                amount = base * steps * (1 + age)
                pid = f"{my % 100:02d}{brand.letter}{code}{li:02d}{day.month:02d}"
                items.append((pid, name, amount))
            num = [{"id": i, "name": n, "amount": a, "expires": expires} for i, n, a in items]
            txt = [
                {"id": i, "name": n, "amount": money_text(a), "expires": expires}
                for i, n, a in items
            ]
            rows.append(
                {
                    "line_idx": li,
                    "model_year": my,
                    "incentive_total": sum(a for _, _, a in items),
                    "inc_num": ',"incentives":' + orjson.dumps(num).decode(),
                    "inc_txt": ',"incentives":' + orjson.dumps(txt).decode(),
                }
            )
    return pl.DataFrame(
        rows, schema_overrides={"line_idx": pl.Int64, "model_year": pl.Int32}
    ).with_columns(pl.col("incentive_total").cast(pl.Int64))
