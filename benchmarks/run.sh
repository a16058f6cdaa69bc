#!/usr/bin/env bash
# Runs a benchmark scenario from a fresh checkout: benchmarks/run.sh <scenario> <label> [options].
# Options go to `python -m benchmarks.run` (see its --help). Progress goes to stderr, the report to
# stdout; the run's files land in benchmarks/results/<scenario>/<timestamp>-<label>/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -lt 2 ]]; then
  echo "usage: benchmarks/run.sh <scenario> <label> [--abort-on-failure]" >&2
  echo "scenarios: $(cd benchmarks/configs && ls -- *.json | sed 's/\.json$//' | tr '\n' ' ')" >&2
  exit 2
fi
# The harness needs the dev group too (psutil samples memory, matplotlib draws charts).
if [[ -f scripts/bootstrap.sh ]]; then
  bash scripts/bootstrap.sh >&2
else
  if command -v uv >/dev/null 2>&1; then
    UV=uv
  else
    if [[ ! -x .tools/bin/uv ]]; then
      python3 -m venv .tools
      .tools/bin/python -m pip install --quiet --disable-pip-version-check uv
    fi
    UV=.tools/bin/uv
  fi
  "$UV" sync --frozen --python 3.11 >&2
fi
exec .venv/bin/python -m benchmarks.run "$@"
