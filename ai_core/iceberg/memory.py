"""Arrow's allocator, chosen so a long day-partition run hands freed memory back at once.

pyarrow's default pool (mimalloc) keeps what a batch freed for reuse, so a run that reads or writes
thousands of 100 KB pages one batch at a time creeps upwards: re-reading a national raw day grew
the process by about 150 MB while Arrow itself never held more than 40 MB. jemalloc with its decay
set to zero returns freed pages to the system immediately: on a national raw day the re-read
then stays within about 80 MB and the whole raw stage peaks about 100 MB lower, for about a
second more CPU in the re-read (longer decays keep most of the growth: 100 ms still peaked
40 MB higher than zero).

`AI_ARROW_MEMORY_POOL` picks the pool: `jemalloc` (the default, when pyarrow is built with it),
`mimalloc`, `system`, or `pyarrow` to leave pyarrow's own choice (and `ARROW_DEFAULT_MEMORY_POOL`).
"""

from __future__ import annotations

import os

import pyarrow as pa

ENV = "AI_ARROW_MEMORY_POOL"
POOLS = ("jemalloc", "mimalloc", "system", "pyarrow")


def configure_arrow_memory(choice: str | None = None) -> str:
    """Install the chosen pool as pyarrow's default; returns the backend in use."""
    choice = (choice or os.environ.get(ENV) or "jemalloc").strip().lower()
    if choice not in POOLS:
        raise ValueError(f"{ENV}={choice!r}: expected one of {', '.join(POOLS)}")
    if choice == "jemalloc":
        try:
            pool = pa.jemalloc_memory_pool()
        except NotImplementedError:  # a pyarrow build without jemalloc keeps its default
            return pa.default_memory_pool().backend_name
        pa.set_memory_pool(pool)
        pa.jemalloc_set_decay_ms(0)
    elif choice == "mimalloc":
        pa.set_memory_pool(pa.mimalloc_memory_pool())
    elif choice == "system":
        pa.set_memory_pool(pa.system_memory_pool())
    return pa.default_memory_pool().backend_name


__all__ = ["ENV", "configure_arrow_memory"]
