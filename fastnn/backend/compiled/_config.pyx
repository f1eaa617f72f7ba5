# Build-time facts, compiled in so show_config() reports what was really built,
# and the debug build's self-tests (tests/test_sanitizer.py).
cdef extern from *:
    """
    #include "fastnn_kernels.h"
    /* 1 in a debug build (setup.py FASTNN_DEBUG=1: sanitizers, Cython bounds checks).
     * A release build has no deliberate overflow: this stand-in is never called. */
    #ifdef FASTNN_DEBUG_BUILD
    #define FASTNN_IS_DEBUG_BUILD 1
    #else
    #define FASTNN_IS_DEBUG_BUILD 0
    #define debug_heap_overflow_f32(n) ((void)(n), 0.0f)
    #endif
    """
    int FASTNN_IS_DEBUG_BUILD
    float debug_heap_overflow_f32(Py_ssize_t n) nogil

DEBUG_BUILD = bool(FASTNN_IS_DEBUG_BUILD)


def debug_build():
    """True when the kernels were built with setup.py FASTNN_DEBUG=1 and a compiler that has
    the sanitizers (GCC, Clang): AddressSanitizer, UBSan, Cython bounds checks."""
    return DEBUG_BUILD


def _require_debug_build(name):
    if not DEBUG_BUILD:
        raise RuntimeError(f"{name} exists only in debug builds (built with FASTNN_DEBUG=1); "
                           "this is a release build")


def heap_overflow_self_test(Py_ssize_t n):
    """Debug builds only: write and read one float past the end of an n-float heap
    block in C. AddressSanitizer must stop the process (heap-buffer-overflow)."""
    _require_debug_build("heap_overflow_self_test")
    if n < 1:
        raise ValueError(f"heap_overflow_self_test expected n >= 1. Received: n={n}")
    with nogil:
        debug_heap_overflow_f32(n)


def bounds_check_self_test(float[::1] a, Py_ssize_t i):
    """Debug builds only: a[i] through a typed memoryview. The Cython bounds check
    compiled into debug builds raises IndexError when i is outside [0, len(a))."""
    _require_debug_build("bounds_check_self_test")
    return a[i]
