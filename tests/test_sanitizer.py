"""The debug build's checks are live (setup.py FASTNN_DEBUG=1; scripts/run_tests.sh with
FASTNN_TEST_SANITIZE=1): AddressSanitizer stops a deliberate heap overflow in C, Cython's
bounds checks raise IndexError, and show_config says which kind of build is installed.

In a release build the debug tests skip, unless FASTNN_EXPECT_DEBUG_BUILD=1 says a debug
build was meant to be installed: then they fail, so the sanitize pass cannot pass by
silently testing a release build."""

import io
import os
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn.backend.compiled import _config

EXPECT_DEBUG = os.environ.get("FASTNN_EXPECT_DEBUG_BUILD") == "1"


@pytest.fixture
def debug_build():
    if _config.debug_build():
        return
    if EXPECT_DEBUG:
        pytest.fail(
            "FASTNN_EXPECT_DEBUG_BUILD=1 expected a debug build (FASTNN_DEBUG=1). "
            f"Received: a release build of fastnn from {os.path.dirname(fastnn.__file__)}"
        )
    pytest.skip(
        "release build: the sanitizer checks exist only in debug builds "
        "(FASTNN_TEST_SANITIZE=1 bash scripts/run_tests.sh)"
    )


def test_address_sanitizer_stops_a_heap_overflow_in_c(debug_build):
    # a child process (with this environment, so the sanitizer runtime stays preloaded):
    # AddressSanitizer ends the process it finds the overflow in
    code = (
        "from fastnn.backend.compiled import _config\n"
        "_config.heap_overflow_self_test(8)\n"
        "print('survived the overflow')\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )
    report = f"exit status {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr[-3000:]}"
    assert r.returncode != 0, f"expected the sanitizer to stop the process. Received: {report}"
    assert "survived the overflow" not in r.stdout, report
    assert "AddressSanitizer" in r.stderr and "heap-buffer-overflow" in r.stderr, (
        f"expected an AddressSanitizer heap-buffer-overflow report. Received: {report}"
    )


def test_cython_bounds_checks_raise_index_error(debug_build):
    a = np.arange(3, dtype=np.float32)
    assert _config.bounds_check_self_test(a, 2) == 2.0
    for i in (3, -1):
        with pytest.raises(IndexError, match="Out of bounds"):
            _config.bounds_check_self_test(a, i)


def test_release_build_has_no_deliberate_overflow():
    if _config.debug_build():
        pytest.skip("debug build: the self-tests are live (tested above)")
    for call in (
        lambda: _config.heap_overflow_self_test(8),
        lambda: _config.bounds_check_self_test(np.zeros(3, np.float32), 3),
    ):
        with pytest.raises(RuntimeError, match="only in debug builds"):
            call()


@pytest.mark.slow
def test_show_config_and_cli_info_report_the_build_kind():
    expected = "debug build (sanitizers): " + ("yes" if _config.debug_build() else "no")
    buf = io.StringIO()
    fastnn.show_config(file=buf)
    assert expected in buf.getvalue().splitlines(), buf.getvalue()
    r = subprocess.run(
        [sys.executable, "-m", "fastnn", "info"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert expected in r.stdout.splitlines(), r.stdout
    if EXPECT_DEBUG:
        assert expected.endswith("yes"), buf.getvalue()
