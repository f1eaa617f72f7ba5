#!/usr/bin/env bash
# Set up and run the test suite: build the wheel, install it into a fresh virtual
# environment with the test extras, and run pytest from outside the source tree
# so the installed (compiled) package is what gets tested.
#   FASTNN_TEST_TORCH=1     also install torch==2.13.0 (CPU) so PyTorch tests run
#   FASTNN_TEST_SANITIZE=1  test a debug build instead (setup.py FASTNN_DEBUG=1: Cython
#                           bounds checks, AddressSanitizer and UBSan), built into
#                           build/debug/dist and installed into .venv-test-debug, with the
#                           sanitizer runtime preloaded into pytest; any error the
#                           sanitizers find stops the run. torch is not installed (the
#                           PyTorch tests run in the release pass and skip here).
#   extra arguments are passed to pytest
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
SANITIZE="${FASTNN_TEST_SANITIZE:-0}"
if [ "$SANITIZE" = "1" ]; then
    VENV="${FASTNN_TEST_VENV:-$ROOT/.venv-test-debug}"
    # not dist/: the debug wheel has the same file name as the release wheel
    DIST="$ROOT/build/debug/dist"
else
    VENV="${FASTNN_TEST_VENV:-$ROOT/.venv-test}"
    DIST="$ROOT/dist"
fi

echo "== fresh virtual environment in $VENV"
"$PY" -m venv --clear "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
echo "== building the $([ "$SANITIZE" = "1" ] && echo debug || echo release) wheel"
rm -rf "$DIST"
# set either way, so a FASTNN_DEBUG left in the caller's shell cannot change the build
FASTNN_DEBUG="$SANITIZE" "$VENV/bin/python" -m pip wheel -q --no-deps "$ROOT" -w "$DIST"
WHEEL="$(ls "$DIST"/fastnn-*.whl)"
echo "== installing $(basename "$WHEEL") with the test extras"
"$VENV/bin/python" -m pip install -q "${WHEEL}[test]"
if [ "${FASTNN_TEST_TORCH:-0}" = "1" ] && [ "$SANITIZE" != "1" ]; then
    # pinned: unpinned, pip would fetch a multi-GB CUDA build
    "$VENV/bin/python" -m pip install -q "torch==2.13.0"
fi
if [ "$SANITIZE" = "1" ]; then
    # CPython is not built with AddressSanitizer, so its runtime must be the first
    # library loaded: preload the one of the compiler that built the extensions. Also
    # libstdc++: ASan's C++ exception hook looks up __cxa_throw once, at start-up, and
    # a C++ extension (matplotlib's) throwing without it there aborts the process.
    CC_CMD="${CC:-$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_config_var("CC") or "cc")')}"
    runtime_lib() {
        local lib
        lib="$($CC_CMD -print-file-name="$1")"
        case "$lib" in /*) lib="$(readlink -f "$lib")" ;; esac
        if [ ! -f "$lib" ]; then
            echo "error: FASTNN_TEST_SANITIZE=1 needs $1 of the compiler; expected" \
                 "'$CC_CMD -print-file-name=$1' to give an existing file. Received: '$lib'" >&2
            exit 1
        fi
        echo "$lib"
    }
    ASAN_LIB="$(runtime_lib libasan.so)"
    STDCXX_LIB="$(runtime_lib libstdc++.so)"
    echo "== preloading $ASAN_LIB $STDCXX_LIB"
    export LD_PRELOAD="$ASAN_LIB:$STDCXX_LIB${LD_PRELOAD:+:$LD_PRELOAD}"
    # detect_leaks=0: CPython keeps objects alive until exit by design.
    # allocator_may_return_null=1: a huge allocation raises MemoryError, as in a release
    # build, instead of ASan aborting. abort_on_error=1: any report stops the run.
    export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:halt_on_error=1:abort_on_error=1"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
    # tests/test_sanitizer.py fails, rather than skips, if the build is not a debug build
    export FASTNN_EXPECT_DEBUG_BUILD=1
    # pytest's default capture redirects file descriptor 2 into a temporary file that is
    # lost when the sanitizer aborts: with sys-level capture its report reaches the log.
    set -- --capture=sys "$@"
fi
echo "== running the tests against the installed package"
cd "$(mktemp -d)"
export FASTNN_SOURCE_DIR="$ROOT"
exec "$VENV/bin/python" -m pytest "$ROOT/tests" -c "$ROOT/pyproject.toml" --rootdir "$ROOT" "$@"
