#!/usr/bin/env bash
# Make a checkout ready to run and test: .venv with the project and its test tools, the
# local Kafka's jars, and the operations tools the tests run for real (scripts/tools.sh:
# Prometheus, promtool, amtool, @asyncapi/cli, kustomize). Idempotent and quick when nothing
# changed; safe on a bare machine.
#   PYTHON=python3.12 scripts/bootstrap.sh     # choose the interpreter for a new .venv
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV=.venv
STAMP="$VENV/.bootstrap-stamp"

say() { echo "bootstrap: $*"; }
missing() { echo "bootstrap: $*" >&2; exit 2; }

python_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }

find_python() {
  local candidate
  for candidate in ${PYTHON:-} python3 python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if [[ -x "$VENV/bin/python" ]] && ! python_ok "$VENV/bin/python"; then
  missing "$VENV uses Python older than 3.11: remove it and run again"
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  python="$(find_python)" ||
    missing "Python 3.11+ not found (tried ${PYTHON:-} python3 python3.13 python3.12 python3.11); set PYTHON=/path/to/python3.11"
  say "creating $VENV with $python ($("$python" --version 2>&1))"
  "$python" -m venv "$VENV" ||
    missing "'$python -m venv' failed: install the venv module (Debian: apt-get install python3-venv)"
fi

want="$( (cat pyproject.toml; echo 'extras: test,report') | sha256sum | cut -d' ' -f1)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
  say "$VENV is up to date with pyproject.toml"
else
  say "installing the project and its test tools into $VENV (pip install -e '.[test,report]': the what-if html test needs plotly)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[test,report]'
  echo "$want" >"$STAMP"
fi

say "fetching the local Kafka broker (deploy/kafka/kafka.sh fetch)"
bash deploy/kafka/kafka.sh fetch
bash scripts/tools.sh
say "ready: . $VENV/bin/activate"
