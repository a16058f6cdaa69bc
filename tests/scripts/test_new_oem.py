"""`scripts/new-oem.sh` scaffolds an OEM into a copy of the repository that then tests green."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from ai_core.location import STEP_SERVER, STEP_SERVER_IMPORTS

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parents[1]
COPIED = ["ai_core", "ai_stellantis", "scripts", "pyproject.toml", "workspace.yaml",
          "dagster_cloud.yaml", "tests/__init__.py", "tests/conftest.py", "tests/catalogs.py",
          "tests/servers.py", "tests/component_yaml.py"]  # fmt: skip
REGISTRATIONS = ["pyproject.toml", "workspace.yaml", "dagster_cloud.yaml"]
LOCATION_SHAPE = """
import json, sys
from ai_acme.definitions import defs
job = defs().resolve_job_def("acme_daily")
forked = job.executor_def.apply_config_mapping({"config": {}}).value["config"]
server = forked["multiprocess"]["start_method"]["forkserver"]
libraries = sorted({m.split(".")[0] for m in sys.modules if m.startswith("dagster_aws")})
print(json.dumps({"component_libraries": libraries, "preloaded": server["preload_modules"]}))
"""
YAML_SCHEMAS = """
import json, pathlib
from tests.component_yaml import documents, schema_errors
docs = [d for _, _, d in documents(pathlib.Path("ai_acme/defs"))]
types = sorted({d["type"] for d in docs})
print(json.dumps({"types": types, "errors": [e for d in docs for e in schema_errors(d)]}))
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the repository's code and registrations, sharing this environment."""
    copy = tmp_path / "repo"
    for name in COPIED:
        source, target = ROOT / name, copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    (copy / ".venv").symlink_to(VENV)
    return copy


def run(repo: Path, *command: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=timeout)


def test_a_scaffolded_oem_is_registered_loads_and_passes_its_own_tests(repo: Path) -> None:
    made = run(repo, "bash", "scripts/new-oem.sh", "acme", "--start-date", "2026-11-01")
    assert made.returncode == 0, made.stderr
    for path in ["ai_acme/definitions.py", "ai_acme/steps.py", "ai_acme/components.py",
                 "ai_acme/entities/item.py",
                 "ai_acme/defs/raw/defs.yaml", "ai_acme/defs/transformed/defs.yaml",
                 "ai_acme/defs/consolidated/defs.yaml", "ai_acme/defs/schedules/defs.yaml",
                 "tests/ai_acme/test_definitions.py", "tests/ai_acme/test_day.py"]:  # fmt: skip
        assert (repo / path).is_file(), path
    written = "".join(p.read_text() for p in (repo / "ai_acme").rglob("*.*"))
    # Scaffold placeholders are all filled; Dagster's own `{{ start_date }}` stays for load time.
    assert re.findall(r"\{\{\w+\}\}", written) == []
    assert '"2026-11-01"' in (repo / "ai_acme" / "partitions.py").read_text()

    workspace = yaml.safe_load((repo / "workspace.yaml").read_text())["load_from"]
    assert [e["python_module"]["location_name"] for e in workspace] == ["ai_stellantis", "ai_acme"]
    cloud = yaml.safe_load((repo / "dagster_cloud.yaml").read_text())["locations"]
    assert [c["code_source"]["module_name"] for c in cloud] == [
        "ai_stellantis.definitions",
        "ai_acme.definitions",
    ]
    project = tomllib.loads((repo / "pyproject.toml").read_text())
    assert "ai_acme" in project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert "ai_acme" in project["tool"]["mypy"]["packages"]

    new = ["ai_acme", "tests/ai_acme"]
    bin_dir = VENV / "bin"
    lint = run(repo, str(bin_dir / "ruff"), "check", *new)
    assert lint.returncode == 0, lint.stdout
    layout = run(repo, str(bin_dir / "ruff"), "format", "--check", *new)
    assert layout.returncode == 0, layout.stdout

    # The real CLI loads every location the workspace names, the new one beside Stellantis.
    loaded = run(repo, str(bin_dir / "dagster"), "definitions", "validate", "-w", "workspace.yaml")
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert "All code locations passed validation" in loaded.stderr + loaded.stdout

    # As Stellantis' does: the location builds its own `defs/` folder, not every installed
    # component library, and its daily job forks steps from the server its `steps` preloads.
    shape = run(repo, sys.executable, "-c", LOCATION_SHAPE)
    assert shape.returncode == 0, shape.stderr[-3000:]
    assert json.loads(shape.stdout.splitlines()[-1]) == {
        "component_libraries": [],
        "preloaded": [*STEP_SERVER_IMPORTS, "ai_acme.steps", STEP_SERVER],
    }

    # dg finds the new location's component types, and its YAML passes their schemas.
    # The copy's root on the path, as an editable install of it would put it.
    listed = subprocess.run(
        [str(bin_dir / "dg"), "list", "components", "--json"],
        cwd=repo,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")])),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert listed.returncode == 0, listed.stderr[-3000:]
    schemas = run(repo, sys.executable, "-c", YAML_SCHEMAS)
    assert schemas.returncode == 0, schemas.stderr[-3000:]
    found = json.loads(schemas.stdout.splitlines()[-1])
    assert found["errors"] == []
    assert "ai_acme.components.AcmeRawSource" in found["types"]
    assert set(found["types"]) <= {item["key"] for item in json.loads(listed.stdout)["items"]}

    tested = run(
        repo, sys.executable, "-m", "pytest", "tests/ai_acme", "-q", "-p", "no:cacheprovider"
    )
    assert tested.returncode == 0, tested.stdout[-3000:]
    assert "6 passed" in tested.stdout


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Big-Motors", "is not a usable OEM name"),
        ("stellantis", "ai_stellantis already exists"),
    ],
)
def test_a_name_that_cannot_be_used_is_refused_and_nothing_is_written(
    repo: Path, name: str, reason: str
) -> None:
    before = {f: (repo / f).read_text() for f in REGISTRATIONS}
    made = run(repo, sys.executable, "scripts/new_oem.py", name)
    assert made.returncode == 2
    assert reason in made.stderr
    assert {f: (repo / f).read_text() for f in REGISTRATIONS} == before
    assert not (repo / "tests" / f"ai_{name}").exists()
