/* Embedding: rows of a (V, D) table picked by index (forward) and the gradient rows
 * added back into a (V, D) gradient (backward).
 * Twin: fastnn/backend/reference/embedding.py. Wrapper: fastnn/backend/compiled/embedding.pyx.
 *
 * Indices arrive as values of the Net's floating dtype: every op reads one flat floating
 * buffer. An index is the value truncated toward zero, as Keras' cast to int32 does, so
 * 3.7 picks row 3; float32 holds every integer below 2^24 exactly (the layer refuses a
 * larger float32 vocabulary). */
#include <math.h>
#include <string.h>

#include "fastnn_kernels.h"

#define DEFINE_EMBEDDING(T, SFX)                                                           \
    /* Position of the first value whose truncation is not a row of the table (NaN and    \
     * infinities included), or -1. */                                                  \
    ptrdiff_t embedding_first_bad_index_##SFX(const T *idx, ptrdiff_t n, ptrdiff_t v)     \
    {                                                                                     \
        for (ptrdiff_t k = 0; k < n; k++) {                                               \
            double i = trunc((double)idx[k]);                                             \
            if (!(i >= 0 && i < (double)v)) return k;                                     \
        }                                                                                 \
        return -1;                                                                        \
    }                                                                                     \
    /* out (n, d) = table[idx]: one row copy per index (indices checked by the caller). */ \
    void embedding_forward_##SFX(const T *idx, ptrdiff_t n, const T *table_vd, ptrdiff_t d, \
                                 T *out_nd)                                               \
    {                                                                                     \
        for (ptrdiff_t k = 0; k < n; k++)                                                 \
            memcpy(out_nd + k * d, table_vd + (ptrdiff_t)idx[k] * d, (size_t)d * sizeof(T)); \
    }                                                                                     \
    /* dtable[idx[k]] += dy[k] for k = 0..n-1 in that order (a repeated index sums its    \
     * rows in input order, which the twin's np.add.at repeats exactly). Adds into       \
     * dtable: the caller zeroes it first. */                                             \
    void embedding_backward_##SFX(const T *idx, ptrdiff_t n, const T *dy_nd, ptrdiff_t d,   \
                                  T *dtable_vd)                                           \
    {                                                                                     \
        for (ptrdiff_t k = 0; k < n; k++) {                                               \
            T *row = dtable_vd + (ptrdiff_t)idx[k] * d;                                   \
            const T *g = dy_nd + k * d;                                                   \
            for (ptrdiff_t j = 0; j < d; j++) row[j] += g[j];                             \
        }                                                                                 \
    }                                                                                     \
    /* mask_zero: m[k] = idx[k] != 0 (the index as given, as Keras' compute_mask). */     \
    void embedding_mask_##SFX(const T *idx, ptrdiff_t n, unsigned char *m)                \
    {                                                                                     \
        for (ptrdiff_t k = 0; k < n; k++) m[k] = idx[k] != 0;                             \
    }

DEFINE_EMBEDDING(float, f32)
DEFINE_EMBEDDING(double, f64)
