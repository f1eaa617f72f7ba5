/* Dropout masks from a counter-based splitmix64 stream.
 * Counter-based (element k of a call uses counter + k) so the NumPy twin
 * (fastnn/backend/reference/dropout.py) reproduces the same bits with vectorised
 * uint64 arithmetic, and so a saved (seed, counter) pair resumes the stream. */
#include "fastnn_kernels.h"
#include "fastnn_math.h"

static inline double uniform24(uint64_t seed, uint64_t k)
{
    uint64_t z = seed + (k + 1) * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (double)(z >> 40) * (1.0 / 16777216.0); /* top 24 bits: same for f32 and f64 */
}

#define DEFINE_DROPOUT(T, SFX)                                                          \
    FASTNN_CLONES void dropout_mask_##SFX(T *mask, ptrdiff_t n, T rate, uint64_t seed, uint64_t counter) \
    {                                                                                   \
        T keep = (T)(1.0 / (1.0 - (double)rate));                                       \
        for (ptrdiff_t k = 0; k < n; k++)                                               \
            mask[k] = uniform24(seed, counter + (uint64_t)k) >= (double)rate ? keep : 0; \
    }                                                                                   \
    FASTNN_CLONES void mul_inplace_##SFX(T *y, const T *mask, ptrdiff_t n)                            \
    {                                                                                   \
        for (ptrdiff_t k = 0; k < n; k++) y[k] *= mask[k];                              \
    }

/* y (n, steps, f) *= mask (n, f) at every step: SpatialDropout1D drops whole feature
 * channels of a sample (Keras' noise shape (n, 1, f)). */
#define DEFINE_SPATIAL(T, SFX)                                                          \
    void mul_steps_inplace_##SFX(T *y, const T *mask_nf, ptrdiff_t n, ptrdiff_t steps,  \
                                 ptrdiff_t f)                                           \
    {                                                                                   \
        for (ptrdiff_t i = 0; i < n; i++)                                               \
            for (ptrdiff_t t = 0; t < steps; t++)                                       \
                for (ptrdiff_t j = 0; j < f; j++) y[(i * steps + t) * f + j] *= mask_nf[i * f + j]; \
    }

DEFINE_SPATIAL(float, f32)
DEFINE_SPATIAL(double, f64)
DEFINE_DROPOUT(float, f32)
DEFINE_DROPOUT(double, f64)
