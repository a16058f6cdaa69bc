"""The six Stellantis brands of the US market as the public sites name them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Brand:
    name: str
    letter: str
    domain: str
    code_letter: str


BRANDS: tuple[Brand, ...] = (
    Brand("Jeep", "J", "jeep.com", "J"),
    Brand("Dodge", "D", "dodge.com", "D"),
    Brand("Ram", "R", "ramtrucks.com", "T"),
    Brand("Chrysler", "C", "chrysler.com", "C"),
    Brand("Fiat", "X", "fiatusa.com", "X"),
    Brand("Alfa Romeo", "Y", "alfaromeousa.com", "Y"),
)
BY_DOMAIN = {b.domain: b for b in BRANDS}


def resolve_brands(spec: str) -> list[Brand]:
    """Brands from a comma list of domains or names (`jeep.com,Ram`), in the list's order."""
    lookup = {b.domain: b for b in BRANDS} | {b.name.lower(): b for b in BRANDS}
    lookup |= {b.domain.split(".")[0]: b for b in BRANDS}
    chosen: list[Brand] = []
    for item in (part.strip().lower() for part in spec.split(",")):
        if not item:
            continue
        if item not in lookup:
            known = ", ".join(b.domain for b in BRANDS)
            raise ValueError(f"STELLANTIS_BRANDS names an unknown brand {item!r}; known: {known}")
        if lookup[item] not in chosen:
            chosen.append(lookup[item])
    if not chosen:
        raise ValueError("STELLANTIS_BRANDS is empty: name at least one brand domain")
    return chosen
