"""The suite tests the installed, compiled package; a broken build fails loudly;
show_config / `python -m fastnn info` report what was built."""

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastnn

SOURCE = os.environ.get("FASTNN_SOURCE_DIR")


def _run(code, env=None, cwd=None):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=300,
    )


def test_imported_copy_is_the_installed_package():
    """A top-level fastnn/ folder would shadow the installed package (no compiled
    modules there). Unless a developer opts in to an in-place build, the tests must
    run against the installed copy."""
    here = os.path.dirname(os.path.abspath(fastnn.__file__))
    if os.environ.get("FASTNN_TEST_INPLACE") == "1":
        pytest.skip("in-place development build requested with FASTNN_TEST_INPLACE=1")
    assert "site-packages" in here or "dist-packages" in here, here
    if SOURCE:
        assert here != os.path.join(os.path.abspath(SOURCE), "fastnn"), here
    import fastnn.backend.compiled.network as net

    assert net.__file__.endswith((".so", ".pyd")), net.__file__


def test_compiled_backend_is_default():
    if os.environ.get("FASTNN_BACKEND", "compiled") == "compiled":
        assert fastnn.get_backend() == "compiled"


@pytest.mark.slow
def test_broken_extension_fails_loudly_with_build_instructions(tmp_path):
    """Copy the package without one compiled module: import must raise ImportError
    saying how to build, not fall back to NumPy."""
    pkg = os.path.dirname(os.path.abspath(fastnn.__file__))
    dst = tmp_path / "fastnn"
    shutil.copytree(pkg, dst)
    compiled = dst / "backend" / "compiled"
    for name in os.listdir(compiled):
        if name.startswith("network.") and name.endswith((".so", ".pyd")):
            os.remove(compiled / name)
    r = _run(
        "import fastnn",
        env={"PYTHONPATH": str(tmp_path), "FASTNN_BACKEND": "compiled"},
        cwd=tmp_path,
    )
    assert r.returncode != 0
    assert "ImportError" in r.stderr
    assert "pip install ." in r.stderr and "FASTNN_BACKEND=numpy" in r.stderr
    # the explicit opt-in still imports (and runs on the NumPy reference)
    r = _run(
        "import fastnn; print(fastnn.get_backend())",
        env={"PYTHONPATH": str(tmp_path), "FASTNN_BACKEND": "numpy"},
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "numpy"


@pytest.mark.slow
def test_show_config_and_cli_info():
    import io

    buf = io.StringIO()
    fastnn.show_config(file=buf)
    text = buf.getvalue()
    assert f"fastnn {fastnn.__version__}" in text
    # no kernel uses OpenMP, so none is built in; the threads line says what runs
    assert "threads: the calling thread and one helper thread" in text
    assert "backend: compiled" in text or "backend: numpy" in text
    assert any(f"packing-free kernel {isa}" in text for isa in ("avx512", "avx2", "off"))
    assert "blas:" in text and "threads:" in text
    r = subprocess.run(
        [sys.executable, "-m", "fastnn", "info"], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert "threads:" in r.stdout and "blas:" in r.stdout
    assert (
        shutil.which("fastnn") is None
        or subprocess.run(["fastnn", "info"], capture_output=True, timeout=120).returncode == 0
    )


@pytest.mark.slow
def test_set_num_threads():
    r = _run("""
        import fastnn
        fastnn.set_num_threads(1); print(fastnn.get_num_threads())
        fastnn.set_num_threads(2); print(fastnn.get_num_threads())
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1", "2"]
    with pytest.raises(ValueError, match="positive int"):
        fastnn.set_num_threads(0)


# C functions with process-wide state (csrc/runtime) or shared by name, and the one
# compiled module that may define each: a second copy would keep a second helper thread,
# a second BLAS-thread count or a second CPU probe.
_ONE_HOME = {
    b"fastnn_run_parts": "_parallel",
    b"fastnn_one_thread_enter": "_parallel",
    b"fastnn_step_level": "_parallel",
    b"fastnn_step_gemm_f32": "_blas",
}


def test_runtime_c_is_linked_into_one_module_only():
    """Each stateful runtime function is defined in exactly one extension (setup.py
    EXTENSIONS), and no extension links an OpenMP runtime."""
    import fastnn.backend.compiled.network as net

    folder = os.path.dirname(net.__file__)
    libs = {
        n.split(".")[0]: open(os.path.join(folder, n), "rb").read()
        for n in os.listdir(folder)
        if n.endswith((".so", ".pyd"))
    }
    assert len(libs) >= 12, sorted(libs)
    for symbol, home in _ONE_HOME.items():
        # the name, NUL-terminated as in a symbol table: defined where it appears
        holders = sorted(m for m, data in libs.items() if symbol + b"\0" in data)
        assert holders == [home], (symbol, holders)
    assert not [m for m, data in libs.items() if b"libgomp" in data or b"libomp" in data]


def test_backend_switch_runs_same_model_on_both():
    from fastnn.layers import Dense

    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 3)).astype(np.float32)
    m = fastnn.Sequential([Dense(4, activation="tanh", input_shape=(3,)), Dense(2)])
    a = m.predict(x)
    fastnn.set_backend("numpy")
    try:
        b = m.predict(x)
    finally:
        fastnn.set_backend("compiled")
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="set_backend expected one of"):
        fastnn.set_backend("torch")
