"""The dealer network of a (seed, scope): where dealers are, what they sell, how they are listed.

Dealers are few (2,500 nationally), so they are built in plain Python; every choice comes from
`hashing.uniform`, so the network is the same in every process. Metros get dealers in proportion
to population, the rest spread over small towns.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import orjson
import polars as pl

from standin.stellantis.sites.catalog import SCOPES
from standin.stellantis.sites.geo import METROS, RURAL_SHARE, TOWNS, Place
from standin.stellantis.sites.hashing import uniform

_SURNAMES = (
    "Anderson", "Baker", "Bennett", "Brooks", "Carter", "Coleman", "Collins", "Cooper", "Davis",
    "Dempsey", "Ellis", "Fisher", "Foster", "Garcia", "Gibson", "Graham", "Hall", "Hamilton",
    "Harper", "Hayes", "Henderson", "Hughes", "Jenkins", "Keller", "Kennedy", "Lawson", "Marshall",
    "Martin", "Mitchell", "Morgan", "Murphy", "Nelson", "Owens", "Palmer", "Parker", "Perry",
    "Porter", "Reed", "Reynolds", "Russell", "Sanders", "Shaw", "Stevens", "Sullivan", "Taylor",
    "Thompson", "Tucker", "Turner", "Walker", "Warren", "Watson", "Wheeler", "Williams", "Young",
)  # fmt: skip
_STREETS = (
    "Main", "Route 17", "Highway 50", "Commerce", "Auto Mall", "Industrial", "Broadway",
    "Jefferson", "Lincoln", "Washington", "Market", "Airport", "Veterans", "Central",
    "Frontage", "Motor", "Grand", "Union", "Eisenhower", "Sunset", "Park",
)  # fmt: skip
_SUFFIXES = ("Road", "Avenue", "Boulevard", "Parkway", "Drive", "Highway", "Street", "Pike")
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# Salts of the dealer streams; any distinct constants do.
_S_PLACE, _S_DX, _S_DY, _S_MIX, _S_ALFA, _S_FIAT, _S_NAME = 11, 12, 13, 14, 15, 16, 17
_S_WEIGHT, _S_ADDR, _S_ZIP, _S_HOURS, _S_STYLE = 18, 19, 20, 21, 22


@dataclass(frozen=True, slots=True)
class Dealer:
    index: int
    code: str
    name: str
    address1: str
    address2: str
    city: str
    state: str
    zip_code: str
    phone: str
    website: str
    lat: float
    lon: float
    brands: str
    weight: float


def _allocate(n: int, weights: list[float]) -> list[int]:
    """Integer counts summing to n, proportional to weights (largest remainder, ties by order)."""
    total = sum(weights)
    shares = [n * w / total for w in weights]
    counts = [math.floor(s) for s in shares]
    order = sorted(range(len(weights)), key=lambda i: (-(shares[i] - counts[i]), i))
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    return counts


def _places(n: int) -> list[tuple[Place, bool]]:
    """The place of each dealer in turn; True marks a metro."""
    metro_w = [(1 - RURAL_SHARE) * p.population_m**0.9 for p in METROS]
    metro_total = sum(metro_w)
    weights = [w / metro_total * (1 - RURAL_SHARE) for w in metro_w]
    weights += [RURAL_SHARE / len(TOWNS)] * len(TOWNS)
    counts = _allocate(n, weights)
    places: list[tuple[Place, bool]] = []
    for i, count in enumerate(counts):
        place = METROS[i] if i < len(METROS) else TOWNS[i - len(METROS)]
        places += [(place, i < len(METROS))] * count
    return places


def _hours(open_: str, close: str) -> dict[str, object]:
    if not open_:
        return {
            "closed": "Y",
            "open": {"time": "", "ampm": ""},
            "close": {"time": "", "ampm": ""},
        }
    o_time, o_ampm = open_.split()
    c_time, c_ampm = close.split()
    return {
        "closed": "N",
        "open": {"time": o_time, "ampm": o_ampm},
        "close": {"time": c_time, "ampm": c_ampm},
    }


def _departments(seed: int, i: int) -> dict[str, object]:
    late = ("7:00 PM", "8:00 PM", "9:00 PM")[int(uniform(seed, _S_HOURS, i) * 3)]
    sunday = uniform(seed, _S_HOURS + 100, i) < 0.3
    sales = {d: _hours("9:00 AM", late) for d in _DAYS[:5]}
    sales["saturday"] = _hours("9:00 AM", "6:00 PM")
    sales["sunday"] = _hours("11:00 AM", "5:00 PM") if sunday else _hours("", "")
    service = {d: _hours("7:00 AM", "6:00 PM") for d in _DAYS[:5]}
    service["saturday"] = _hours("8:00 AM", "2:00 PM")
    service["sunday"] = _hours("", "")
    return {
        "sales": {"hours": sales},
        "service": {"hours": service},
        "parts": {"hours": service},
    }


def _name(seed: int, i: int, brands: str, city: str) -> str:
    surname = _SURNAMES[int(uniform(seed, _S_NAME, i) * len(_SURNAMES))]
    style = uniform(seed, _S_STYLE, i)
    owner = city if style < 0.25 else surname
    base = {
        "CDJR": f"{owner} Chrysler Dodge Jeep Ram",
        "CDJ": f"{owner} Chrysler Dodge Jeep",
        "R": f"{owner} Ram Trucks",
        "J": f"{owner} Jeep",
    }[brands.replace("X", "").replace("Y", "")]
    if style > 0.85 and "R" in brands and "J" in brands:
        base = f"{owner} CDJR of {city}"
    if "X" in brands:
        base += " Fiat"
    if "Y" in brands:
        base += " Alfa Romeo"
    return base


def _brands(seed: int, i: int) -> str:
    """Letters of the brands a store sells: mostly all four; store 0 always, so none is missing."""
    u = uniform(seed, _S_MIX, i)
    return "CDJR" if i == 0 or u < 0.84 else "CDJ" if u < 0.92 else "R" if u < 0.97 else "J"


def build_dealers(seed: int, scope: str) -> list[Dealer]:
    """Every dealer of the scope, index order, each selling at least one brand."""
    n = SCOPES[scope].dealers
    places = _places(n)
    brands = [_brands(seed, i) for i in range(n)]
    # Alfa Romeo and Fiat sit inside a few multi-brand stores; the lowest draw always gets one.
    for letter, salt, rate in (("Y", _S_ALFA, 0.06), ("X", _S_FIAT, 0.04)):
        draws = [uniform(seed, salt, i) for i in range(n)]
        first = min(range(n), key=lambda i: draws[i])
        for i in range(n):
            if draws[i] < rate or i == first:
                brands[i] += letter
    dealers = []
    for i, (place, metro) in enumerate(places):
        sd = 4 + 3 * math.sqrt(place.population_m) if metro else 20.0
        # A two-dimensional normal offset (Rayleigh radius, capped at 3 sd; uniform angle).
        r = sd * math.sqrt(-2 * math.log(1 - uniform(seed, _S_DX, i) * 0.9889))
        theta = 2 * math.pi * uniform(seed, _S_DY, i)
        lat = place.lat + r * math.sin(theta) / 69.0
        lon = place.lon + r * math.cos(theta) / (69.0 * math.cos(math.radians(place.lat)))
        code = str(10000 + (i * 7919 + seed * 104_729) % 90000)
        name = _name(seed, i, brands[i], place.city)
        street = _STREETS[int(uniform(seed, _S_ADDR, i) * len(_STREETS))]
        suffix = _SUFFIXES[int(uniform(seed, _S_ADDR + 100, i) * len(_SUFFIXES))]
        number = 100 + int(uniform(seed, _S_ADDR + 200, i) * 9800)
        suite = uniform(seed, _S_ADDR + 300, i)
        z = int(uniform(seed, _S_ZIP, i) * 1_000_000)
        dealers.append(
            Dealer(
                index=i,
                code=code,
                name=name,
                address1=f"{number} {street} {suffix}",
                address2=f"Suite {100 + (z % 9) * 100}" if suite < 0.1 else "",
                city=place.city,
                state=place.state,
                zip_code=f"{place.zip3}{z % 100:02d}-{z // 100 % 10000:04d}",
                phone=f"({place.area_code}) 555-{z // 7 % 10000:04d}",
                website="https://www." + re.sub(r"[^a-z0-9]", "", name.lower()) + ".com",
                lat=round(lat, 5),
                lon=round(lon, 5),
                brands=brands[i],
                weight=0.4 + 2.5 * uniform(seed, _S_WEIGHT, i) ** 2,
            )
        )
    return dealers


def locator_json(dealer: Dealer, seed: int) -> str:
    """The dealer as one entry of the dealer locator's `dealer` list."""
    return orjson.dumps(
        {
            "dealerCode": dealer.code,
            "dealerName": dealer.name,
            "dealerAddress1": dealer.address1,
            "dealerAddress2": dealer.address2,
            "dealerCity": dealer.city,
            "dealerState": dealer.state,
            "dealerZipCode": dealer.zip_code,
            "phoneNumber": dealer.phone,
            "website": dealer.website,
            "dealerShowroomLatitude": f"{dealer.lat:.5f}",
            "dealerShowroomLongitude": f"{dealer.lon:.5f}",
            "departments": _departments(seed, dealer.index),
        }
    ).decode()


