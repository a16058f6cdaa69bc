"""A command stage that stores vehicles the way dlt does: `python -m ... <outcome> <stage dir>`.

It fetches one page of Jeep inventory from the run's upstream server and writes its vehicles to
`<stage dir>/inventory/part.parquet` with the first one repeated (a page repeat kept) and one
MSRP in a text variant column, as dlt stores "$41,680"; then reports its metrics in `<outcome>`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import httpx
import polars as pl

PAGE_SIZE = 20


def main(outcome: str, stage_dir: str) -> None:
    base = os.environ["STELLANTIS_BASE_URL_TEMPLATE"].format(domain="jeep.com")
    search = {"func": "SALES", "zip": "66952", "radius": "5000"}
    codes = httpx.get(f"{base}/hostd/inventory/getinventoryfilters.json", params=search)
    code = codes.json()["result"]["data"]["modelYearCodes"][0]["code"]
    page = httpx.get(
        f"{base}/hostd/inventory/getinventoryresults.json",
        params={**search, "modelYearCode": code, "pageNumber": 1, "pageSize": PAGE_SIZE},
    )
    vins = [v["vin"] for v in page.json()["result"]["data"]["vehicles"]]
    rows = [*vins, vins[0]]
    frame = pl.DataFrame(
        {
            "vin": rows,
            "price__msrp": [None, *range(1, len(rows))],
            "price__msrp__v_text": ["$41,680", *([None] * (len(rows) - 1))],
        },
        schema={"vin": pl.String, "price__msrp": pl.Int64, "price__msrp__v_text": pl.String},
    )
    target = Path(stage_dir) / "inventory"
    target.mkdir(parents=True)
    frame.write_parquet(target / "part.parquet")
    metrics = {"rows": frame.height, "pages": 2, "marker": os.environ["PEER_MARKER"]}
    Path(outcome).write_text(json.dumps({"status": "ok", "metrics": metrics, "error": None}))


if __name__ == "__main__":
    main(*sys.argv[1:3])
