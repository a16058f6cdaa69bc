"""The DealerConnect tables of one simulated day, derived from the public stand-in's world.

Each onboarded dealer has an `inventory_{code}` table (its public vehicles, with an order number,
plus private units that carry an order number from the day they are ordered and a VIN from their
fifth day on) and a `sales_{code}` table (a public vehicle is sold, RETAIL, on the first day it
is missing from the public feed; a private unit is delivered, FLEET, on its eleventh day). Order
numbers are unique within a dealer and shared between dealers. The dataset-wide `code_guides`
lists every model code of the catalogue, with an older copy of some guides under the same
`blob_id`. `DayTables` is both what the server loads and the ground truth.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson
import polars as pl

from standin.stellantis.sites.catalog import BRANDS, BrandSpec
from standin.stellantis.sites.hashing import uniform
from standin.stellantis.sites.inventory import day_number
from standin.stellantis.sites.lines import ModelLine, Trim
from standin.stellantis.sites.vin import PLANT_CHARS, YEAR_CHARS, check_digit
from standin.stellantis.sites.world import World

INVENTORY_COLUMNS: dict[str, Any] = {
    "fetch_date": pl.Date,
    "fetched_at": pl.Datetime("us"),
    "blob_id": pl.String,
    "vin": pl.String,
    "order_number": pl.String,
    "status": pl.String,
    "model_code": pl.String,
    "pkg": pl.String,
    "poc": pl.String,
}
SALES_COLUMNS: dict[str, Any] = {
    "fetch_date": pl.Date,
    "sale_date": pl.Date,
    "vin": pl.String,
    "order_number": pl.String,
    "sale_type": pl.String,
    "blob_id": pl.String,
    "poc": pl.String,
}
CODE_GUIDE_COLUMNS: dict[str, Any] = {
    "fetch_date": pl.Date,
    "fetched_at": pl.Datetime("us"),
    "blob_id": pl.String,
    "model_year": pl.Int64,
    "model_code": pl.String,
    "guide": pl.String,
}
MODEL_YEARS = (2025, 2026, 2027)
ONBOARDED_SHARE = 0.75
"""Share of the market's dealers that DealerConnect knows (at least one)."""
PRICE_GAP_SHARE = 0.1
"""Share of public vehicles whose POC price differs from the public site's, by `PRICE_GAP`."""
PRICE_GAP = 500
FLEET_SHARE = 0.1
NUMERIC_MONEY_SHARE = 0.2
"""Share of POCs whose prices are numbers rather than `$1,234` strings."""
STALE_GUIDE_SHARE = 0.3
"""Share of code guides also present in an older, superseded copy."""
UNIT_DAYS = 10
"""Days a private unit stays in a dealer's inventory; it is delivered the day after."""
UNIT_VIN_AGE = 4
"""Age in days from which a private unit has a VIN."""
ORDER_OFFSETS = 4
"""Dealers number their daily orders from this many different offsets."""

_SALT_ONBOARD, _SALT_GAP, _SALT_FLEET, _SALT_MONEY, _SALT_STALE, _SALT_UNIT, _SALT_BAD = range(
    700, 707
)


@dataclass(slots=True)
class DayTables:
    """Every DealerConnect table's rows with `fetch_date` = `day`, by table name."""

    day: dt.date
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)

    def dealer_codes(self) -> list[str]:
        return sorted({n.split("_", 1)[1] for n in self.tables if n != "code_guides"})

    def inventory(self) -> pl.DataFrame:
        """Every dealer's inventory rows with a `dealer_code` column."""
        return _concat_dealers(self.tables, "inventory_", INVENTORY_COLUMNS)

    def sales(self) -> pl.DataFrame:
        """Every dealer's sales rows with a `dealer_code` column."""
        return _concat_dealers(self.tables, "sales_", SALES_COLUMNS)

    def latest_code_guides(self) -> pl.DataFrame:
        """One code guide per `blob_id`, the latest fetched."""
        guides = self.tables["code_guides"]
        return guides.sort("fetched_at").group_by("blob_id").last().sort("blob_id")