def dealer_frame(dealers: list[Dealer], seed: int) -> pl.DataFrame:
    """Dealers as a frame, with the JSON fragments vehicles and the locator embed."""
    return pl.DataFrame(
        {
            "dealer_idx": [d.index for d in dealers],
            "dealerCode": [d.code for d in dealers],
            "dealerName": [d.name for d in dealers],
            "dealerCity": [d.city for d in dealers],
            "dealerState": [d.state for d in dealers],
            "dealerZipCode": [d.zip_code for d in dealers],
            "lat": [d.lat for d in dealers],
            "lon": [d.lon for d in dealers],
            "brands": [d.brands for d in dealers],
            "weight": [d.weight for d in dealers],
            "d_head": [
                orjson.dumps(
                    {
                        "dealerCode": d.code,
                        "dealerName": d.name,
                        "dealerZipCode": d.zip_code,
                        "dealerCity": d.city,
                        "dealerState": d.state,
                    }
                ).decode()[1:-1]
                for d in dealers
            ],
            "d_tail": [
                "," + orjson.dumps({"lat": d.lat, "lon": d.lon}).decode()[1:-1] for d in dealers
            ],
            "locator": [locator_json(d, seed) for d in dealers],
        },
        schema_overrides={"dealer_idx": pl.Int64},
    )
