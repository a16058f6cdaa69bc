"""Dagster+ Hybrid on Kubernetes: every step its own pod, sized per step.

The raw inventory step holds a whole sub-resource's pages while it streams them into the
catalog: it gets 2 GiB, the size the first production deployment found necessary. Other steps
get 1 GiB. The run pod itself only orchestrates (see `dagster_cloud.yaml`).
"""

from dagster_k8s import k8s_job_executor

from ai_stellantis.definitions import location


def _resources(memory: str, cpu: str) -> dict[str, object]:
    return {
        "container_config": {
            "resources": {
                "requests": {"cpu": cpu, "memory": memory},
                "limits": {"memory": memory},
            }
        }
    }


STEP_K8S_CONFIG = _resources(memory="1Gi", cpu="500m")
PER_STEP_K8S_CONFIG = {"stellantis__raw__public_inventory": _resources(memory="2Gi", cpu="1")}

defs = location(
    executor=k8s_job_executor.configured(
        {
            "max_concurrent": 8,
            "step_k8s_config": STEP_K8S_CONFIG,
            "per_step_k8s_config": PER_STEP_K8S_CONFIG,
        }
    )
)
