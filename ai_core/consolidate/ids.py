"""Entity ids: SHA-256 of a documented canonical string, so they never change with a library.

The canonical string of a key is

    ai-id/v1|<namespace>|<field>=<value>|<field>=<value>...

with the fields in their declared order (`hash_all`), or only the first alternative holding a
value (`first_non_empty`). An alternative is a field, or a group of fields that identify only
together (`[dealer_code, order_number]` in `key_fields`): a group holds a value when every one
of its fields does, and is written as its fields in their order, for example

    ai-id/v1|stellantis/us/inventory|dealer_code=5:68302|order_number=6:002516

so an alternative of one field is written as it always was. A value is written `<n>:<text>`,
where `<n>` is the UTF-8 byte length of `<text>`; a missing value is written `-`. The length
prefix makes the encoding unambiguous without escaping. Text is: strings as they are, integers
in base 10, dates as `YYYY-MM-DD`, booleans as `true`/`false`. An empty string counts as
missing. The namespace (for example `stellantis/US/dealers`) keeps two entities with equal keys
apart.

The id is the lowercase hex SHA-256 of the UTF-8 bytes of that string (64 characters), computed
by the `polars-hash` plugin; any language can reproduce it, e.g.
`hashlib.sha256(canonical.encode()).hexdigest()`. A key with no value at all has a null id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import chain

import polars as pl
import polars_hash as plh

from ai_core.consolidate.spec import IdPolicy, key_alternatives

ID_VERSION = "ai-id/v1"

_KEY_TYPES = (pl.String, pl.Categorical, pl.Enum, pl.Date, pl.Boolean)


def key_text(name: str, dtype: pl.DataType, where: str) -> pl.Expr:
    """The field's canonical text, null when missing or empty."""
    if not (isinstance(dtype, _KEY_TYPES) or dtype.is_integer()):
        raise TypeError(
            f"{where}: key field {name!r} has type {dtype}; ids are defined for string, "
            "integer, date and boolean keys: cast it in the transformed tier"
        )
    text = pl.col(name).cast(pl.String)
    return pl.when(text.str.len_bytes() > 0).then(text)


def _encoded(name: str, text: pl.Expr) -> pl.Expr:
    value = pl.format("{}:{}", text.str.len_bytes(), text)
    return pl.lit(f"{name}=") + pl.coalesce(value, pl.lit("-"))


def canonical_key(
    namespace: str,
    fields: Sequence[str | Sequence[str]],
    schema: Mapping[str, pl.DataType],
    policy: IdPolicy,
    where: str = "entity",
) -> pl.Expr:
    """The canonical string of each row's key (null when no alternative has a value).

    `fields` are the key's alternatives, each a field name or a group of names."""
    alternatives = key_alternatives(fields)
    flat = list(chain.from_iterable(alternatives))
    missing = [f for f in flat if f not in schema]
    if missing:
        raise KeyError(
            f"{where}: key fields {missing} are not columns of the merged entity "
            f"(columns: {sorted(schema)}); fix key_fields or the sources' rename"
        )
    texts = {f: key_text(f, schema[f], where) for f in flat}
    prefix = f"{ID_VERSION}|{namespace}|"
    if policy == "hash_all":
        parts = [_encoded(f, t) for f, t in texts.items()]
        body = pl.concat_str(parts, separator="|")
        any_value = pl.any_horizontal([t.is_not_null() for t in texts.values()])
        return pl.when(any_value).then(pl.lit(prefix) + body)
    chosen = pl.coalesce(
        pl.when(pl.all_horizontal(texts[f].is_not_null() for f in alt)).then(
            pl.concat_str([_encoded(f, texts[f]) for f in alt], separator="|")
        )
        for alt in alternatives
    )
    return pl.lit(prefix) + chosen


def entity_id(
    namespace: str,
    fields: Sequence[str | Sequence[str]],
    schema: Mapping[str, pl.DataType],
    policy: IdPolicy,
    where: str = "entity",
) -> pl.Expr:
    """Hex SHA-256 of `canonical_key` (see the module docstring for the exact encoding)."""
    canonical = canonical_key(namespace, fields, schema, policy, where)
    return plh.CryptographicHashingNameSpace(canonical).sha2_256()
