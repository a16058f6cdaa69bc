"""Apache Iceberg storage for the platform: catalog, day-partition writer, IO manager, resource.

An asset `a/b/c` is the table `a_b.c`, partitioned by identity on `_partition_date`; each
daily partition of the asset is one day of the table, replaced atomically on every write.
Import from the modules (`ai_core.iceberg.io_manager`, `.resource`, `.writer`, ...): this
package file imports no Dagster, so a writer process does not pay for it. It only installs the
Arrow memory pool every reader and writer here relies on (see `ai_core.iceberg.memory`).
"""

from ai_core.iceberg.memory import configure_arrow_memory

configure_arrow_memory()
