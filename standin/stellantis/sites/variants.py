"""Static lookup tables of one brand: every (line, trim, powertrain) variant with its fragments.

A vehicle picks a variant by weight; everything that depends only on the variant (codes, the VIN
prefix and its check-digit share, descriptive JSON fragments) is computed here once, so the
per-vehicle rendering is a join plus string concatenation.
"""

from __future__ import annotations

import orjson
import polars as pl

from standin.stellantis.sites import vin
from standin.stellantis.sites.catalog import BrandSpec

_ENGINE_CHARS = "ABCDEFGHJK"


def json_text(value: str) -> str:
    """`value` escaped for use inside a JSON string literal."""
    return orjson.dumps(value).decode()[1:-1]


def _fragment(obj: dict[str, object]) -> str:
    """Object members as JSON without the braces, to be concatenated with others."""
    return orjson.dumps(obj).decode()[1:-1]


def variant_frame(brand: BrandSpec) -> pl.DataFrame:
    """One row per variant of the brand, with its cumulative pick weight `v_cum` in (0, 1]."""
    rows: list[dict[str, object]] = []
    for li, line in enumerate(brand.lines):
        t_total = sum(t.weight for t in line.trims)
        p_total = sum(p.weight for p in line.powertrains)
        for trim in line.trims:
            for pt in line.powertrains:
                wmi_vds = line.wmi + line.vds + trim.vin_char + _ENGINE_CHARS[int(pt.digit)]
                static_sum = vin.prefix_sum(wmi_vds)
                model_code = line.model_prefix + trim.model_suffix
                rows.append(
                    {
                        "line_idx": li,
                        "weight": line.share * trim.weight / t_total * pt.weight / p_total,
                        "line_name": line.name,
                        "family": line.family,
                        "myc_head": line.myc + brand.code_letter,
                        "myc_tail": line.myc_suffix,
                        "model_code": model_code,
                        "cpp": f"2{pt.digit}{trim.letter}",
                        "qop": f"2{_ENGINE_CHARS[int(pt.digit)]}{trim.letter}",
                        "trim_letter": trim.letter,
                        "price_base": trim.msrp + pt.adder,
                        "wmi_vds": wmi_vds,
                        "vin_static_sum": static_sum,
                        "engine_code": pt.engine_code,
                        "transmission_code": pt.transmission_code,
                        "desc_tail": json_text(
                            f"{brand.name} {line.name} {trim.name} {line.drivetrain}"
                        ),
                        "f_model": _fragment(
                            {"model": line.name, "vehicleType": line.vehicle_type}
                        ),
                        "f_trim": _fragment({"trimDesc": trim.name}),
                        "f_static": _fragment(
                            {
                                "bodyStyle": line.body_style,
                                "drivetrain": line.drivetrain,
                                "engineDesc": pt.engine_desc,
                                "engineCode": pt.engine_code,
                                "transmissionDesc": pt.transmission_desc,
                                "transmissionCode": pt.transmission_code,
                                "fuelType": pt.fuel_type,
                                "mpgCity": "" if pt.mpg_city is None else pt.mpg_city,
                                "mpgHwy": "" if pt.mpg_hwy is None else pt.mpg_hwy,
                            }
                        ),
                        "f_attrs": _fragment(
                            {
                                "attributes": {
                                    "attributes": [
                                        {"typeId": 1, "typeDesc": "Drive", "value": line.drive},
                                        {
                                            "typeId": 2,
                                            "typeDesc": "Doors",
                                            "value": str(line.doors),
                                        },
                                        {
                                            "typeId": 3,
                                            "typeDesc": "Seats",
                                            "value": str(line.seats),
                                        },
                                        {"typeId": 4, "typeDesc": "Real Trim", "value": trim.name},
                                        {
                                            "typeId": 5,
                                            "typeDesc": "Power Source",
                                            "value": pt.power_source,
                                        },
                                    ]
                                }
                            }
                        ),
                    }
                )
    frame = pl.DataFrame(rows)
    total = frame["weight"].sum()
    return frame.with_columns(
        v_idx=pl.int_range(pl.len(), dtype=pl.Int64),
        v_cum=pl.col("weight").cum_sum() / total,
    )


def colour_frames(brand: BrandSpec) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Paints and interiors of the brand with their JSON fragments, indexed from 0."""
    paints = pl.DataFrame(
        {
            "paint_idx": list(range(len(brand.paints))),
            "paint_code": [p.code for p in brand.paints],
            "f_paint": [
                _fragment({"exteriorColorCode": p.code, "exteriorColorDesc": p.desc})
                for p in brand.paints
            ],
        },
        schema_overrides={"paint_idx": pl.Int64},
    )
    interiors = pl.DataFrame(
        {
            "int_idx": list(range(len(brand.interiors))),
            "int_code": [i.code for i in brand.interiors],
            "f_int": [
                _fragment({"interiorColorCode": i.code, "interiorColorDesc": i.desc})
                for i in brand.interiors
            ],
            "f_fabric": [_fragment({"interiorFabric": i.fabric}) for i in brand.interiors],
        },
        schema_overrides={"int_idx": pl.Int64},
    )
    return paints, interiors
