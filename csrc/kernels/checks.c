/* Input checks run at the Python boundary before a step touches the model.
 * Twin: fastnn/backend/reference/checks.py. Wrapper: fastnn/backend/compiled/checks.pyx.
 * One pass, no allocation: a NumPy `np.isfinite(x).all()` allocates a bool array
 * of x's size on every call (page faults for big batches). */
#include <math.h>
#include <string.h>

#include "fastnn_kernels.h"
#include "fastnn_math.h"

/* Index of the first NaN or infinity, or -1. Blocks of 256 are OR-reduced on
 * the exponent bits (vectorises; a float reduction would need reassociation),
 * and only a block that holds a bad value is scanned again for its index. */
#define DEFINE_FIRST_NONFINITE(T, U, EXPMASK, SFX)                         \
    FASTNN_CLONES ptrdiff_t first_nonfinite_##SFX(const T *a, ptrdiff_t n) \
    {                                                                      \
        for (ptrdiff_t k0 = 0; k0 < n; k0 += 256) {                        \
            ptrdiff_t end = n - k0 < 256 ? n : k0 + 256;                   \
            U bad = 0;                                                     \
            for (ptrdiff_t k = k0; k < end; k++) {                         \
                U bits;                                                    \
                memcpy(&bits, a + k, sizeof bits);                         \
                bad |= (U)((bits & EXPMASK) == EXPMASK);                   \
            }                                                              \
            if (bad)                                                       \
                for (ptrdiff_t k = k0; k < end; k++)                       \
                    if (!isfinite(a[k])) return k;                         \
        }                                                                  \
        return -1;                                                         \
    }

DEFINE_FIRST_NONFINITE(float, uint32_t, 0x7f800000u, f32)
DEFINE_FIRST_NONFINITE(double, uint64_t, 0x7ff0000000000000ull, f64)

/* Index of the first value that is not an integer class label in [0, d), or -1. */
#define DEFINE_FIRST_BAD_LABEL(T, SFX)                                          \
    ptrdiff_t first_bad_label_##SFX(const T *t, ptrdiff_t n, ptrdiff_t d)       \
    {                                                                           \
        for (ptrdiff_t k = 0; k < n; k++) {                                     \
            double v = t[k];                                                    \
            if (!(v >= 0 && v < (double)d && v == floor(v))) return k;          \
        }                                                                       \
        return -1;                                                              \
    }

DEFINE_FIRST_BAD_LABEL(float, f32)
DEFINE_FIRST_BAD_LABEL(double, f64)

#ifdef FASTNN_DEBUG_BUILD
#include <stdlib.h>

/* Debug builds only (setup.py FASTNN_DEBUG=1 defines FASTNN_DEBUG_BUILD), so release
 * builds contain no deliberate bug. Writes and reads float n of an n-float heap block,
 * one past its end: AddressSanitizer must stop the process with a heap-buffer-overflow
 * report, which proves the sanitizer is compiled in and live (tests/test_sanitizer.py).
 * n >= 1 (checked by the caller). volatile: the optimiser must keep the accesses. */
float debug_heap_overflow_f32(ptrdiff_t n)
{
    volatile float *a = malloc((size_t)n * sizeof(float));
    float past_end;
    if (a == NULL) return 0.0f;
    a[n] = 1.0f;
    past_end = a[n];
    free((void *)a);
    return past_end;
}
#endif
