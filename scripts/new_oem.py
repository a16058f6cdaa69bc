"""Scaffold a new OEM code location: `bash scripts/new-oem.sh NAME [--start-date YYYY-MM-DD]`.

Copies `scripts/oem_template/` into `ai_<name>/` (definitions, a resource, a paged HTTP source,
a raw component, an entity and `defs/` by tier) and `tests/ai_<name>/` (a YAML validation test and
a day run against a sample listing on loopback), filling in the OEM's names, then registers the
location in `workspace.yaml`, `dagster_cloud.yaml` and `pyproject.toml` (wheel packages,
component registry, type checking, import sorting). Nothing is written when a check fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

TEMPLATE = Path(__file__).resolve().parent / "oem_template"
ROOT = Path(__file__).resolve().parents[1]
VALID_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class ScaffoldError(Exception):
    """The OEM cannot be scaffolded as asked; the message says why and what to do."""


def placeholders(oem: str, start_date: str) -> dict[str, str]:
    return {
        "{{oem}}": oem,
        "{{Oem}}": "".join(word.capitalize() for word in oem.split("_")),
        "{{OEM}}": oem.upper(),
        "{{start_date}}": start_date,
    }


def render(text: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def planned_files(root: Path, oem: str, values: dict[str, str]) -> dict[Path, str]:
    """Every file to create, by path, with its content."""
    targets = {"package": root / f"ai_{oem}", "tests": root / "tests" / f"ai_{oem}"}
    files: dict[Path, str] = {}
    for template in sorted(TEMPLATE.rglob("*.tmpl")):
        part, *rest = template.relative_to(TEMPLATE).parts
        target = targets[part].joinpath(*rest).with_suffix("")
        files[target] = render(template.read_text(), values)
    return files


def add_to_toml_list(text: str, section: str, key: str, item: str) -> str:
    """`text` with `item` appended to the one-line array `key = [...]` of `[section]`."""
    header = re.search(rf"^\[{re.escape(section)}\]\s*$", text, re.M)
    if header is None:
        raise ScaffoldError(f"pyproject.toml has no [{section}] section; add {item!r} by hand")
    end = re.compile(r"^\[", re.M).search(text, header.end())
    body_end = end.start() if end else len(text)
    line = re.compile(rf"^({re.escape(key)}\s*=\s*\[)(.*)\][ \t]*$", re.M).search(
        text, header.end(), body_end
    )
    if line is None:
        raise ScaffoldError(
            f"pyproject.toml [{section}] has no one-line `{key} = [...]`; add {item!r} by hand"
        )
    items = line.group(2).rstrip().rstrip(",")
    joined = f"{items}, {item}" if items.strip() else item
    return text[: line.start()] + f"{line.group(1)}{joined}]" + text[line.end() :]


def registered_pyproject(text: str, oem: str) -> str:
    package = f'"ai_{oem}"'
    text = add_to_toml_list(text, "tool.hatch.build.targets.wheel", "packages", package)
    text = add_to_toml_list(text, "tool.dg.project", "registry_modules", f'"ai_{oem}.components"')
    text = add_to_toml_list(text, "tool.mypy", "packages", package)
    return add_to_toml_list(text, "tool.ruff.lint.isort", "known-first-party", package)


def appended(text: str, block: str) -> str:
    return text.rstrip("\n") + "\n" + block


def registered_workspace(text: str, oem: str) -> str:
    return appended(
        text,
        f"  - python_module:\n"
        f"      module_name: ai_{oem}.definitions\n"
        f"      location_name: ai_{oem}\n",
    )


def registered_cloud(text: str, oem: str) -> str:
    return appended(
        text,
        f"  - location_name: ai_{oem}\n"
        f"    code_source:\n"
        f"      module_name: ai_{oem}.definitions\n"
        f"    build:\n"
        f"      directory: .\n",
    )


def check_registrations(texts: dict[str, str], oem: str) -> None:
    """The edited files still parse and name the new location exactly once."""
    module = f"ai_{oem}.definitions"
    workspace = yaml.safe_load(texts["workspace.yaml"])["load_from"]
    if [e["python_module"]["module_name"] for e in workspace].count(module) != 1:
        raise ScaffoldError(f"workspace.yaml would not load {module} exactly once")
    cloud = yaml.safe_load(texts["dagster_cloud.yaml"])["locations"]
    if [loc["location_name"] for loc in cloud].count(f"ai_{oem}") != 1:
        raise ScaffoldError(f"dagster_cloud.yaml would not deploy ai_{oem} exactly once")
    project = tomllib.loads(texts["pyproject.toml"])
    if f"ai_{oem}" not in project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]:
        raise ScaffoldError(f"pyproject.toml's wheel would not ship ai_{oem}")


def scaffold(root: Path, oem: str, start_date: str) -> list[Path]:
    """Create the OEM's package and tests under `root` and register it; return what was written."""
    if not VALID_NAME.match(oem):
        raise ScaffoldError(
            f"{oem!r} is not a usable OEM name: use lower-case letters, digits and underscores, "
            "starting with a letter (it becomes the package ai_<name> and the asset key prefix)"
        )
    dt.date.fromisoformat(start_date)
    for target in (root / f"ai_{oem}", root / "tests" / f"ai_{oem}"):
        if target.exists():
            raise ScaffoldError(f"{target} already exists: pick another name or remove it first")
    files = planned_files(root, oem, placeholders(oem, start_date))
    register = {
        "workspace.yaml": registered_workspace,
        "dagster_cloud.yaml": registered_cloud,
        "pyproject.toml": registered_pyproject,
    }
    texts = {name: edit((root / name).read_text(), oem) for name, edit in register.items()}
    check_registrations(texts, oem)
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    for name, text in texts.items():
        (root / name).write_text(text)
    tidy(root, [root / f"ai_{oem}", root / "tests" / f"ai_{oem}"])
    return [*files, *(root / name for name in texts)]


def tidy(root: Path, paths: list[Path]) -> None:
    """Sort imports and format the new code as the house does: where `ai_<name>` sorts against
    `ai_core`, and how long lines wrap, depend on the name."""
    ruff = Path(sys.executable).parent / "ruff"
    if not ruff.exists():
        note = "ruff is not installed (dev group): run `ruff check --fix` and `ruff format`"
        print(f"new-oem: {note} on the new files", file=sys.stderr)
        return
    targets = [str(p) for p in paths]
    subprocess.run(
        [ruff, "check", "--fix", "--select", "I", "--quiet", *targets], cwd=root, check=True
    )
    subprocess.run([ruff, "format", "--quiet", *targets], cwd=root, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("name", help="the OEM's short name, e.g. `acme`: package ai_acme")
    parser.add_argument(
        "--start-date",
        default=dt.date.today().isoformat(),
        help="first daily partition (default: today)",
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository to write into")
    args = parser.parse_args(argv)
    try:
        written = scaffold(args.root.resolve(), args.name, args.start_date)
    except (ScaffoldError, ValueError) as exc:
        print(f"new-oem: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path.relative_to(args.root.resolve()))
    print(
        f"\nai_{args.name} is registered. Next: point {args.name.upper()}_BASE_URL at the API, "
        f"replace ai_{args.name}/sources/items.py and ai_{args.name}/entities/item.py with the "
        f"real endpoint and rows, and run .venv/bin/pytest tests/ai_{args.name}."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
