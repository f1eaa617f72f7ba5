/* Sequence reshaping and pooling: RepeatVector and global average / max pooling over
 * the steps of a sequence, forward and backward side by side.
 * Twin: fastnn/backend/reference/sequence.py. Wrapper: fastnn/backend/compiled/sequence.pyx.
 *
 * A sample of a pooled sequence holds `steps` x `feats` values; element (t, f) sits at
 * t * s_step + f * s_feat (channels_last: s_step = feats, s_feat = 1; channels_first:
 * s_step = 1, s_feat = steps), so one loop serves both data formats. Sums are taken in
 * double, steps in ascending order, so the twin can repeat them. */
#include "fastnn_kernels.h"

/* The steps a row's mask keeps (all of them without a mask). */
static double unmasked_steps(const unsigned char *m, ptrdiff_t steps)
{
    if (!m)
        return (double)steps;
    double count = 0;
    for (ptrdiff_t t = 0; t < steps; t++) count += m[t] != 0;
    return count;
}

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
    /* out (n, feats) = the mean over the steps of each sample; with a mask m (n, steps)  \
     * (NULL: none) over its unmasked steps only (none unmasked: 0/0, NaN, as Keras). */ \
    void avg_pool_forward_##SFX(const T *x, const unsigned char *m, ptrdiff_t n,          \
                                ptrdiff_t steps, ptrdiff_t feats, ptrdiff_t s_step,       \
                                ptrdiff_t s_feat, T *out_nf)                              \
    {                                                                                     \
        for (ptrdiff_t i = 0; i < n; i++) {                                               \
            const T *xi = x + i * steps * feats;                                          \
            const unsigned char *mi = m ? m + i * steps : NULL;                           \
            double count = unmasked_steps(mi, steps);                                     \
            for (ptrdiff_t f = 0; f < feats; f++) {                                       \
                double s = 0;                                                             \
                for (ptrdiff_t t = 0; t < steps; t++)                                     \
                    if (!mi || mi[t]) s += xi[t * s_step + f * s_feat];                   \
                out_nf[i * feats + f] = (T)(s / count);                                   \
            }                                                                             \
        }                                                                                 \
    }                                                                                     \
    /* dx = dy / steps at every step (masked: dy / count at the unmasked steps, 0 at the  \
     * others). */                                                                        \
    void avg_pool_backward_##SFX(const T *dy_nf, const unsigned char *m, ptrdiff_t n,     \
                                 ptrdiff_t steps, ptrdiff_t feats, ptrdiff_t s_step,      \
                                 ptrdiff_t s_feat, T *dx)                                 \
    {                                                                                     \
        for (ptrdiff_t i = 0; i < n; i++) {                                               \
            T *dxi = dx + i * steps * feats;                                              \
            const unsigned char *mi = m ? m + i * steps : NULL;                           \
            double count = unmasked_steps(mi, steps);                                     \
            for (ptrdiff_t f = 0; f < feats; f++) {                                       \
                T g = (T)((double)dy_nf[i * feats + f] / count);                          \
                for (ptrdiff_t t = 0; t < steps; t++)                                     \
                    dxi[t * s_step + f * s_feat] = (!mi || mi[t]) ? g : 0;                \
            }                                                                             \
        }                                                                                 \
    }                                                                                     \
    /* Masking: x holds rows of f values (n * steps rows); m[r] = any(x_r != value) and \
     * out_r = x_r where m[r], else 0. */                                                 \
    void masking_forward_##SFX(const T *x, ptrdiff_t rows, ptrdiff_t f, T value,         \
                               unsigned char *m, T *out)                                  \
    {                                                                                     \
        for (ptrdiff_t r = 0; r < rows; r++) {                                            \
            const T *xr = x + r * f;                                                      \
            int keep = 0;                                                                 \
            for (ptrdiff_t j = 0; j < f; j++) keep |= xr[j] != value;                     \
            m[r] = (unsigned char)keep;                                                   \
            for (ptrdiff_t j = 0; j < f; j++) out[r * f + j] = keep ? xr[j] : 0;          \
        }                                                                                 \
    }                                                                                     \
    /* dx_r = dy_r where m[r], else 0. */                                                 \
    void masking_backward_##SFX(const T *dy, const unsigned char *m, ptrdiff_t rows,      \
                                ptrdiff_t f, T *dx)                                       \
    {                                                                                     \
        for (ptrdiff_t r = 0; r < rows; r++)                                              \
            for (ptrdiff_t j = 0; j < f; j++) dx[r * f + j] = m[r] ? dy[r * f + j] : 0;   \
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
