"""show_config() and set_num_threads(): what was built and how many threads run."""

import sys

import numpy as np

from fastnn import backend as _backend

_threads = None


def _kernel_config():
    try:
        from fastnn.backend.compiled import _config, _parallel

        return {
            "debug_build": _config.DEBUG_BUILD,
            "step_kernel": _parallel.STEP_KERNEL_ISA or "off",
        }
    except ImportError:
        return {"debug_build": None, "step_kernel": None}


def blas_info():
    """The BLAS libraries in use (scipy's is the one the kernels call) with their threads."""
    import scipy.linalg  # noqa: F401  (loads scipy's BLAS so threadpoolctl sees it)
    from threadpoolctl import threadpool_info

    return [
        {
            k: d.get(k)
            for k in (
                "internal_api",
                "prefix",
                "version",
                "num_threads",
                "filepath",
                "user_api",
                "architecture",
            )
        }
        for d in threadpool_info()
    ]


def set_num_threads(n):
    """Use n threads in every BLAS (numpy's and scipy's OpenBLAS) pool.
    fastnn's kernels call scipy's BLAS; limiting numpy's too keeps the two pools
    from oversubscribing the cores. With n >= 2 a recurrent layer's time loop, a
    mid-sized float32 Dense product and an optimizer update of 32K+ parameters may
    also run in parts on the calling thread and one helper thread of fastnn's own
    (n = 1: never; see docs/architecture.md, "Threads")."""
    global _threads, _limiter
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"set_num_threads expected a positive int. Received: n={n!r}")
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_limits

    _limiter = threadpool_limits(limits=int(n))
    _threads = int(n)


def get_num_threads():
    """Threads of scipy's BLAS (the one the kernels call)."""
    for d in blas_info():
        if _owner(d).startswith("scipy") and d.get("user_api") == "blas":
            return d["num_threads"]
    return _threads


def config():
    from fastnn._version import __version__

    return {
        "fastnn": __version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": __import__("scipy").__version__,
        "backend": _backend.get_backend(),
        **_kernel_config(),
        "blas": blas_info(),
    }


def show_config(file=None):
    """Print version, BLAS libraries and their threads, whether the kernels
    are a debug build (setup.py FASTNN_DEBUG=1), which instruction set the small-product
    kernel uses (FASTNN_STEP_GEMM=avx2 or =off in the environment caps it) and the
    backend."""
    c = config()
    out = file or sys.stdout
    print(
        f"fastnn {c['fastnn']} (python {c['python']}, numpy {c['numpy']}, scipy {c['scipy']})",
        file=out,
    )
    print(f"backend: {c['backend']}", file=out)
    # no OpenMP: fastnn's own helper thread is the only thread it starts
    print("threads: the calling thread and one helper thread of fastnn's (no OpenMP)", file=out)
    debug = {True: "yes", False: "no", None: "unknown (compiled kernels not built)"}
    print(f"debug build (sanitizers): {debug[c['debug_build']]}", file=out)
    step = c["step_kernel"] or "unknown (compiled kernels not built)"
    print(
        f"small float32 products: packing-free kernel {step}"
        f"{' (BLAS instead)' if step == 'off' else ''}",
        file=out,
    )
    for d in c["blas"]:
        print(
            f"{d['user_api']}: {d['internal_api']} {d['version']} ({_owner(d)}), "
            f"threads: {d['num_threads']}, {d['filepath']}",
            file=out,
        )


def _owner(d):
    """Which package bundles this library, from its folder (numpy.libs, scipy.libs)."""
    path = (d.get("filepath") or "").replace("\\", "/")
    if "/scipy.libs/" in path or "/scipy/" in path:
        return "scipy's: the one fastnn's kernels call"
    if "/numpy.libs/" in path or "/numpy/" in path:
        return "numpy's"
    return "other"
