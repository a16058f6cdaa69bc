"""Apache Iceberg storage for the platform: catalog, day-partition writer, IO manager, resource.

An asset `a/b/c` is the table `a_b.c`, partitioned by identity on `_partition_date`; each
daily partition of the asset is one day of the table, replaced atomically on every write.
Import from the modules (`ai_core.iceberg.io_manager`, `.resource`, `.writer`, ...): this
package file stays empty so a writer process does not pay for importing Dagster.
"""
