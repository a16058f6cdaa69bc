"""Dagster+ Hybrid on ECS: every step its own Fargate task, as the first deployment ran.

Steps get 2 GB (the raw imports need it) and 1 vCPU; runs must be launched by the ECS run
launcher of the Hybrid agent, whose task definition the step tasks reuse.
"""

from dagster_aws.ecs import ecs_executor

from ai_stellantis.definitions import location

defs = location(
    executor=ecs_executor.configured({"cpu": 1024, "memory": 2048, "max_concurrent": 8})
)
