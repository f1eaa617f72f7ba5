/* Sequence reshaping and pooling: RepeatVector and global average / max pooling over
 * the steps of a sequence, forward and backward side by side.
 * Twin: fastnn/backend/reference/sequence.py. Wrapper: fastnn/backend/compiled/sequence.pyx.
 *
 * A sample of a pooled sequence holds `steps` x `feats` values; element (t, f) sits at
 * t * s_step + f * s_feat (channels_last: s_step = feats, s_feat = 1; channels_first:
 * s_step = 1, s_feat = steps), so one loop serves both data formats. Sums are taken in
 * double, steps in ascending order, so the twin can repeat them. */
#include "fastnn_kernels.h"

#define DEFINE_SEQUENCE(T, SFX)                                                            \
    /* out (n, reps, f): every row of x (n, f) repeated reps times. */                    \
    void repeat_forward_##SFX(const T *x_nf, ptrdiff_t n, ptrdiff_t f, ptrdiff_t reps,    \
                              T *out)                                                     \
    {                                                                                     \
        for (ptrdiff_t i = 0; i < n; i++)                                                 \
            for (ptrdiff_t r = 0; r < reps; r++)                                          \
                for (ptrdiff_t j = 0; j < f; j++) out[(i * reps + r) * f + j] = x_nf[i * f + j]; \
    }                                                                                     \
    /* dx (n, f) = the sum over the reps copies of dy (n, reps, f). */                    \
    void repeat_backward_##SFX(const T *dy, ptrdiff_t n, ptrdiff_t f, ptrdiff_t reps,     \
                               T *dx_nf)                                                  \
    {                                                                                     \
        for (ptrdiff_t i = 0; i < n; i++)                                                 \
            for (ptrdiff_t j = 0; j < f; j++) {                                           \
                double s = 0;                                                             \
                for (ptrdiff_t r = 0; r < reps; r++) s += dy[(i * reps + r) * f + j];     \
                dx_nf[i * f + j] = (T)s;                                                  \
            }                                                                             \
    }                                                                                     \
    /* out (n, feats) = the mean over the steps of each sample. */                        \
    void avg_pool_forward_##SFX(const T *x, ptrdiff_t n, ptrdiff_t steps, ptrdiff_t feats, \
                                ptrdiff_t s_step, ptrdiff_t s_feat, T *out_nf)            \
    {                                                                                     \
        for (ptrdiff_t i = 0; i < n; i++) {                                               \
            const T *xi = x + i * steps * feats;                                          \
            for (ptrdiff_t f = 0; f < feats; f++) {                                       \
                double s = 0;                                                             \
                for (ptrdiff_t t = 0; t < steps; t++) s += xi[t * s_step + f * s_feat];   \
                out_nf[i * feats + f] = (T)(s / (double)steps);                           \
            }                                                                             \
        }                                                                                 \
    }                                                                                     \
    /* dx = dy / steps at every step. */                                                  \
    void avg_pool_backward_##SFX(const T *dy_nf, ptrdiff_t n, ptrdiff_t steps,            \
                                 ptrdiff_t feats, ptrdiff_t s_step, ptrdiff_t s_feat, T *dx) \
    {                                                                                     \
        for (ptrdiff_t i = 0; i < n; i++) {                                               \
            T *dxi = dx + i * steps * feats;                                              \
            for (ptrdiff_t f = 0; f < feats; f++) {                                       \
                T g = (T)((double)dy_nf[i * feats + f] / (double)steps);                  \
                for (ptrdiff_t t = 0; t < steps; t++) dxi[t * s_step + f * s_feat] = g;   \
            }                                                                             \
        }                                                                                 \
    }                                                                                     \
    /* out (n, feats) = the maximum over the steps (inputs are finite: checked at the    \
     * boundary). */                                                                      \
    void max_pool_forward_##SFX(const T *x, ptrdiff_t n, ptrdiff_t steps, ptrdiff_t feats, \
                                ptrdiff_t s_step, ptrdiff_t s_feat, T *out_nf)            \
    {                                                                                     \
        for (ptrdiff_t i = 0; i < n; i++) {                                               \
            const T *xi = x + i * steps * feats;                                          \
            for (ptrdiff_t f = 0; f < feats; f++) {                                       \
                T m = xi[f * s_feat];                                                     \
                for (ptrdiff_t t = 1; t < steps; t++) {                                   \
                    T v = xi[t * s_step + f * s_feat];                                    \
                    if (v > m) m = v;                                                     \
                }                                                                         \
                out_nf[i * feats + f] = m;                                                \
            }                                                                             \
        }                                                                                 \
    }                                                                                     \
    /* dx: dy shared equally by the steps that hold the maximum y (the gradient of a     \
     * reduce_max in TensorFlow and JAX, Keras' backends), 0 elsewhere. */                \
    void max_pool_backward_##SFX(const T *x, const T *y_nf, const T *dy_nf, ptrdiff_t n,  \
                                 ptrdiff_t steps, ptrdiff_t feats, ptrdiff_t s_step,      \
                                 ptrdiff_t s_feat, T *dx)                                 \
    {                                                                                     \
        for (ptrdiff_t i = 0; i < n; i++) {                                               \
            const T *xi = x + i * steps * feats;                                          \
            T *dxi = dx + i * steps * feats;                                              \
            for (ptrdiff_t f = 0; f < feats; f++) {                                       \
                T m = y_nf[i * feats + f];                                                \
                ptrdiff_t ties = 0;                                                       \
                for (ptrdiff_t t = 0; t < steps; t++) ties += xi[t * s_step + f * s_feat] == m; \
                T g = (T)((double)dy_nf[i * feats + f] / (double)ties);                   \
                for (ptrdiff_t t = 0; t < steps; t++)                                     \
                    dxi[t * s_step + f * s_feat] = xi[t * s_step + f * s_feat] == m ? g : 0; \
            }                                                                             \
        }                                                                                 \
    }

DEFINE_SEQUENCE(float, f32)
DEFINE_SEQUENCE(double, f64)
