"""Build script: compiles the Cython modules of fastnn/backend/compiled with their C from csrc/.

Switches (environment variables read at build time):
  FASTNN_DEBUG=1      Cython bounds checks + -fsanitize=address,undefined, -O1 -g; defines
                      FASTNN_DEBUG_BUILD (show_config() then says "debug build (sanitizers):
                      yes") and builds under build/debug, so release objects are never reused.
  FASTNN_ONLY=a,b     build only these kernel modules (development).
  FASTNN_NO_CLONES=1  no AVX2/AVX-512 clones of the element-wise kernels.
  FASTNN_BUILD_JOBS=n compile n extensions (and cythonize n modules) at once (default: one
                      per usable CPU).
"""

import copy
import os
from glob import glob

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

DEBUG = os.environ.get("FASTNN_DEBUG", "") not in ("", "0")

# All Cython compiler directives live here, in one place.
DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": False,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
}

# Each compiled module and the C files it links. A C file is compiled once per module that
# calls it, never into the others; the runtime (csrc/runtime: the helper thread, the BLAS
# thread switch, the CPU's choice of kernel body) keeps process-wide state and so is
# compiled into _parallel alone, which the other modules reach through its cdef functions.
# tests/test_layout.py checks that this table names every .pyx and every C file.
EXTENSIONS = {
    "_parallel": ["runtime/threads.c", "runtime/blas_threads.c", "runtime/cpu.c"],
    "_blas": ["kernels/stepgemm.c"],
    "_config": ["kernels/checks.c"],  # the debug build's deliberate overflow
    "_op": [],
    "activations": ["kernels/activations.c"],
    "bidirectional": ["kernels/bidirectional.c"],
    "checks": ["kernels/checks.c"],
    "dense": ["kernels/activations.c"],
    "dropout": ["kernels/dropout.c"],
    "embedding": ["kernels/embedding.c"],
    "losses": ["kernels/losses.c"],
    "network": ["kernels/activations.c", "kernels/losses.c"],
    "optimizers": ["kernels/optimizers.c", "kernels/checks.c"],
    "recurrent": ["kernels/recurrent.c", "kernels/activations.c", "kernels/dropout.c"],
    "sequence": ["kernels/sequence.c"],
}
PYX_DIR = os.path.join("fastnn", "backend", "compiled")
_found = sorted(os.path.basename(p)[:-4] for p in glob(os.path.join(PYX_DIR, "*.pyx")))
if _found != sorted(EXTENSIONS):
    raise SystemExit(
        f"setup.py EXTENSIONS expected to name every {PYX_DIR}/*.pyx. "
        f"Received: table {sorted(EXTENSIONS)}, files {_found}"
    )
KERNELS = sorted(EXTENSIONS)
if os.environ.get("FASTNN_ONLY"):
    KERNELS = [k for k in KERNELS if k in os.environ["FASTNN_ONLY"].split(",")]
# headers and .inc templates: editing one must rebuild the extensions
C_DEPENDS = sorted(
    glob(os.path.join("csrc", "include", "*.h")) + glob(os.path.join("csrc", "kernels", "*.inc"))
)


def _jobs():
    """FASTNN_BUILD_JOBS, or one per usable CPU."""
    jobs = os.environ.get("FASTNN_BUILD_JOBS", "").strip()
    if jobs and not (jobs.isdigit() and int(jobs) > 0):
        raise SystemExit(f"FASTNN_BUILD_JOBS expected a positive integer. Received: {jobs!r}")
    cpus = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )
    return int(jobs) if jobs else cpus


class BuildExt(build_ext):
    """Picks optimisation flags for the compiler in use and compiles the extensions in
    parallel."""

    def finalize_options(self):
        super().finalize_options()
        # pip builds one extension at a time unless told otherwise, and the modules
        # compile independently: one at a time per CPU (bench/RESULTS.md, "Build time").
        if not self.parallel:
            self.parallel = _jobs()

    def build_extension(self, ext):
        # Several extensions compile the same csrc file (EXTENSIONS). With one temporary
        # folder for all, two extensions built at once would write the same object file;
        # each gets its own. A copy of the command, not self: the extensions' threads share self.
        mine = copy.copy(self)
        mine.build_temp = os.path.join(self.build_temp, ext.name)
        super(BuildExt, mine).build_extension(ext)

    def build_extensions(self):
        msvc = self.compiler.compiler_type == "msvc"
        if msvc:
            opt = ["/O2"]
        elif DEBUG:
            opt = [
                "-O1",
                "-g",
                "-fno-omit-frame-pointer",
                "-fsanitize=address,undefined",
                "-ffp-contract=off",
            ]
        else:
            # -O3 only: no -ffast-math (it flips flush-to-zero process-wide on import
            # and drops isfinite checks). Pointwise loops are written to vectorise.
            # -ffp-contract=off: no FMA contraction, so the SSE2/AVX2/AVX-512 clones of
            # the element-wise kernels (csrc/include/fastnn_math.h) give identical results.
            # -fno-trapping-math: lets GCC compute both sides of a `?:` (the clamps and
            # selects of fastnn_expf, sigmoid, tanh) and so vectorise those loops
            # without AVX-512's masks. It changes no value, only which floating-point
            # exception flags may be raised: fastnn reads none, and NumPy clears them
            # before each operation of its own. Without it the AVX2 and SSE2 clones of
            # every float32 sigmoid/tanh/exp loop ran scalar (bench/RESULTS.md,
            # "Scheduling policy").
            opt = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off"]
        for ext in self.extensions:
            ext.extra_compile_args = opt
            sanitize = DEBUG and not msvc
            ext.extra_link_args = ["-fsanitize=address,undefined"] if sanitize else []
            clones = [("FASTNN_NO_CLONES", "1")] if os.environ.get("FASTNN_NO_CLONES") else []
            # only where the sanitizers are really compiled in (not with MSVC)
            debug = [("FASTNN_DEBUG_BUILD", "1")] if sanitize else []
            ext.define_macros = (
                list(ext.define_macros or [])
                + clones
                + debug
                + [
                    ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
                ]
            )
        super().build_extensions()


extensions = [
    Extension(
        f"fastnn.backend.compiled.{name}",
        [os.path.join(PYX_DIR, f"{name}.pyx")]
        + [os.path.join("csrc", *c.split("/")) for c in EXTENSIONS[name]],
        include_dirs=[os.path.join("csrc", "include"), numpy.get_include()],
        depends=C_DEPENDS,
    )
    for name in KERNELS
]

# A debug build gets its own build folder: setuptools skips compiling an extension
# whose library in build/lib* is newer than its sources, so a shared folder would let
# a debug wheel pick up release objects (or the other way round).
setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives=DIRECTIVES,
        nthreads=_jobs(),
        build_dir="build/debug/cython" if DEBUG else None,
    ),
    cmdclass={"build_ext": BuildExt},
    options={"build": {"build_base": "build/debug"}} if DEBUG else {},
)
