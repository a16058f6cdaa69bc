"""A location's component YAML, document by document, against each type's JSON schema.

`dg check yaml` validates one document of each component type (it keys them by type), so tests
check every document here, against the schema dg and editors validate by.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator


def documents(defs: Path) -> list[tuple[str, int, dict[str, Any]]]:
    """(path, index in its file, document) of every `defs.yaml` document under `defs`."""
    return [
        (path.as_posix(), i, doc)
        for path in sorted(defs.rglob("defs.yaml"))
        for i, doc in enumerate(yaml.safe_load_all(path.read_text()))
    ]


def schema_errors(doc: dict[str, Any]) -> list[str]:
    """Where the document's attributes break its component type's JSON schema."""
    module, _, name = doc["type"].rpartition(".")
    component = getattr(importlib.import_module(module), name)
    schema = component.get_model_cls().model_json_schema()
    return [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in Draft202012Validator(schema).iter_errors(doc["attributes"])
    ]
