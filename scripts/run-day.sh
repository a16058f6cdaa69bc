#!/usr/bin/env bash
# Runs the whole Stellantis pipeline for today against the local upstream server and the embedded
# Iceberg catalog in .data/. Options are passed on: see `--help`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --no-dev >&2
exec .venv/bin/python -m ai_stellantis.run_day "$@"
