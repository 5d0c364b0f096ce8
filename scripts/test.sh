#!/usr/bin/env bash
# The project's test command (README, CI): bootstrap, then every check. Each check runs even
# when an earlier one failed, so one run shows every problem; the exit status is non-zero if
# any failed. Extra arguments go to pytest:  scripts/test.sh -m "not integration" -x
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh || exit $?
# shellcheck disable=SC1091
. .venv/bin/activate

failed=()
step() {
  local name="$1"
  shift
  echo "==> $name: $*"
  "$@" || failed+=("$name")
}

step "ruff check" ruff check .
# pyproject.toml excludes Markdown: ruff would reflow the aligned comments of code samples.
step "ruff format" ruff format --check .
step "import contracts" lint-imports
step "mypy" mypy
# pytest exits 5 when no test ran: non-zero, so it fails here like any other failure.
step "pytest" python -m pytest --durations=10 "$@"

if ((${#failed[@]} > 0)); then
  echo "test.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "test.sh: every check passed"
