/* The merge of a Bidirectional layer's two directions, forward and backward side by side.
 * Twin: fastnn/backend/reference/bidirectional.py. Wrapper: fastnn/backend/compiled/bidirectional.pyx.
 *
 * yf, yb are the two directions' outputs, (n, steps, h) each, yb in the backward layer's
 * processing order: with flip (sequence outputs) step t of the input is yb's step
 * steps-1-t, as Keras flips the backward sequence before merging. out is (n, steps, 2h)
 * (concat: forward half first) or (n, steps, h) (sum, mul, ave). */
#include "fastnn_kernels.h"

#define DEFINE_BIDIRECTIONAL(T, SFX)                                                       \
    void bidir_merge_forward_##SFX(int mode, const T *yf, const T *yb, ptrdiff_t n,       \
                                   ptrdiff_t steps, ptrdiff_t h, int flip, T *out)        \
    {                                                                                     \
        ptrdiff_t w = mode == FASTNN_MERGE_CONCAT ? 2 * h : h;                            \
        for (ptrdiff_t i = 0; i < n; i++)                                                 \
            for (ptrdiff_t t = 0; t < steps; t++) {                                       \
                const T *f = yf + (i * steps + t) * h;                                    \
                const T *b = yb + (i * steps + (flip ? steps - 1 - t : t)) * h;           \
                T *o = out + (i * steps + t) * w;                                         \
                for (ptrdiff_t j = 0; j < h; j++) {                                       \
                    switch (mode) {                                                       \
                    case FASTNN_MERGE_CONCAT: o[j] = f[j]; o[h + j] = b[j]; break;        \
                    case FASTNN_MERGE_SUM: o[j] = f[j] + b[j]; break;                     \
                    case FASTNN_MERGE_MUL: o[j] = f[j] * b[j]; break;                     \
                    default: o[j] = (f[j] + b[j]) / 2; break;                             \
                    }                                                                     \
                }                                                                         \
            }                                                                             \
    }                                                                                     \
    /* dyf, dyb (yb's order) from dy (out's shape): concat splits it, sum copies it, ave  \
     * halves it, mul multiplies it by the other direction's output. */                  \
    void bidir_merge_backward_##SFX(int mode, const T *dy, const T *yf, const T *yb,      \
                                    ptrdiff_t n, ptrdiff_t steps, ptrdiff_t h, int flip,  \
                                    T *dyf, T *dyb)                                       \
    {                                                                                     \
        ptrdiff_t w = mode == FASTNN_MERGE_CONCAT ? 2 * h : h;                            \
        for (ptrdiff_t i = 0; i < n; i++)                                                 \
            for (ptrdiff_t t = 0; t < steps; t++) {                                       \
                ptrdiff_t tb = i * steps + (flip ? steps - 1 - t : t);                    \
                const T *d = dy + (i * steps + t) * w;                                    \
                T *df = dyf + (i * steps + t) * h, *db = dyb + tb * h;                    \
                const T *f = yf + (i * steps + t) * h, *b = yb + tb * h;                  \
                for (ptrdiff_t j = 0; j < h; j++) {                                       \
                    switch (mode) {                                                       \
                    case FASTNN_MERGE_CONCAT: df[j] = d[j]; db[j] = d[h + j]; break;      \
                    case FASTNN_MERGE_SUM: df[j] = d[j]; db[j] = d[j]; break;             \
                    case FASTNN_MERGE_MUL: df[j] = d[j] * b[j]; db[j] = d[j] * f[j]; break; \
                    default: df[j] = d[j] / 2; db[j] = d[j] / 2; break;                   \
                    }                                                                     \
                }                                                                         \
            }                                                                             \
    }                                                                                     \
    /* acc += a over n values (the two directions' input gradients). */                  \
    void bidir_add_##SFX(T *acc, const T *a, ptrdiff_t n)                                 \
    {                                                                                     \
        for (ptrdiff_t k = 0; k < n; k++) acc[k] += a[k];                                 \
    }

DEFINE_BIDIRECTIONAL(float, f32)
DEFINE_BIDIRECTIONAL(double, f64)
