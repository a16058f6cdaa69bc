"""The README's "query the data" examples run as written against a day of the embedded catalog."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import polars as pl
import pyarrow as pa

from tests.ai_stellantis.conftest import UpstreamEnv
from tests.ai_stellantis.production import run_daily_job

README = Path(__file__).resolve().parents[2] / "README.md"


def query_examples() -> list[str]:
    text = README.read_text()
    section = text.split("## Query the data", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_the_readme_query_examples_give_the_stored_values(stellantis_env: UpstreamEnv) -> None:
    run_daily_job()
    examples = query_examples()
    assert len(examples) == 4
    scope: dict[str, object] = {}
    for code in examples:
        exec(compile(code, str(README), "exec"), scope)

    day = scope["day"]
    by_brand = scope["by_brand"]
    top = scope["top"]
    vehicles = scope["vehicles"]
    assert isinstance(by_brand, pl.DataFrame) and isinstance(top, list)
    stored = pl.scan_iceberg(vehicles).collect()  # type: ignore[arg-type]
    # Stock on hand: listed, and not reported sold while still listed.
    active = stored.filter(pl.col("active") & pl.col("sold_date").is_null())
    assert day.num_rows == stored.height > 0  # type: ignore[attr-defined]
    # Units only a dealer's own stock lists may have no brand yet: their group sorts first.
    assert by_brand["brand"].to_list() == active["brand"].unique().sort().to_list()
    assert by_brand["vehicles"].sum() == active.height
    assert {(b, n) for b, n, _ in top} == set(active.group_by("brand").len().iter_rows())

    # Money is a decimal in all three, and its sums are exact to the cent.
    assert day.schema.field("msrp").type == pa.decimal128(12, 2)  # type: ignore[attr-defined]
    assert stored.schema["msrp"] == pl.Decimal(12, 2)
    exact: dict[str | None, Decimal] = {}
    held = day.select(["brand", "msrp", "active", "sold_date"])  # type: ignore[attr-defined]
    for row in held.to_pylist():
        if row["active"] and row["sold_date"] is None and row["msrp"] is not None:
            assert isinstance(row["msrp"], Decimal)
            exact[row["brand"]] = exact.get(row["brand"], Decimal(0)) + row["msrp"]
    assert exact
    assert {b: t for b, _, t in top if t is not None} == exact
    assert all(isinstance(t, Decimal) for _, _, t in top if t is not None)
    polars_totals = dict(by_brand.select("brand", "total_msrp").iter_rows())
    assert {b: polars_totals[b] for b in exact} == exact
