"""Field transforms the Stellantis entities share: brand from the request's domain, its evidence
in the VIN and the image renderer, image URLs, and the identifiers hidden in other codes.

The brand of a record is the brand whose site answered (the first part of `_sub_resource`); the
upstream `brand` text is kept as published and a difference is flagged, never fatal. Each
transform is written once for the per-record path and once as a Polars expression.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

import polars as pl

from ai_core.http.redact import REDACTED
from ai_core.transform import (
    Coercer,
    Derived,
    Fallback,
    Matches,
    OnlyMatch,
    RegexGroup,
    Slice,
    Text,
    Upper,
)
from ai_core.transform.scalars import ascii_lower, ascii_lower_expr
from ai_stellantis.brands import BRANDS

BRAND_NAMES: dict[str, str] = {b.domain: b.name for b in BRANDS}
BRAND_LETTERS: dict[str, str] = {b.domain: b.letter for b in BRANDS}
WMI_BRANDS: dict[str, str] = {
    "1C3": "DC",
    "1C4": "JDC",
    "1C6": "R",
    "2C3": "DC",
    "2C4": "C",
    "3C4": "JX",
    "3C6": "R",
    "3C7": "R",
}
"""Brand letters that build vehicles under each maker code (WMI), as far as it is known. Of the
Italian plants' codes (`ZAC`, `ZAR`, `ZFA`, `ZFB`) the sites say only that they are Italian-built,
not which brands each builds, so they are left unknown."""

VIN_PATTERN = r"^[A-HJ-NPR-Z0-9]{17}$"
Vin = Annotated[Text, Upper(), Matches(VIN_PATTERN)]
"""A VIN, its ASCII letters read in upper case as VINs are case-insensitive; text of another
form rejects the record."""


_UPPER = Upper()


def _vin_or_null(text: str | None) -> str | None:
    value = _UPPER.python(text)
    return value if value is not None and re.fullmatch(VIN_PATTERN, value) else None


OptionalVin = Annotated[
    str | None,
    Coercer(
        "vin",
        _vin_or_null,
        (*_UPPER.steps(), lambda upper: pl.when(upper.str.contains(VIN_PATTERN)).then(upper)),
        pl.String(),
    ),
]
"""A VIN on a record keyed by something else (a dealer's order number), read as `Vin` is; text of
another form (a placeholder such as `PENDING`) reads as null and is counted as unreadable, and
the record is kept."""
CPP_PATTERN = r"^2[0-9][A-Z]$"
IMAGE_BRAND_PATTERN = r"(?:^|&)brand=([^&]*)"

MODEL_CODE = Slice(9, 6)
"""The model code: characters 10-15 of `ccode`, after the 9-character model-year code."""
CPP = OnlyMatch(CPP_PATTERN)
"""The customer preferred package: the one option code of the form `2<digit><letter>`, however
often the options list it."""
MAKER_CODE = Slice(0, 3)
"""The VIN's maker code (WMI)."""
IMAGE_BRAND = RegexGroup(IMAGE_BRAND_PATTERN)
"""The brand letter the image renderer is asked for (`brand=J`)."""

DOMAIN = pl.col("_sub_resource").str.split("/").list.first()


def domain_of(provenance: Mapping[str, Any]) -> str:
    return str(provenance.get("_sub_resource") or "").split("/")[0]


def _asked_code(record: Any, provenance: Mapping[str, Any]) -> str | None:
    _, _, code = str(provenance.get("_sub_resource") or "").partition("/")
    return code or None


_ASKED = pl.col("_sub_resource").str.splitn("/", 2).struct.field("field_1")
ASKED_MODEL_YEAR_CODE = Fallback(
    _asked_code,
    pl.when(_ASKED != "").then(_ASKED),
    doc="the model-year code the page was asked for, where the vehicle lists none",
)
"""An inventory page lists the vehicles of the code it was asked for (`domain/code`)."""


def _brand(record: Any, provenance: Mapping[str, Any]) -> str | None:
    name = BRAND_NAMES.get(domain_of(provenance))
    return name if name is not None else getattr(record, "published_brand", None)


def brand_from_domain(published: str | None = "published_brand") -> Derived:
    """The brand of the site that answered; for an unknown site, the brand as published."""
    named = DOMAIN.replace_strict(BRAND_NAMES, default=None, return_dtype=pl.String)
    if published is None:
        return Derived(
            lambda record, provenance: BRAND_NAMES.get(domain_of(provenance)),
            named,
            doc="brand of the answering site",
        )
    return Derived(_brand, pl.coalesce(named, pl.col(published)), doc="brand of the site")


BRAND_CORRECTED = Derived(
    lambda record, provenance: (
        domain_of(provenance) in BRAND_NAMES
        and ascii_lower(record.published_brand or "") != ascii_lower(record.brand or "")
    ),
    DOMAIN.is_in(list(BRAND_NAMES))
    & ascii_lower_expr(pl.col("published_brand").fill_null("")).ne(
        ascii_lower_expr(pl.col("brand").fill_null(""))
    ),
    doc="the published brand is not the brand of the site, its ASCII letters in any case (or is "
    "missing)",
)


def _vin_matches(record: Any, provenance: Mapping[str, Any]) -> bool | None:
    letters = WMI_BRANDS.get(record.maker_code or "")
    letter = BRAND_LETTERS.get(domain_of(provenance))
    return None if letters is None or letter is None else letter in letters


VIN_MATCHES_BRAND = Derived(
    _vin_matches,
    pl.when(pl.col("maker_code").is_in(list(WMI_BRANDS)) & DOMAIN.is_in(list(BRAND_LETTERS))).then(
        pl.col("maker_code")
        .replace_strict(WMI_BRANDS, default=None, return_dtype=pl.String)
        .str.contains(DOMAIN.replace_strict(BRAND_LETTERS, default=None), literal=True)
    ),
    doc="the VIN's maker code builds the site's brand; null when either is unknown",
)


def _image_matches(record: Any, provenance: Mapping[str, Any]) -> bool | None:
    letter = BRAND_LETTERS.get(domain_of(provenance))
    if record.image_brand is None or letter is None:
        return None
    return record.image_brand == letter


IMAGE_BRAND_MATCHES = Derived(
    _image_matches,
    pl.when(DOMAIN.is_in(list(BRAND_LETTERS))).then(
        pl.col("image_brand") == DOMAIN.replace_strict(BRAND_LETTERS, default=None)
    ),
    doc="the image renderer is asked for the site's brand; null when either is unknown",
)


ORIGIN_PATTERN = r"^([A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)"
REDACTED_USER = (f"://{REDACTED}@", "://")
"""A stored URL's user information, redacted, which a link to the site leaves out."""


def _site(url: pl.Expr) -> pl.Expr:
    around = url.str.splitn("/hostd/", 2)
    return (
        pl.when(around.struct.field("field_1").is_not_null())
        .then(around.struct.field("field_0"))
        .otherwise(url.str.extract(ORIGIN_PATTERN, 1))
        .str.replace(*REDACTED_USER, literal=True)
    )


# Every vehicle carries its page's URL: the site is worked out once per page, then looked up.
# Both uses of `_URLS` must list the URLs in the same order, hence `maintain_order`.
_URLS = pl.col("_request_url").unique(maintain_order=True)
SITE = pl.col("_request_url").replace_strict(_URLS, _site(_URLS), return_dtype=pl.String)
"""The site the page came from (`https://www.jeep.com` in production): its request URL before
`/hostd/`, as the base URL template built it, or the URL's origin when a redirect left `/hostd/`
(which drops a base URL's own path, as a local stand-in's `/{domain}`)."""


def site_of(provenance: Mapping[str, Any]) -> str | None:
    url = str(provenance.get("_request_url") or "")
    before, found, _ = url.partition("/hostd/")
    origin = re.match(ORIGIN_PATTERN, url)
    site = before if found else (origin[1] if origin else None)
    return None if site is None else site.replace(*REDACTED_USER, 1)


def image_url(query: str) -> Derived:
    """`{site}/mediaserver/iris?{query}` for a known brand's site, else null."""

    def compute(record: Any, provenance: Mapping[str, Any]) -> str | None:
        value = getattr(record, query)
        site = site_of(provenance)
        if value is None or site is None or domain_of(provenance) not in BRAND_NAMES:
            return None
        return f"{site}/mediaserver/iris?{value}"

    expr = pl.when(pl.col(query).is_not_null() & DOMAIN.is_in(list(BRAND_NAMES))).then(
        pl.concat_str(SITE, pl.lit("/mediaserver/iris?"), pl.col(query))
    )
    return Derived(compute, expr, doc=f"image URL from {query}")


UNKNOWN_BRAND_IMAGE = (pl.col("ext_image").is_not_null() & pl.col("ext_image_url").is_null()) | (
    pl.col("int_image").is_not_null() & pl.col("int_image_url").is_null()
)
"""A record with an image query but no URL: its site is not a known brand."""
