/* Inline float32/float64 math shared by the pointwise kernels.
 *
 * float32 exp is our own so that loops calling it vectorise under plain -O3
 * (glibc's expf is a scalar call; its vector variants are used by GCC only with
 * -ffast-math, which we refuse: it flips flush-to-zero process-wide on import).
 * float64 keeps libm for accuracy.
 */
#ifndef FASTNN_MATH_H
#define FASTNN_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* No OpenMP in the element-wise loops, measured (float32, 2 cores, one training
 * step): 1024-2048-2048-10 B=1024 took 190 ms without and 189-204 ms with
 * `omp parallel for` on every loop over 64K elements (the step is GEMM-bound),
 * while 784-512-512-10 B=256 went from 6 ms to 55 ms because libgomp's spinning
 * threads starved OpenBLAS's threads (6 ms again only with OMP_WAIT_POLICY=passive). */

/* exp(x) for float32, about 1 ulp on [-87.3, 88.7] (clamped outside):
 * x = n*ln2 + r with |r| <= ln2/2, exp(r) by its degree-7 Taylor polynomial
 * (truncation < 5e-9 relative), 2^n built in the exponent bits. */
static inline float fastnn_expf(float x)
{
    x = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
    /* round-to-nearest by adding 1.5*2^23: branch-free and vectorisable under SSE2 */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693145751953125f;  /* ln2 split in two for Cody-Waite reduction */
    r = r - n * 1.42860682030941723e-06f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* sigmoid without overflow and without cancellation for negative x:
 * e = exp(-|x|); x >= 0: 1/(1+e), else e/(1+e). */
static inline float fastnn_sigmoidf(float x)
{
    float e = fastnn_expf(-fabsf(x));
    float s = 1.0f / (1.0f + e);
    return x >= 0.0f ? s : e * s;
}

static inline double fastnn_sigmoid(double x)
{
    double e = exp(-fabs(x));
    double s = 1.0 / (1.0 + e);
    return x >= 0.0 ? s : e * s;
}

/* log(1 + exp(-|x|)) + max(x, 0): the stable softplus used by the logit losses. */
static inline double fastnn_softplus(double x)
{
    return (x > 0.0 ? x : 0.0) + log1p(exp(-fabs(x)));
}

#endif
