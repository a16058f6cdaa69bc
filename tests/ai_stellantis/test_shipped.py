"""The code location ships what production runs: the stand-ins stay out of it."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Builds every asset, check and schedule of the location, then lists what that imported.
LOAD = """
import json, sys
from ai_stellantis.definitions import defs
defs().resolve_asset_graph()
print(json.dumps(sorted(sys.modules)))
"""


def test_loading_the_location_imports_no_stand_in() -> None:
    out = subprocess.run(
        [sys.executable, "-c", LOAD], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    modules = json.loads(out.stdout.splitlines()[-1])
    assert "ai_stellantis.sources.public_sites" in modules
    assert [m for m in modules if m == "standin" or m.startswith("standin.")] == []
    assert "duckdb" not in modules
    # A component library the location does not use is not imported to list its types for the UI.
    assert [m for m in modules if m.startswith("dagster_aws")] == []
    # Clients only some steps use are imported by those steps, not by every process.
    for client in ("google", "dagster_gcp", "sentry_sdk"):
        assert [m for m in modules if m == client or m.startswith(f"{client}.")] == [], client


def test_the_wheel_and_the_component_registry_leave_the_stand_in_out() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "standin" not in project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    registry = project["tool"]["dg"]["project"]["registry_modules"]
    assert not [m for m in registry if m.startswith("standin")]
    dependencies = " ".join(project["project"]["dependencies"])
    assert "duckdb" not in dependencies
