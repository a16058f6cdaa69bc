"""Steps as Celery tasks on separate worker processes, with the broker named by the environment.

`DAGSTER_CELERY_BROKER_URL` (for example `redis://redis.internal:6379/0`) and
`DAGSTER_CELERY_BACKEND_URL` are read when a run starts. Workers are started with
`dagster-celery worker start -A dagster_celery.app -y celery.yaml` and share the Dagster
instance (Postgres storage), the catalog and the warehouse with the run.
"""

from dagster_celery import celery_executor

from ai_stellantis.definitions import location

defs = location(
    executor=celery_executor.configured(
        {
            "broker": {"env": "DAGSTER_CELERY_BROKER_URL"},
            "backend": {"env": "DAGSTER_CELERY_BACKEND_URL"},
        }
    )
)