def _concat_dealers(
    tables: dict[str, pl.DataFrame], prefix: str, columns: dict[str, Any]
) -> pl.DataFrame:
    frames = [
        frame.with_columns(dealer_code=pl.lit(name.removeprefix(prefix)))
        for name, frame in sorted(tables.items())
        if name.startswith(prefix)
    ]
    if not frames:
        return pl.DataFrame(schema={**columns, "dealer_code": pl.String})
    return pl.concat(frames)


def money(amount: int, numeric: bool) -> str | int:
    """A price as the portal prints it: `$48,170`, or a plain number on some documents."""
    return amount if numeric else f"${amount:,}"


class DealerConnectWorld:
    """DealerConnect over the public stand-in's world of one (seed, scope)."""

    def __init__(self, seed: int, scope: str, world: World | None = None) -> None:
        self.seed = seed
        self.world = world or World(seed, scope)
        table = self.world.dealer_table
        codes = table["dealerCode"].to_list()
        onboarded = [
            i
            for i, code in enumerate(codes)
            if uniform(seed, int(code), _SALT_ONBOARD) < ONBOARDED_SHARE
        ] or [0]
        self.dealers = table[onboarded].select("dealer_idx", "dealerCode", "brands")
        self._codes = dict(zip(self.dealers["dealer_idx"], self.dealers["dealerCode"], strict=True))
        self._public: dict[dt.date, pl.DataFrame] = {}

    def public_vehicles(self, day: dt.date) -> pl.DataFrame:
        """`vin`, `dealer_idx` and the public JSON of every vehicle at an onboarded dealer."""
        if day not in self._public:
            frames = [self.world.brand_day(b.domain, day).frame for b in BRANDS]
            every = pl.concat([f.select("vin", "dealer_idx", "head", "tail") for f in frames])
            self._public[day] = (
                every.filter(pl.col("dealer_idx").is_in(list(self._codes)))
                .select(
                    "vin",
                    "dealer_idx",
                    json=pl.concat_str(["head", pl.lit('"distance":0'), "tail"]),
                )
                .sort("vin")
            )
            if len(self._public) > 4:
                # The earliest other day goes: the day asked for may be the earliest held.
                self._public.pop(min(d for d in self._public if d != day))
        return self._public[day]

    def day_tables(
        self,
        day: dt.date,
        bad_poc_share: float = 0.0,
        reused_orders: frozenset[str] = frozenset(),
        read_twice: frozenset[str] = frozenset(),
        one_document: frozenset[str] = frozenset(),
    ) -> DayTables:
        """Every table's rows fetched on `day`; `bad_poc_share` of POCs arrive cut short, the
        last row of each table in `reused_orders` repeats its first row's order number, each
        table in `read_twice` holds a second read of the portal 3 h later, every unit IN_STOCK,
        and every row of a table in `one_document` carries its first row's blob id."""
        today = self.public_vehicles(day)
        yesterday = self.public_vehicles(day - dt.timedelta(days=1))
        dn = day_number(day)
        fetched = dt.datetime.combine(day, dt.time(6, 0))
        inventory: dict[int, list[dict[str, object]]] = {i: [] for i in self._codes}
        sales: dict[int, list[dict[str, object]]] = {i: [] for i in self._codes}
        for vin, dealer_idx, text in today.iter_rows():
            poc = self._public_poc(orjson.loads(text), self._codes[dealer_idx])
            inventory[dealer_idx].append(
                _inventory_row(day, fetched, vin, public_order(vin), "IN_STOCK", poc)
            )
        left = yesterday.join(today.select("vin"), on="vin", how="anti")
        for vin, dealer_idx, text in left.iter_rows():
            code = self._codes[dealer_idx]
            poc = self._public_poc(orjson.loads(text), code)
            fleet = uniform(self.seed, _vin_key(vin), _SALT_FLEET) < FLEET_SHARE
            sale_type = "FLEET" if fleet else "RETAIL"
            sales[dealer_idx].append(
                _sale_row(day, day, vin, public_order(vin), sale_type, poc, code)
            )
        for dealer_idx, letters in zip(
            self.dealers["dealer_idx"], self.dealers["brands"], strict=True
        ):
            code = self._codes[dealer_idx]
            for start in range(dn - UNIT_DAYS, dn + 1):
                unit = self.private_unit(dealer_idx, letters, start)
                age = dn - start
                if age == UNIT_DAYS:
                    sales[dealer_idx].append(
                        _sale_row(day, day, unit.vin, unit.order_number, "FLEET", unit.poc, code)
                    )
                    continue
                status = "IN_PRODUCTION" if age < 2 else "IN_TRANSIT" if age < 6 else "ALLOCATED"
                vin = unit.vin if age >= UNIT_VIN_AGE else None
                inventory[dealer_idx].append(
                    _inventory_row(day, fetched, vin, unit.order_number, status, unit.poc)
                )
        result = DayTables(day)
        for dealer_idx, code in self._codes.items():
            result.tables[f"inventory_{code}"] = self._spoil(
                pl.DataFrame(inventory[dealer_idx], schema=INVENTORY_COLUMNS, orient="row"),
                bad_poc_share,
            )
            result.tables[f"sales_{code}"] = self._spoil(
                pl.DataFrame(sales[dealer_idx], schema=SALES_COLUMNS, orient="row"),
                bad_poc_share,
            )
        for name in reused_orders & result.tables.keys():
            frame = result.tables[name]
            if frame.height > 1:
                orders = frame["order_number"].scatter(frame.height - 1, frame["order_number"][0])
                result.tables[name] = frame.with_columns(orders)
        for name in read_twice & result.tables.keys():
            first = result.tables[name]
            again = first.with_columns(
                fetched_at=pl.col("fetched_at") + dt.timedelta(hours=3),
                # Sorting first by blob id, the later read is on the earlier result pages.
                blob_id=pl.lit("again-") + pl.col("blob_id"),
                status=pl.lit("IN_STOCK"),
            )
            result.tables[name] = pl.concat([first, again])
        for name in one_document & result.tables.keys():
            frame = result.tables[name]
            if frame.height:
                result.tables[name] = frame.with_columns(blob_id=pl.lit(frame["blob_id"][0]))
        result.tables["code_guides"] = self.code_guides(day)
        return result

    def _spoil(self, frame: pl.DataFrame, share: float) -> pl.DataFrame:
        """POCs cut in half where a row's blob hashes below `share`: what a failed parse leaves."""
        if share <= 0 or frame.is_empty():
            return frame
        bad = [
            uniform(self.seed, zlib.crc32(b.encode()), _SALT_BAD) < share
            for b in frame["blob_id"].to_list()
        ]
        poc = pl.col("poc")
        cut = poc.str.slice(0, poc.str.len_chars() // 2)
        return frame.with_columns(poc=pl.when(pl.Series(bad)).then(cut).otherwise(poc))

    def _public_poc(self, vehicle: dict[str, object], dealer_code: str) -> str:
        vin = str(vehicle["vin"])
        vkey = _vin_key(vin)
        # The public feed sometimes lists no price; the POC then has none either.
        price = vehicle.get("price") or {}
        assert isinstance(price, dict)
        msrp = dollars(price["msrp"]) if price.get("msrp") is not None else None
        if msrp is not None and uniform(self.seed, vkey, _SALT_GAP) < PRICE_GAP_SHARE:
            msrp += PRICE_GAP
        packages = vehicle.get("packages") or []
        assert isinstance(packages, list)
        options = [
            {"code": p["code"], "description": p["desc"], "msrp": dollars(p["msrp"])}
            for p in packages
        ]
        ccode = str(vehicle["ccode"])
        return _poc(
            model_year=str(vehicle["modelYear"]),
            model_code=ccode[9:15],
            cpp=ccode[15:18],
            llp=str(vehicle["llp"]),
            paint=(str(vehicle["exteriorColorCode"]), str(vehicle["exteriorColorDesc"])),
            fabric=(str(vehicle["interiorColorCode"]), str(vehicle["interiorColorDesc"])),
            options=options,
            destination=dollars(price.get("destination") or 0),
            msrp=msrp,
            ship_date=None,
            dealer_code=dealer_code,
            numeric=uniform(self.seed, vkey, _SALT_MONEY) < NUMERIC_MONEY_SHARE,
        )

    def private_unit(self, dealer_idx: int, letters: str, start: int) -> PrivateUnit:
        """The unit a dealer ordered on day number `start`, the same on every day it is seen."""

        def pick(n: int, salt: int) -> int:
            return int(uniform(self.seed, dealer_idx, start, _SALT_UNIT, salt) * n)

        brands = [b for b in BRANDS if b.letter in letters] or list(BRANDS)
        brand = brands[pick(len(brands), 1)]
        line = brand.lines[pick(len(brand.lines), 2)]
        trim = line.trims[pick(len(line.trims), 3)]
        powertrain = line.powertrains[pick(len(line.powertrains), 4)]
        paint = brand.paints[pick(len(brand.paints), 5)]
        interior = brand.interiors[pick(len(brand.interiors), 6)]
        chosen = [p for i, p in enumerate(brand.packages) if pick(3, 10 + i) == 0]
        options = [{"code": p.code, "description": p.desc, "msrp": p.msrp} for p in chosen]
        year = MODEL_YEARS[-1]
        order_number = private_order(dealer_idx, start)
        serial = f"{(dealer_idx * 1000 + start % 1000) % 1_000_000:06d}"
        # The plant counts down from Z every thousand dealers, so no two dealers' VINs meet.
        plant = PLANT_CHARS[(PLANT_CHARS.index("Z") - dealer_idx // 1000) % len(PLANT_CHARS)]
        year_char = YEAR_CHARS[(year - 2010) % 30]
        draft = f"{line.wmi}{line.vds}{trim.vin_char}C0{year_char}{plant}{serial}"
        vin = draft[:8] + check_digit(draft) + draft[9:]
        cpp = f"2{powertrain.digit}{trim.letter}"
        ship = dt.date.fromordinal(dt.date(2020, 1, 1).toordinal() + start + UNIT_VIN_AGE)
        poc = _poc(
            model_year=str(year),
            model_code=model_code(line, trim),
            cpp=cpp,
            llp=f"{pick(900, 7) + 100}",
            paint=(paint.code, paint.desc),
            fabric=(interior.code, interior.desc),
            options=options,
            destination=brand.destination,
            msrp=trim.msrp + powertrain.adder + sum(p.msrp for p in chosen) + brand.destination,
            ship_date=ship,
            dealer_code=self._codes[dealer_idx],
            numeric=pick(5, 8) == 0,
        )
        return PrivateUnit(vin, order_number, poc)

    def code_guides(self, day: dt.date) -> pl.DataFrame:
        """One guide per model year and model code of the catalogue, some also in an older copy."""
        fetched = dt.datetime.combine(day, dt.time(5, 0))
        rows: list[dict[str, object]] = []
        for brand in BRANDS:
            for line in brand.lines:
                for suffix in sorted({t.model_suffix for t in line.trims}):
                    for year in MODEL_YEARS:
                        code = line.model_prefix + suffix
                        blob = f"cg-{year}-{code}"
                        guide = code_guide(brand, line, suffix, year)
                        rows.append(_guide_row(day, fetched, blob, year, code, guide))
                        if uniform(self.seed, zlib.crc32(blob.encode()), _SALT_STALE) < (
                            STALE_GUIDE_SHARE
                        ):
                            stale = guide | {"packages": guide["packages"][:-1]}
                            earlier = fetched - dt.timedelta(hours=3)
                            rows.append(_guide_row(day, earlier, blob, year, code, stale))
        return pl.DataFrame(rows, schema=CODE_GUIDE_COLUMNS, orient="row")


@dataclass(frozen=True, slots=True)
class PrivateUnit:
    vin: str
    order_number: str
    poc: str


def model_code(line: ModelLine, trim: Trim) -> str:
    return line.model_prefix + trim.model_suffix


def public_order(vin: str) -> str:
    """The dealer order number of a public vehicle: its VIN's plant and serial (7 characters).

    They spell the vehicle's number modulo 33 million, unique among a dealer's vehicles."""
    return vin[10:]


def private_order(dealer_idx: int, start: int) -> str:
    """The order number (6 digits) of the unit a dealer ordered on day number `start`.

    A dealer numbers one order a day from its own offset, so dealers share numbers for units
    ordered on different days, as real dealers' own numbering overlaps; within a dealer they
    are unique, and never 7 characters like a public vehicle's."""
    return f"{(start + dealer_idx % ORDER_OFFSETS) % 1_000_000:06d}"


def code_guide(brand: BrandSpec, line: ModelLine, suffix: str, year: int) -> dict[str, Any]:
    """The guide of one model code: its trims by CPP, the brand's packages and options."""
    trims = [t for t in line.trims if t.model_suffix == suffix]
    cpps = [(f"2{p.digit}{t.letter}", t, p) for t in trims for p in line.powertrains]
    return {
        "vehicleLine": line.name,
        "modelGroup": line.family,
        "modelYear": year,
        "trims": [{"cpp": c, "name": t.name, "powertrain": p.engine_desc} for c, t, p in cpps],
        "packages": [
            {"code": p.code, "description": p.desc, "msrp": f"${p.msrp:,}"} for p in brand.packages
        ],
        "options": [
            {
                "code": code,
                "description": f"{brand.name} option {code}",
                "msrp": 195 + 100 * i,
                "standardOn": [c for j, (c, _, _) in enumerate(cpps) if (i + j) % 3 == 0],
            }
            for i, code in enumerate(brand.options)
        ],
    }


def dollars(value: object) -> int:
    """A public price (a number, or a string such as `$45,765`) in whole dollars."""
    if isinstance(value, int | float):
        return round(value)
    return round(float(str(value).replace("$", "").replace(",", "")))


def _vin_key(vin: str) -> int:
    return zlib.crc32(vin.encode())


def _poc(
    *,
    model_year: str,
    model_code: str,
    cpp: str,
    llp: str,
    paint: tuple[str, str],
    fabric: tuple[str, str],
    options: list[dict[str, object]],
    destination: int,
    msrp: int | None,
    ship_date: dt.date | None,
    dealer_code: str,
    numeric: bool,
) -> str:
    extras = sum(int(str(o["msrp"])) for o in options)
    document = {
        "modelYear": model_year,
        "modelCode": model_code,
        "cpp": cpp,
        "llp": llp,
        "paint": {"code": paint[0], "description": paint[1]},
        "fabric": {"code": fabric[0], "description": fabric[1]},
        "options": [o | {"msrp": money(int(str(o["msrp"])), numeric)} for o in options],
        "price": None
        if msrp is None
        else {
            "base": money(msrp - extras - destination, numeric),
            "options": money(extras, numeric),
            "destination": money(destination, numeric),
            "msrp": money(msrp, numeric),
        },
        "shipDate": ship_date.isoformat() if ship_date else None,
        "dealerCode": dealer_code,
    }
    return orjson.dumps(document).decode()


def _inventory_row(
    day: dt.date, fetched: dt.datetime, vin: str | None, order: str, status: str, poc: str
) -> dict[str, object]:
    document = orjson.loads(poc)
    return {
        "fetch_date": day,
        "fetched_at": fetched,
        "blob_id": f"poc-{document['dealerCode']}-{order}",
        "vin": vin,
        "order_number": order,
        "status": status,
        "model_code": document["modelCode"],
        "pkg": document["cpp"],
        "poc": poc,
    }


def _sale_row(
    day: dt.date, sale_day: dt.date, vin: str, order: str, sale_type: str, poc: str, dealer: str
) -> dict[str, object]:
    return {
        "fetch_date": day,
        "sale_date": sale_day,
        "vin": vin,
        "order_number": order,
        "sale_type": sale_type,
        "blob_id": f"sale-{dealer}-{order}",
        "poc": poc,
    }


def _guide_row(
    day: dt.date,
    fetched: dt.datetime,
    blob: str,
    year: int,
    code: str,
    guide: dict[str, object],
) -> dict[str, object]:
    return {
        "fetch_date": day,
        "fetched_at": fetched,
        "blob_id": blob,
        "model_year": year,
        "model_code": code,
        "guide": orjson.dumps(guide).decode(),
    }
