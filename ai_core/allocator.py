"""Which allocator Arrow's buffers come from, chosen once for the process."""

from __future__ import annotations

import contextlib
import os

import pyarrow as pa


def use_jemalloc() -> None:
    """Allocate Arrow's buffers with jemalloc, unless `ARROW_DEFAULT_MEMORY_POOL` names a pool.

    With the wheels' default, mimalloc, the same read of a raw day cost several times more CPU in
    some processes than in others; with jemalloc it costs the same every time (figures in
    benchmarks/README.md). A build without jemalloc keeps its default.
    """
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    with contextlib.suppress(NotImplementedError):
        pa.set_memory_pool(pa.jemalloc_memory_pool())
