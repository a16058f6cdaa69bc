#!/usr/bin/env bash
# Installs the project into .venv from uv.lock. Needs only python3 (3.11) and the package index.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.8
if command -v uv >/dev/null 2>&1 && [[ "$(uv --version)" == "uv ${UV_VERSION}"* ]]; then
  UV=uv
else
  if [[ ! -x .tools/bin/uv ]]; then
    python3 -m venv .tools
    .tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==${UV_VERSION}"
  fi
  UV=.tools/bin/uv
fi
# Bytecode compiled at install: start-up reads .pyc even where PYTHONDONTWRITEBYTECODE is set.
# --inexact: packages a user added (`--extra postgres`, ...) stay installed on the next run.
"$UV" sync --frozen --inexact --python 3.11 --compile-bytecode "$@"
