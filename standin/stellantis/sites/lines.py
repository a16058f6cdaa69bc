"""Model lines of each brand: trims, powertrains and the codes derived from them.

The customer preferred package (CPP) of a vehicle is `2` + powertrain digit + trim letter, so it
matches `^2[0-9][A-Z]$`; the model code is the line's four-letter prefix + the trim's two digits.
Prices are in US dollars before destination.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Trim:
    letter: str
    name: str
    model_suffix: str
    msrp: int
    weight: float
    vin_char: str


@dataclass(frozen=True, slots=True)
class Powertrain:
    digit: str
    engine_desc: str
    engine_code: str
    transmission_desc: str
    transmission_code: str
    fuel_type: str
    mpg_city: int | None
    mpg_hwy: int | None
    power_source: str
    adder: int
    weight: float


@dataclass(frozen=True, slots=True)
class ModelLine:
    name: str
    family: str
    myc: str
    myc_suffix: str
    model_prefix: str
    wmi: str
    vds: str
    share: float
    body_style: str
    vehicle_type: str
    doors: int
    seats: int
    drive: str
    drivetrain: str
    trims: tuple[Trim, ...]
    powertrains: tuple[Powertrain, ...]


_V6_8 = Powertrain(
    "2", "3.6L Pentastar V6 Engine", "ERC", "8-Speed Automatic", "DFT", "Gasoline",
    17, 25, "Gas", 0, 0.7,
)  # fmt: skip
_I4T_8 = Powertrain(
    "4", "2.0L I4 DOHC Turbo Engine", "EC1", "8-Speed Automatic", "DFH", "Gasoline",
    21, 28, "Gas", 0, 0.3,
)  # fmt: skip
_4XE = Powertrain(
    "8", "2.0L I4 PHEV Turbo 4xe Engine", "EC3", "8-Speed Automatic 4xe", "DFX",
    "Hybrid Electric", 20, 20, "Plug-In Hybrid", 7000, 0.25,
)  # fmt: skip
_HURRICANE = Powertrain(
    "1", "3.0L Twin-Turbo I6 Hurricane Engine", "EFC", "8-Speed Automatic", "DFU", "Gasoline",
    15, 23, "Gas", 2500, 0.35,
)  # fmt: skip
_HEMI = Powertrain(
    "5", "5.7L V8 HEMI MDS VVT Engine", "EZH", "8-Speed Automatic", "DFD", "Gasoline",
    15, 22, "Gas", 1995, 0.3,
)  # fmt: skip
_CUMMINS = Powertrain(
    "6", "6.7L I6 Cummins Turbo Diesel Engine", "ETM", "8-Speed Automatic HD", "DF8", "Diesel",
    None, None, "Diesel", 9995, 0.45,
)  # fmt: skip
_HD_GAS = Powertrain(
    "3", "6.4L V8 HEMI Engine", "ESG", "8-Speed Automatic HD", "DF2", "Gasoline",
    None, None, "Gas", 0, 0.55,
)  # fmt: skip
_EV = Powertrain(
    "9", "Dual Motor Electric Drive", "EV1", "1-Speed Electric Drive", "DEV", "Electric",
    None, None, "Electric", 0, 1.0,
)  # fmt: skip
_I4_9 = Powertrain(
    "7", "2.4L I4 MultiAir Engine", "ED6", "9-Speed Automatic", "DFW", "Gasoline",
    22, 30, "Gas", 0, 1.0,
)  # fmt: skip
_HYBRID = Powertrain(
    "3", "3.6L V6 eHybrid Engine", "ERH", "eFlite Electrically Variable", "DFY", "Hybrid Electric",
    30, 30, "Plug-In Hybrid", 8000, 1.0,
)  # fmt: skip


def _t(letter: str, name: str, suffix: str, msrp: int, weight: float, vin: str) -> Trim:
    return Trim(letter, name, suffix, msrp, weight, vin)


JEEP = (
    ModelLine(
        "Wrangler", "JL", "IU", "10", "JLJL", "1C4", "HJX", 0.22, "4D Sport Utility", "SUV",
        4, 5, "4WD", "4x4",
        (
            _t("S", "Sport", "74", 33_690, 0.2, "D"),
            _t("W", "Sport S", "74", 38_190, 0.3, "E"),
            _t("K", "Willys", "74", 44_090, 0.15, "G"),
            _t("A", "Sahara", "74", 49_890, 0.2, "N"),
            _t("R", "Rubicon", "74", 53_290, 0.15, "R"),
        ),
        (_V6_8, _I4T_8, _4XE),
    ),
    ModelLine(
        "Grand Cherokee", "WL", "WL", "10", "WLJH", "1C4", "RJK", 0.18, "4D Sport Utility", "SUV",
        4, 5, "4WD", "4x4",
        (
            _t("L", "Laredo", "74", 38_890, 0.3, "A"),
            _t("A", "Altitude", "74", 43_190, 0.25, "B"),
            _t("T", "Limited", "74", 47_190, 0.25, "C"),
            _t("O", "Overland", "75", 58_690, 0.12, "F"),
            _t("U", "Summit", "75", 65_990, 0.08, "H"),
        ),
        (_V6_8, _4XE),
    ),
    ModelLine(
        "Grand Cherokee L", "WL", "WL", "20", "WLJL", "1C4", "RJL", 0.08, "4D Sport Utility",
        "SUV", 4, 7, "4WD", "4x4",
        (
            _t("L", "Laredo", "74", 40_890, 0.35, "A"),
            _t("T", "Limited", "74", 49_190, 0.35, "C"),
            _t("O", "Overland", "75", 60_690, 0.2, "F"),
            _t("U", "Summit", "75", 67_990, 0.1, "H"),
        ),
        (_V6_8,),
    ),
    ModelLine(
        "Compass", "MP", "CM", "10", "MPJM", "1C4", "NJD", 0.15, "4D Sport Utility", "SUV",
        4, 5, "4WD", "4x4",
        (
            _t("S", "Sport", "74", 27_995, 0.3, "A"),
            _t("A", "Latitude", "74", 30_995, 0.4, "B"),
            _t("T", "Limited", "74", 34_995, 0.2, "C"),
            _t("R", "Trailhawk", "74", 36_995, 0.1, "T"),
        ),
        (_I4T_8,),
    ),
    ModelLine(
        "Cherokee", "KM", "KC", "10", "KMJH", "1C4", "PJM", 0.06, "4D Sport Utility", "SUV",
        4, 5, "AWD", "AWD",
        (
            _t("B", "Base", "74", 36_995, 0.3, "A"),
            _t("A", "Laredo", "74", 38_995, 0.3, "B"),
            _t("T", "Limited", "74", 42_995, 0.25, "C"),
            _t("O", "Overland", "74", 45_995, 0.15, "F"),
        ),
        (_I4T_8,),
    ),
    ModelLine(
        "Gladiator", "JT", "GL", "10", "JTJL", "1C4", "JJT", 0.10, "Crew Cab", "Truck",
        4, 5, "4WD", "4x4",
        (
            _t("S", "Sport", "98", 40_095, 0.3, "A"),
            _t("K", "Nighthawk", "98", 45_495, 0.2, "G"),
            _t("M", "Mojave", "98", 51_995, 0.2, "M"),
            _t("R", "Rubicon", "98", 52_495, 0.3, "R"),
        ),
        (_V6_8,),
    ),
    ModelLine(
        "Wagoneer", "WS", "WA", "10", "WSJS", "1C4", "SJV", 0.06, "4D Sport Utility", "SUV",
        4, 8, "4WD", "4x4",
        (
            _t("B", "Base", "74", 62_945, 0.4, "A"),
            _t("A", "Series II", "74", 71_945, 0.4, "B"),
            _t("T", "Series III", "74", 79_945, 0.2, "C"),
        ),
        (_HURRICANE,),
    ),
    ModelLine(
        "Grand Wagoneer", "WS", "WA", "20", "WSJT", "1C4", "SJW", 0.04, "4D Sport Utility", "SUV",
        4, 7, "4WD", "4x4",
        (
            _t("A", "Series II", "74", 95_945, 0.6, "B"),
            _t("T", "Series III", "74", 108_945, 0.3, "C"),
            _t("O", "Obsidian", "74", 111_945, 0.1, "F"),
        ),
        (_HURRICANE,),
    ),
    ModelLine(
        "Wagoneer S", "KL", "WE", "10", "KLJL", "1C4", "KJE", 0.03, "4D Sport Utility", "SUV",
        4, 5, "AWD", "AWD",
        (
            _t("T", "Limited", "74", 65_245, 0.7, "C"),
            _t("L", "Launch Edition", "74", 71_995, 0.3, "L"),
        ),
        (_EV,),
    ),
    ModelLine(
        "Renegade", "BU", "RN", "10", "BUJT", "ZAC", "NJD", 0.02, "4D Sport Utility", "SUV",
        4, 5, "4WD", "4x4",
        (
            _t("A", "Latitude", "74", 28_195, 0.6, "B"),
            _t("R", "Trailhawk", "74", 31_695, 0.4, "T"),
        ),
        (_I4_9,),
    ),
)  # fmt: skip

DODGE = (
    ModelLine(
        "Durango", "WD", "DU", "10", "WDDH", "1C4", "SDJ", 0.45, "4D Sport Utility", "SUV",
        4, 7, "AWD", "AWD",
        (
            _t("X", "SXT", "75", 41_590, 0.35, "A"),
            _t("G", "GT", "75", 45_290, 0.35, "B"),
            _t("R", "R/T", "75", 52_790, 0.2, "C"),
            _t("H", "SRT Hellcat", "75", 89_995, 0.1, "H"),
        ),
        (_V6_8, _HEMI),
    ),
    ModelLine(
        "Hornet", "GG", "HO", "10", "GGDH", "ZAC", "PDF", 0.20, "4D Sport Utility", "SUV",
        4, 5, "AWD", "AWD",
        (
            _t("G", "GT", "74", 31_400, 0.6, "A"),
            _t("R", "R/T", "74", 41_495, 0.4, "C"),
        ),
        (_I4T_8,),
    ),
    ModelLine(
        "Charger Daytona", "LB", "CD", "10", "LBDP", "2C3", "CDX", 0.20, "2D Coupe", "Car",
        2, 5, "AWD", "AWD",
        (
            _t("R", "R/T", "22", 59_595, 0.6, "C"),
            _t("P", "Scat Pack", "22", 73_190, 0.4, "S"),
        ),
        (_EV,),
    ),
    ModelLine(
        "Charger Sixpack", "LB", "CD", "20", "LBDS", "2C3", "CDY", 0.10, "4D Sedan", "Car",
        4, 5, "AWD", "AWD",
        (
            _t("R", "R/T", "48", 49_995, 0.6, "C"),
            _t("P", "Scat Pack", "48", 54_995, 0.4, "S"),
        ),
        (_HURRICANE,),
    ),
    ModelLine(
        "Challenger", "LA", "CH", "10", "LADP", "2C3", "CDZ", 0.05, "2D Coupe", "Car",
        2, 5, "RWD", "RWD",
        (
            _t("X", "SXT", "22", 33_795, 0.5, "A"),
            _t("R", "R/T", "22", 41_795, 0.5, "C"),
        ),
        (_V6_8, _HEMI),
    ),
)  # fmt: skip

RAM = (
    ModelLine(
        "Ram 1500", "DT", "DT", "10", "DT6L", "1C6", "SRF", 0.50, "Crew Cab 5'7\" Box", "Truck",
        4, 6, "4WD", "4x4",
        (
            _t("T", "Tradesman", "98", 41_310, 0.2, "A"),
            _t("B", "Big Horn", "98", 46_615, 0.3, "B"),
            _t("R", "Rebel", "98", 61_565, 0.15, "R"),
            _t("L", "Laramie", "98", 60_550, 0.2, "L"),
            _t("U", "Limited", "98", 78_240, 0.1, "U"),
            _t("W", "Tungsten", "98", 87_995, 0.05, "W"),
        ),
        (_HURRICANE, _HEMI, _V6_8),
    ),
    ModelLine(
        "Ram 1500 Classic", "DS", "DS", "10", "DS6L", "1C6", "RRF", 0.07, "Quad Cab 6'4\" Box",
        "Truck", 4, 6, "4WD", "4x4",
        (
            _t("T", "Tradesman", "41", 39_045, 0.6, "A"),
            _t("W", "Warlock", "41", 43_310, 0.4, "W"),
        ),
        (_V6_8,),
    ),
    ModelLine(
        "Ram 2500", "DJ", "DJ", "10", "DJ7L", "3C6", "UR5", 0.18, "Crew Cab 6'4\" Box", "Truck",
        4, 6, "4WD", "4x4",
        (
            _t("T", "Tradesman", "91", 51_245, 0.3, "A"),
            _t("B", "Big Horn", "91", 54_550, 0.3, "B"),
            _t("L", "Laramie", "91", 64_075, 0.25, "L"),
            _t("P", "Power Wagon", "91", 75_025, 0.15, "P"),
        ),
        (_HD_GAS, _CUMMINS),
    ),
    ModelLine(
        "Ram 3500", "D2", "DK", "10", "D28L", "3C6", "UR6", 0.10, "Crew Cab 8' Box", "Truck",
        4, 6, "4WD", "4x4",
        (
            _t("T", "Tradesman", "93", 53_945, 0.4, "A"),
            _t("L", "Laramie", "93", 66_570, 0.4, "L"),
            _t("U", "Limited", "93", 85_960, 0.2, "U"),
        ),
        (_HD_GAS, _CUMMINS),
    ),
    ModelLine(
        "ProMaster", "VF", "PM", "10", "VF1L", "3C6", "LRV", 0.12, "High Roof 159\" WB Cargo Van",
        "Van", 4, 2, "FWD", "FWD",
        (
            _t("T", "Tradesman", "13", 48_620, 0.7, "A"),
            _t("S", "SLT+", "13", 55_890, 0.3, "S"),
        ),
        (_V6_8,),
    ),
    ModelLine(
        "ProMaster EV", "VF", "PM", "20", "VF1E", "3C6", "LRE", 0.03,
        "High Roof 159\" WB Cargo Van", "Van", 4, 2, "FWD", "FWD",
        (
            _t("T", "Tradesman", "13", 77_555, 0.6, "A"),
            _t("S", "SLT+", "13", 83_995, 0.4, "S"),
        ),
        (_EV,),
    ),
)  # fmt: skip

CHRYSLER = (
    ModelLine(
        "Pacifica", "RU", "PA", "10", "RUCL", "2C3", "RCV", 0.70, "Passenger Van", "Van",
        4, 7, "FWD", "FWD",
        (
            _t("S", "Select", "53", 43_715, 0.35, "A"),
            _t("L", "Limited", "53", 49_625, 0.35, "L"),
            _t("P", "Pinnacle", "53", 55_625, 0.3, "P"),
        ),
        (_V6_8,),
    ),
    ModelLine(
        "Pacifica Hybrid", "RU", "PA", "20", "RUCH", "2C3", "RCW", 0.18, "Passenger Van", "Van",
        4, 7, "FWD", "FWD",
        (
            _t("S", "Select", "53", 51_745, 0.5, "A"),
            _t("P", "Pinnacle", "53", 61_335, 0.5, "P"),
        ),
        (_HYBRID,),
    ),
    ModelLine(
        "Voyager", "RU", "VO", "10", "RUCV", "1C3", "RCT", 0.12, "Passenger Van", "Van",
        4, 7, "FWD", "FWD",
        (_t("X", "LX", "53", 40_730, 1.0, "A"),),
        (_V6_8,),
    ),
)  # fmt: skip

FIAT = (
    ModelLine(
        "500e", "FF", "FE", "10", "FFXL", "ZFB", "FFE", 0.85, "2D Hatchback", "Car",
        2, 4, "FWD", "FWD",
        (
            _t("R", "RED Edition", "22", 32_500, 0.4, "R"),
            _t("G", "Giorgio Armani Collector", "22", 37_500, 0.2, "G"),
            _t("B", "Beach Edition", "22", 34_500, 0.4, "B"),
        ),
        (_EV,),
    ),
    ModelLine(
        "500 Hybrid", "FF", "FH", "10", "FFXH", "ZFB", "FFH", 0.15, "2D Hatchback", "Car",
        2, 4, "FWD", "FWD",
        (_t("T", "Torino", "22", 22_995, 1.0, "T"),),
        (_I4_9,),
    ),
)  # fmt: skip

ALFA = (
    ModelLine(
        "Giulia", "GA", "GI", "10", "GAYL", "ZAR", "FAN", 0.40, "4D Sedan", "Car",
        4, 5, "AWD", "AWD",
        (
            _t("S", "Sprint", "41", 45_570, 0.4, "A"),
            _t("T", "Ti", "41", 48_570, 0.4, "B"),
            _t("Q", "Quadrifoglio", "41", 82_650, 0.2, "X"),
        ),
        (_I4T_8,),
    ),
    ModelLine(
        "Stelvio", "GU", "ST", "10", "GUYL", "ZAR", "FAK", 0.40, "4D Sport Utility", "SUV",
        4, 5, "AWD", "AWD",
        (
            _t("S", "Sprint", "74", 49_570, 0.4, "A"),
            _t("T", "Ti", "74", 52_570, 0.45, "B"),
            _t("Q", "Quadrifoglio", "74", 90_150, 0.15, "X"),
        ),
        (_I4T_8,),
    ),
    ModelLine(
        "Tonale", "GH", "TO", "10", "GHYL", "ZAR", "PAA", 0.20, "4D Sport Utility", "SUV",
        4, 5, "AWD", "AWD",
        (
            _t("S", "Sprint", "74", 42_490, 0.5, "A"),
            _t("V", "Veloce", "74", 45_490, 0.5, "V"),
        ),
        (_HYBRID,),
    ),
)  # fmt: skip

LINES: dict[str, tuple[ModelLine, ...]] = {
    "jeep.com": JEEP,
    "dodge.com": DODGE,
    "ramtrucks.com": RAM,
    "chrysler.com": CHRYSLER,
    "fiatusa.com": FIAT,
    "alfaromeousa.com": ALFA,
}
