#!/usr/bin/env bash
# Runs the whole Stellantis pipeline for today against the local upstream server and the embedded
# Iceberg catalog in .data/. Options are passed on: see `--help`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --no-dev --group standin >&2
# The run gets a process group of its own, so Ctrl-C reaches this script alone, which stops the
# whole group (run, stand-in, Dagster's helpers) and says so in one line. A day commits at once
# or not at all, so a stopped run leaves every table as it was or with whole days.
setsid .venv/bin/python -m standin.stellantis.run_day "$@" &
run=$!
stop() {
  kill -TERM -- "-$run" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$run" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$run" 2>/dev/null || true
  echo "interrupted: the run was stopped; days not committed keep their previous data" >&2
  exit 130
}
trap stop INT TERM
wait "$run"
