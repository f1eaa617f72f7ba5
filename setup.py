"""Build script: compiles the Cython kernels in fastnn/_kernels with the C in csrc/.

Switches (environment variables read at build time):
  FASTNN_NO_OPENMP=1  skip the OpenMP probe (the build then reports "OpenMP: off").
  FASTNN_DEBUG=1      Cython bounds checks + -fsanitize=address,undefined, -O1 -g; defines
                      FASTNN_DEBUG_BUILD (show_config() then says "debug build (sanitizers):
                      yes") and builds under build/debug, so release objects are never reused.
  FASTNN_ONLY=a,b     build only these kernel modules (development).
  FASTNN_NO_CLONES=1  no AVX2/AVX-512 clones of the element-wise kernels.
  FASTNN_BUILD_JOBS=n compile n extensions at once (default: one per usable CPU).
"""
import copy
import os
import sys
import tempfile
import textwrap
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

# One extension per fastnn/_kernels/<name>.pyx. FASTNN_ONLY=a,b builds a subset
# (handy while working on one kernel).
KERNELS = sorted(os.path.basename(p)[:-4] for p in glob(os.path.join("fastnn", "_kernels", "*.pyx")))
if os.environ.get("FASTNN_ONLY"):
    KERNELS = [k for k in KERNELS if k in os.environ["FASTNN_ONLY"].split(",")]
C_SOURCES = sorted(glob(os.path.join("csrc", "*.c")))
# headers and .inc templates: editing one must rebuild the extensions
C_DEPENDS = sorted(glob(os.path.join("csrc", "*.h")) + glob(os.path.join("csrc", "*.inc")))


def _probe_openmp(compiler, flag):
    """True when the real compiler can build and link an OpenMP program."""
    src = textwrap.dedent(
        """
        #include <omp.h>
        int main(void) { int n = 0;
        #pragma omp parallel reduction(+:n)
          n += 1;
          return omp_get_max_threads() > 0 ? 0 : 1; }
        """
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "probe.c")
        with open(path, "w") as fh:
            fh.write(src)
        try:
            objs = compiler.compile([path], output_dir=tmp, extra_postargs=[flag])
            compiler.link_executable(objs, "probe", output_dir=tmp, extra_postargs=[flag])
        except Exception:  # any failure means "no OpenMP", never a failed build
            return False
    return True


class BuildExt(build_ext):
    """Picks optimisation flags for the compiler in use, probes OpenMP, and compiles
    the extensions in parallel."""

    def finalize_options(self):
        super().finalize_options()
        # pip builds one extension at a time unless told otherwise, and the modules
        # compile independently: one at a time per CPU. `pip wheel` of a fresh clone,
        # release build, 2 CPUs: 220 s one at a time, 135 s two at a time.
        if not self.parallel:
            jobs = os.environ.get("FASTNN_BUILD_JOBS", "").strip()
            if jobs and not (jobs.isdigit() and int(jobs) > 0):
                raise SystemExit(f"FASTNN_BUILD_JOBS expected a positive integer. "
                                 f"Received: {jobs!r}")
            cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
                os.cpu_count() or 1)
            self.parallel = int(jobs) if jobs else cpus

    def build_extension(self, ext):
        # Every extension compiles the shared csrc/*.c. With one temporary folder for
        # all, two extensions built at once would write the same object file; each gets
        # its own. A copy of the command, not self: the extensions' threads share self.
        mine = copy.copy(self)
        mine.build_temp = os.path.join(self.build_temp, ext.name)
        super(BuildExt, mine).build_extension(ext)

    def build_extensions(self):
        msvc = self.compiler.compiler_type == "msvc"
        if msvc:
            opt, omp = ["/O2"], "/openmp"
        elif DEBUG:
            opt = ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined",
                   "-ffp-contract=off"]
            omp = "-fopenmp"
        else:
            # -O3 only: no -ffast-math (it flips flush-to-zero process-wide on import
            # and drops isfinite checks). Pointwise loops are written to vectorise.
            # -ffp-contract=off: no FMA contraction, so the SSE2/AVX2/AVX-512 clones of
            # the element-wise kernels (csrc/fastnn_math.h) give identical results.
            # -fno-trapping-math: lets GCC compute both sides of a `?:` (the clamps and
            # selects of fastnn_expf, sigmoid, tanh) and so vectorise those loops
            # without AVX-512's masks. It changes no value, only which floating-point
            # exception flags may be raised: fastnn reads none, and NumPy clears them
            # before each operation of its own. Without it the AVX2 and SSE2 clones of
            # every float32 sigmoid/tanh/exp loop ran scalar: LSTM(128) T=100 B=64
            # step on a Zen 3 CPU (AVX2), one thread, 104-113 ms -> 65-73 ms.
            opt = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off"]
            omp = "-fopenmp"
        use_omp = False
        if os.environ.get("FASTNN_NO_OPENMP", "") in ("", "0"):
            use_omp = _probe_openmp(self.compiler, omp)
            if not use_omp:
                print("warning: OpenMP not available with this compiler; building without it")
        else:
            print("note: FASTNN_NO_OPENMP set; building without OpenMP")
        for ext in self.extensions:
            ext.extra_compile_args = opt + ([omp] if use_omp else [])
            sanitize = DEBUG and not msvc
            link = ["-fsanitize=address,undefined"] if sanitize else []
            ext.extra_link_args = link + ([omp] if use_omp and not msvc else [])
            clones = [("FASTNN_NO_CLONES", "1")] if os.environ.get("FASTNN_NO_CLONES") else []
            # only where the sanitizers are really compiled in (not with MSVC)
            debug = [("FASTNN_DEBUG_BUILD", "1")] if sanitize else []
            ext.define_macros = list(ext.define_macros or []) + clones + debug + [
                ("FASTNN_OPENMP", "1" if use_omp else "0"),
                ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
            ]
        super().build_extensions()


def _c_sources(name):
    """The C files an extension links: all of csrc, except that stepgemm.c (two vector
    bodies of many unrolled blocks: 13 s to compile in a debug build, against about 1 s
    for the other files) goes only to the modules that call it."""
    with open(os.path.join("fastnn", "_kernels", f"{name}.pyx")) as fh:
        calls_it = "fastnn_step_gemm" in fh.read()
    return [s for s in C_SOURCES if calls_it or os.path.basename(s) != "stepgemm.c"]


extensions = [
    Extension(
        f"fastnn._kernels.{name}",
        [f"fastnn/_kernels/{name}.pyx"] + _c_sources(name),
        include_dirs=["csrc", numpy.get_include()],
        depends=C_DEPENDS,
    )
    for name in KERNELS
]

# A debug build gets its own build folder: setuptools skips compiling an extension
# whose library in build/lib* is newer than its sources, so a shared folder would let
# a debug wheel pick up release objects (or the other way round).
setup(
    ext_modules=cythonize(
        extensions, compiler_directives=DIRECTIVES,
        build_dir="build/debug/cython" if DEBUG else None,
    ),
    cmdclass={"build_ext": BuildExt},
    options={"build": {"build_base": "build/debug"}} if DEBUG else {},
)
