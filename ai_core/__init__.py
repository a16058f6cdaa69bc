"""The OEM-agnostic library. A process that imports it allocates Arrow's buffers with jemalloc
(`ai_core.allocator`), before it reads any table."""

from ai_core.allocator import use_jemalloc

use_jemalloc()
