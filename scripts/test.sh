#!/usr/bin/env bash
# Formatting, lint, types and the test suite, as CI runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --all-extras
.venv/bin/ruff format --check .
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/pytest "$@"
