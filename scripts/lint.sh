#!/usr/bin/env bash
# Lint: ruff (Python lint + format check) and cython-lint (.pyx/.pxd), with pinned versions
# installed into their own virtual environment, so the result does not depend on what a
# machine happens to have. Exit status non-zero on any finding.
#   bash scripts/lint.sh          check
#   bash scripts/lint.sh --fix    let ruff fix and format what it can, then check
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
VENV="${FASTNN_LINT_VENV:-$ROOT/.venv-lint}"
RUFF="ruff==0.17.6"
CYLINT="cython-lint==0.22.1"
if ! "$VENV/bin/python" -m pip show -q ruff cython-lint >/dev/null 2>&1 \
        || [ "$("$VENV/bin/ruff" --version 2>/dev/null)" != "ruff ${RUFF#ruff==}" ]; then
    echo "== lint tools into $VENV"
    "$PY" -m venv --clear "$VENV"
    "$VENV/bin/python" -m pip install -q "$RUFF" "$CYLINT"
fi
cd "$ROOT"
if [ "${1:-}" = "--fix" ]; then
    "$VENV/bin/ruff" check --fix .
    "$VENV/bin/ruff" format .
fi
echo "== ruff check"
"$VENV/bin/ruff" check .
echo "== ruff format --check"
"$VENV/bin/ruff" format --check .
echo "== cython-lint"
# cython-lint runs pycodestyle from PATH
PATH="$VENV/bin:$PATH" "$VENV/bin/cython-lint" fastnn/backend/compiled/*.pyx fastnn/backend/compiled/*.pxd
echo "== lint: clean"
