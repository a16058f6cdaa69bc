"""The deployment modules and Dagster+ Hybrid files load, with their executors and sizes."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("module", "executor"),
    [("celery", "celery"), ("kubernetes", "k8s"), ("ecs", "ecs")],
)
def test_each_deployment_module_is_the_location_with_its_executor(
    module: str, executor: str
) -> None:
    from ai_stellantis.definitions import defs as location

    deployed = importlib.import_module(f"ai_stellantis.deploy.{module}").defs
    dg.Definitions.validate_loadable(deployed)
    job = deployed.resolve_job_def("stellantis_daily")
    assert job.executor_def.name == executor
    assert set(deployed.resolve_all_asset_keys()) == set(location().resolve_all_asset_keys())


def test_kubernetes_steps_are_sized_per_step_and_name_real_steps() -> None:
    from ai_stellantis.deploy.kubernetes import PER_STEP_K8S_CONFIG, STEP_K8S_CONFIG, defs

    steps = {node.name for node in defs.resolve_job_def("stellantis_daily").graph.nodes}
    assert set(PER_STEP_K8S_CONFIG) <= steps
    assert memory(PER_STEP_K8S_CONFIG["stellantis__raw__public_inventory"]) == "2Gi"
    assert memory(STEP_K8S_CONFIG) == "1Gi"


def memory(k8s_config: dict[str, Any]) -> str:
    return k8s_config["container_config"]["resources"]["limits"]["memory"]


@pytest.mark.parametrize("target", ["kubernetes", "ecs"])
def test_hybrid_files_point_at_a_loadable_module_and_give_the_run_2_gb(target: str) -> None:
    config = yaml.safe_load((ROOT / "deploy" / f"dagster_cloud.{target}.yaml").read_text())
    (location,) = config["locations"]
    module = importlib.import_module(location["code_source"]["module_name"])
    assert isinstance(module.defs, dg.Definitions)
    context = location["container_context"]
    if target == "kubernetes":
        assert memory(context["k8s"]["run_k8s_config"]) == "2Gi"
    else:
        assert context["ecs"]["run_resources"]["memory"] == "2048"
