#!/usr/bin/env bash
# Set up and run the test suite: build the wheel, install it into a fresh virtual
# environment with the test extras, and run pytest from outside the source tree
# so the installed (compiled) package is what gets tested.
#   FASTNN_TEST_TORCH=1   also install torch==2.13.0 (CPU) so PyTorch tests run
#   extra arguments are passed to pytest
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${FASTNN_TEST_VENV:-$ROOT/.venv-test}"
PY="${PYTHON:-python3}"

echo "== fresh virtual environment in $VENV"
"$PY" -m venv --clear "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
echo "== building the wheel"
rm -rf "$ROOT/dist"
"$VENV/bin/python" -m pip wheel -q --no-deps "$ROOT" -w "$ROOT/dist"
WHEEL="$(ls "$ROOT"/dist/fastnn-*.whl)"
echo "== installing $(basename "$WHEEL") with the test extras"
"$VENV/bin/python" -m pip install -q "${WHEEL}[test]"
if [ "${FASTNN_TEST_TORCH:-0}" = "1" ]; then
    # pinned: unpinned, pip would fetch a multi-GB CUDA build
    "$VENV/bin/python" -m pip install -q "torch==2.13.0"
fi
echo "== running the tests against the installed package"
cd "$(mktemp -d)"
export FASTNN_SOURCE_DIR="$ROOT"
exec "$VENV/bin/python" -m pytest "$ROOT/tests" -c "$ROOT/pyproject.toml" --rootdir "$ROOT" "$@"
