"""The Stellantis location with a production executor: one module per way of running steps.

Each module exposes `defs`, the location of `ai_stellantis.definitions` with its executor set.
Point `dagster_cloud.yaml` (or `-m` of the dagster CLI) at the module that fits the deployment;
each needs its optional dependency set (`celery`, `k8s`, `ecs`). Steps hand each other data only
through the Iceberg catalog and its warehouse, so any executor that runs them as separate
processes or containers works.
"""
