#!/usr/bin/env bash
# Scaffolds a new OEM code location and registers it: `bash scripts/new-oem.sh NAME`.
# Options are passed on: see `--help` (scripts/new_oem.py).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x .venv/bin/python ]] || bash scripts/bootstrap.sh >&2
exec .venv/bin/python scripts/new_oem.py "$@"
