"""The simulated market: the six brands, their paints and packages, and the sizes of each scope."""

from __future__ import annotations

from dataclasses import dataclass

from standin.stellantis.sites.lines import LINES, ModelLine


@dataclass(frozen=True, slots=True)
class Paint:
    code: str
    desc: str


@dataclass(frozen=True, slots=True)
class Interior:
    code: str
    desc: str
    fabric: str


@dataclass(frozen=True, slots=True)
class Package:
    code: str
    desc: str
    msrp: int


@dataclass(frozen=True, slots=True)
class BrandSpec:
    """One brand as the simulated sites serve it."""

    index: int
    name: str
    letter: str
    domain: str
    code_letter: str
    national_vehicles: int
    destination: int
    paints: tuple[Paint, ...]
    interiors: tuple[Interior, ...]
    packages: tuple[Package, ...]
    options: tuple[str, ...]

    @property
    def lines(self) -> tuple[ModelLine, ...]:
        return LINES[self.domain]


@dataclass(frozen=True, slots=True)
class Scope:
    """How big the simulated market is: vehicles per brand are `share` of the national figures."""

    name: str
    share: float
    dealers: int
    min_vehicles: int

    def vehicles(self, brand: BrandSpec) -> int:
        """Active vehicles of `brand` on a typical day."""
        return max(round(brand.national_vehicles * self.share), self.min_vehicles)


SCOPES: dict[str, Scope] = {
    "national": Scope("national", 1.0, 2500, 0),
    "small": Scope("small", 0.01, 60, 20),
    "tiny": Scope("tiny", 0.0005, 6, 12),
}

_COMMON_PAINTS = (
    Paint("PW7", "Bright White Clear Coat"),
    Paint("PXJ", "Diamond Black Crystal Pearl Coat"),
    Paint("PAU", "Granite Crystal Metallic Clear Coat"),
    Paint("PSC", "Silver Zynith Clear Coat"),
    Paint("PDN", "Baltic Gray Metallic Clear Coat"),
    Paint("PRV", "Velvet Red Pearl Coat"),
    Paint("PBJ", "Hydro Blue Pearl Coat"),
    Paint("PGG", "Sarge Green Clear Coat"),
)
_COMMON_INTERIORS = (
    Interior("X9", "Black", "Cloth"),
    Interior("XL", "Black", "Leather-Trimmed"),
    Interior("MV", "Global Black/Sea Salt", "Capri Leather"),
    Interior("JX", "Sea Salt/Black", "McKinley Leather"),
    Interior("T5", "Tupelo/Black", "Nappa Leather"),
)


def _brand(
    index: int,
    name: str,
    letter: str,
    domain: str,
    code_letter: str,
    national_vehicles: int,
    destination: int,
    packages: tuple[Package, ...],
    options: tuple[str, ...],
) -> BrandSpec:
    return BrandSpec(
        index,
        name,
        letter,
        domain,
        code_letter,
        national_vehicles,
        destination,
        _COMMON_PAINTS,
        _COMMON_INTERIORS,
        packages,
        options,
    )


BRANDS: tuple[BrandSpec, ...] = (
    _brand(
        0,
        "Jeep",
        "J",
        "jeep.com",
        "J",
        250_000,
        1995,
        (
            Package("AJ1", "Cold Weather Group", 995),
            Package("ADE", "Advanced Safety Group", 1295),
            Package("AWL", "Sun and Sound Group", 1995),
            Package("ALP", "Trailer Tow Package", 895),
            Package("AHX", "Off-Road Plus Group", 1495),
            Package("AAN", "Premium Lighting Group", 795),
        ),
        ("ADA", "GWA", "XAA", "UAQ", "LNX"),
    ),
    _brand(
        1,
        "Dodge",
        "D",
        "dodge.com",
        "D",
        80_000,
        1995,
        (
            Package("AHB", "Blacktop Package", 1995),
            Package("ADG", "Plus Group", 2495),
            Package("AEV", "Technology Group", 1695),
            Package("AWH", "Track Package", 2995),
            Package("AAG", "Carbon and Suede Package", 2595),
            Package("ADB", "Premium Group", 1495),
        ),
        ("GXD", "XAC", "UAM", "RC3", "LAD"),
    ),
    _brand(
        2,
        "Ram",
        "R",
        "ramtrucks.com",
        "T",
        200_000,
        2095,
        (
            Package("AJY", "Level 1 Equipment Group", 2895),
            Package("ABR", "Bed Utility Group", 995),
            Package("ANT", "Trailer Tow Group", 1095),
            Package("ALC", "Advanced Safety Group", 1495),
            Package("AHY", "Night Edition", 2395),
            Package("A6H", "Sport Appearance Package", 1895),
        ),
        ("XBN", "CUA", "DSA", "XMF", "MRU"),
    ),
    _brand(
        3,
        "Chrysler",
        "C",
        "chrysler.com",
        "C",
        30_000,
        2095,
        (
            Package("AMT", "Theater and Tow Group", 1995),
            Package("AE6", "Amazon Fire TV Group", 1495),
            Package("AAW", "S Appearance Package", 995),
            Package("ARS", "Premium Group", 1795),
            Package("AHD", "Road Tripper Package", 2995),
            Package("ADT", "Advanced Safety Tech Group", 1295),
        ),
        ("GEG", "XRC", "UBT", "CWL", "LM6"),
    ),
    _brand(
        4,
        "Fiat",
        "X",
        "fiatusa.com",
        "X",
        2_000,
        1595,
        (
            Package("AGF", "Convenience Package", 795),
            Package("ACB", "Comfort Package", 695),
            Package("AHN", "Style Package", 995),
            Package("AJD", "Cold Weather Package", 495),
            Package("AGE", "Tech Package", 895),
            Package("ABZ", "Winter Package", 395),
        ),
        ("GXF", "XFC", "UFB", "RFS", "LFE"),
    ),
    _brand(
        5,
        "Alfa Romeo",
        "Y",
        "alfaromeousa.com",
        "Y",
        8_000,
        1595,
        (
            Package("AJL", "Driver Assistance Dynamic Plus", 1500),
            Package("AGK", "Sport Package", 1200),
            Package("AHM", "Premium Package", 2200),
            Package("AYT", "Carbon Fibre Package", 3200),
            Package("AAJ", "Conventional Spare Package", 400),
            Package("ABQ", "Performance Package", 1500),
        ),
        ("GYA", "XYC", "UYB", "RYS", "LYE"),
    ),
)
BY_DOMAIN: dict[str, BrandSpec] = {b.domain: b for b in BRANDS}
BY_LETTER: dict[str, BrandSpec] = {b.letter: b for b in BRANDS}

OTHER_MAKERS = ("Toyota", "Ford", "Lexus")
"""Makers named by the few mislabelled vehicles of an affected day."""

MISLABELLED_PER_DAY = {"jeep.com": 3, "ramtrucks.com": 2, "dodge.com": 1, "chrysler.com": 1}
"""About seven mislabelled vehicles on an affected day, spread by brand size."""
