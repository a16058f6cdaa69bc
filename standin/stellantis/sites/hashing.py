"""Version-independent integer hashing, the same in Python and on Polars series.

Every simulated attribute is a function of integers (seed, brand, vehicle id, day) through `mix`.
Polars' own `hash()` changes between Polars releases; this one is plain integer arithmetic on
values below 2**31, so products stay below 2**62, and the served bytes never depend on the
installed Polars.
"""

from __future__ import annotations

import polars as pl

MODULUS = 2_147_483_647  # 2**31 - 1, a prime
_A = 1_103_515_245
_B = 48_271
_C = 69_621


def mix(x: int) -> int:
    """A well-spread value in [0, MODULUS) from any integer."""
    x %= MODULUS
    x = (x * _A + 12_345) % MODULUS
    x ^= x >> 15
    x = (x * _B + 7) % MODULUS
    x ^= x >> 13
    x = (x * _C + 3) % MODULUS
    return x ^ (x >> 16)


def mix_series(x: pl.Series) -> pl.Series:
    """`mix` over an Int64 series, value for value.

    Evaluated step by step on series: as one expression the reuse of `x` in every xor-shift
    would double the expression tree per step.
    """
    x = x % MODULUS
    x = (x * _A + 12_345) % MODULUS
    x = x ^ (x // 2**15)
    x = (x * _B + 7) % MODULUS
    x = x ^ (x // 2**13)
    x = (x * _C + 3) % MODULUS
    return x ^ (x // 2**16)


def key(*parts: int) -> int:
    """One integer key from several, order-sensitive."""
    h = 0
    for part in parts:
        h = mix(h * 31 + part)
    return h


def uniform(*parts: int) -> float:
    """A uniform number in [0, 1) from integer parts."""
    return key(*parts) / MODULUS


def uniform_series(ids: pl.Series, salt: int) -> pl.Series:
    """A uniform Float64 in [0, 1) per id; `salt` (already mixed with the seed) picks the stream."""
    mixed = mix_series(mix_series(ids.cast(pl.Int64) + salt) + salt % 9973)
    return mixed.cast(pl.Float64) / MODULUS
