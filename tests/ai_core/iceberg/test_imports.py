"""`ai_core.iceberg` knows no tier and no OEM: the tiers implement its contracts."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import ai_core.iceberg

PACKAGE = Path(ai_core.iceberg.__file__).parent
FOREIGN = ("ai_core.raw", "ai_core.transform", "ai_core.consolidate", "ai_stellantis")


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def _foreign(names: set[str]) -> list[str]:
    return sorted(n for n in names if any(n == f or n.startswith(f + ".") for f in FOREIGN))


def test_no_module_of_the_package_names_a_tier_or_an_oem() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) > 10
    found = {p.name: _foreign(_imported(p)) for p in modules}
    assert {name: names for name, names in found.items() if names} == {}


def test_importing_every_module_loads_no_tier_or_oem() -> None:
    # A fresh interpreter, so modules this test session already loaded do not hide an import.
    script = (
        "import importlib, json, pkgutil, sys\n"
        "import ai_core.iceberg as p\n"
        "for m in pkgutil.iter_modules(p.__path__):\n"
        "    importlib.import_module(f'ai_core.iceberg.{m.name}')\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(done.stdout))
    assert "ai_core.iceberg.io_manager" in loaded
    assert _foreign(loaded) == []
