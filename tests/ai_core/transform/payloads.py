"""Contract-shaped upstream pages built from a seed, and raw batches of them.

Vehicles follow `stellantis-api.md`, tolerances included: money as numbers or `"$52,345"`
strings, numbers as strings, empty strings, null nested objects, flags as `Y`/`N`, booleans or
missing, a few vehicles whose `brand` names another maker, and `totalCount` spelt both ways.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
import pyarrow as pa

from ai_core.raw.result import RawPage, make_raw_row_frame
from ai_stellantis.brands import BRANDS, Brand

DAY = dt.date(2026, 11, 20)
FETCHED = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
WMI = {"J": "1C4", "D": "2C3", "R": "1C6", "C": "1C4", "X": "ZFB", "Y": "ZAR"}
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
LINES = ("Wrangler", "Grand Cherokee", "Compass", "Durango", "Ram 1500", "Pacifica")
OPTIONS = ("PAU", "X9", "ERC", "DFT", "AJ1", "ADE", "XAC", "LNX", "GXM", "CS2")


def vin(rng: random.Random, brand: Brand) -> str:
    return WMI[brand.letter] + "".join(rng.choice(VIN_CHARS) for _ in range(14))


def _money(rng: random.Random, amount: int) -> Any:
    return f"${amount:,}" if rng.random() < 0.3 else amount


def vehicle(rng: random.Random, brand: Brand, code: str) -> dict[str, Any]:
    """One inventory vehicle of `brand` and model-year `code`, with the contract's quirks."""
    model_code = f"{code[:2]}{brand.letter}{rng.choice('LHTS')}{rng.randint(10, 99)}"
    cpp = f"2{rng.randint(0, 9)}{rng.choice('ABCDEFGHKW')}"
    msrp = rng.randint(25_000, 95_000)
    line = rng.choice(LINES)
    paint = rng.choice(("PAU", "PW7", "PXJ"))
    image = (
        f"client=fcaus&market=U&brand={brand.letter}&vehicle={code[3:7]}_{code[:2]}"
        f"&paint={paint}&fabric=X9&sa={model_code},2T{cpp[2]},{cpp}"
    )
    record: dict[str, Any] = {
        "vin": vin(rng, brand),
        "brand": brand.name if rng.random() > 0.01 else rng.choice(("Toyota", "Ford", "Lexus")),
        "modelYear": code[3:7],
        "modelYearCode": code,
        "assumedModelYearCode": code if rng.random() > 0.05 else "",
        "ccode": code + model_code + cpp + paint,
        "llp": str(msrp * 165 // 10_000),
        "statusCode": rng.choice(("KZX", "KZP")),
        "dealerCode": f"{rng.randint(10000, 99999)}",
        "dealerName": f"Dealer {rng.randint(1, 500)} Chrysler Dodge Jeep Ram",
        "dealerZipCode": f"{rng.randint(10000, 99999)}-{rng.randint(0, 9999):04d}",
        "dealerCity": rng.choice(("Denver", "Omaha", "Tulsa", "Reno")),
        "dealerState": rng.choice(("CO", "NE", "OK", "NV")),
        "distance": round(rng.uniform(0, 2500), 1),
        "lat": round(rng.uniform(25, 48), 5),
        "lon": round(rng.uniform(-124, -67), 5),
        "model": line,
        "vehicleType": "SUV",
        "vehicleDesc": f"{code[3:7]} {brand.name} {line} Sport 4x4",
        "trimDesc": rng.choice(("Sport", "Sahara", "Rubicon", None)),
        "bodyStyle": "4D Sport Utility",
        "drivetrain": "4x4",
        "engineDesc": "3.6L Pentastar V6 Engine",
        "engineCode": "ERC",
        "transmissionDesc": "8-Speed Automatic",
        "transmissionCode": "DFT",
        "fuelType": "Gasoline",
        "mpgCity": rng.choice((17, "19", "")),
        "mpgHwy": rng.choice((21, "24", "")),
        "exteriorColorCode": paint,
        "exteriorColorDesc": "Bright White Clear Coat",
        "interiorColorCode": "X9",
        "interiorColorDesc": "Black",
        "interiorFabric": rng.choice(("Cloth", "")),
        "options": [cpp, f"2T{cpp[2]}", paint, *rng.sample(OPTIONS, 4)],
        "packages": [
            {"code": f"2T{cpp[2]}", "desc": f"Quick Order Package 2T{cpp[2]}", "msrp": 0},
            {"code": "AJ1", "desc": "Cold Weather Group", "msrp": _money(rng, 995)},
        ],
        "price": None
        if rng.random() < 0.01
        else {
            "msrp": _money(rng, msrp),
            "netPrice": _money(rng, msrp - 3000),
            "employeePrice": _money(rng, msrp - msrp * 4 // 100),
            "destination": _money(rng, 1895),
            "discountedPrice": _money(rng, msrp - 2000),
            "totalIncentives": _money(rng, 1000),
        },
        "incentives": [
            {
                "id": "26JRC0111",
                "name": "Retail Consumer Cash",
                "amount": _money(rng, 1000),
                "expires": "2026-11-30",
            },
        ],
        "attributes": None
        if rng.random() < 0.01
        else {
            "attributes": [
                {"typeId": 1, "typeDesc": "Drive", "value": "4WD"},
                {"typeId": 2, "typeDesc": "Doors", "value": "4"},
                {"typeId": 3, "typeDesc": "Seats", "value": str(rng.choice((5, 7)))},
                {"typeId": 4, "typeDesc": "Real Trim", "value": "Sport"},
                {"typeId": 5, "typeDesc": "Power Source", "value": "Gas"},
            ]
        },
        "extImage": image,
        "intImage": image + "&pov=I01&width=1024",
        "mackevisionData": None
        if rng.random() < 0.03
        else {"consumerFamily": f"{code[:2]}_{code[3:7]}", "ulp": f"{model_code}_{paint}"},
        "inventoryStatus": rng.choice(("In Stock", "In Transit")),
        "stockNumber": f"S{rng.randint(1000, 9999)}" if rng.random() > 0.02 else "",
        "mileage": rng.choice((5, "12")),
        "daysInInventory": rng.randint(0, 200),
        "lastUpdated": f"2026-11-{rng.randint(1, 19):02d}T{rng.randint(6, 21):02d}:15:00Z",
    }
    flag = rng.random()
    if flag < 0.05:
        record["isDemo"] = rng.random() < 0.5
    elif flag < 0.97:
        record["isDemo"] = rng.choice("YN")
    return record


def inventory_body(vehicles: Sequence[Any], total: int, spelling: str = "totalcount") -> bytes:
    return orjson.dumps(
        {
            "result": {
                "result": "SUCCESS",
                "errors": [],
                "data": {
                    "metadata": {spelling: total, "exactMatchCount": total},
                    "vehicles": list(vehicles),
                },
            }
        }
    )


def raw_rows(
    pages: Sequence[tuple[str, int, bytes]],
    day: dt.date = DAY,
    status: int = 200,
    url: str = "https://www.{domain}/hostd/inventory/getinventoryresults.json",
) -> pa.Table:
    """Raw rows of `(sub_resource, page, body)` pages, in the raw tier's schema and order; `url`
    is each page's request URL, `{domain}` the sub-resource's first part."""
    tables = []
    by_sub: dict[str, list[RawPage]] = {}
    for sub, number, body in pages:
        domain = sub.split("/")[0]
        by_sub.setdefault(sub, []).append(
            RawPage(
                number, url.format(domain=domain), {"pageNumber": number}, status, body, FETCHED
            )
        )
    for sub, raw in by_sub.items():
        tables.append(make_raw_row_frame(day, sub, raw))
    return pa.concat_tables(tables)


def inventory_pages(
    seed: int,
    *,
    brands: Sequence[Brand] = BRANDS,
    codes_per_brand: int = 2,
    vehicles_per_code: int = 120,
    page_size: int = 50,
) -> Iterator[tuple[str, int, bytes]]:
    """Every page of a small inventory day: `(sub_resource, page, body)`."""
    rng = random.Random(seed)
    for brand in brands:
        for c in range(codes_per_brand):
            code = f"{'IUWLMPDT'[c % 8]}{'UL'[c % 2]}{brand.code_letter}2026{10 + c}"
            vehicles = [vehicle(rng, brand, code) for _ in range(vehicles_per_code)]
            spelling = "totalCount" if c % 3 == 2 else "totalcount"
            for start in range(0, len(vehicles), page_size):
                body = inventory_body(vehicles[start : start + page_size], len(vehicles), spelling)
                yield f"{brand.domain}/{code}", start // page_size + 1, body
