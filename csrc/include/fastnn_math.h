/* Inline float32/float64 math shared by the pointwise kernels.
 *
 * float32 exp is our own so that loops calling it vectorise under -O3
 * (glibc's expf is a scalar call; its vector variants are used by GCC only with
 * -ffast-math, which we refuse: it flips flush-to-zero process-wide on import).
 * The `?:` selects below are branch-free only when the compiler may evaluate both
 * sides: the build passes -fno-trapping-math for that (see setup.py); without it
 * only the AVX-512 clones (masked operations) vectorised these loops.
 * float64 keeps libm for accuracy.
 */
#ifndef FASTNN_MATH_H
#define FASTNN_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* No OpenMP in the element-wise loops: it gained nothing on GEMM-bound steps and libgomp's
 * spinning threads starved OpenBLAS's on others (bench/RESULTS.md, "Scheduling policy"). */

/* Element-wise kernels are compiled three times (AVX-512, AVX2, SSE2) and the
 * loader picks the widest the CPU has (GCC target_clones; wheels stay portable).
 * Measured: Adam over 55K float32 parameters took 0.80 ns/element with SSE2,
 * bound by the throughput of 4-wide sqrt and divide. Results are identical on
 * every path because the build turns off FMA contraction (-ffp-contract=off).
 * FASTNN_NO_CLONES=1 at build time (and non-GCC compilers) skip the clones. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) \
    && !defined(FASTNN_NO_CLONES)
#define FASTNN_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define FASTNN_CLONES
#endif

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

/* tanh for float32 without libm's scalar tanhf (10 ns/element here):
 * |x| >= 0.25: (1 - e) / (1 + e) with e = exp(-2|x|) (cancellation in 1 - e stays
 * below 2 ulps there); |x| < 0.25: odd Taylor series to x^9 (next term < 1e-8
 * relative). Both are computed and one selected, so the loop vectorises. */
static inline float fastnn_tanhf(float x)
{
    float ax = fabsf(x);
    float e = fastnn_expf(-2.0f * ax);
    float big = (1.0f - e) / (1.0f + e);
    float x2 = x * x;
    float p = 62.0f / 2835.0f;
    p = p * x2 - 17.0f / 315.0f;
    p = p * x2 + 2.0f / 15.0f;
    p = p * x2 - 1.0f / 3.0f;
    float small = ax + ax * x2 * p;
    return copysignf(ax < 0.25f ? small : big, x);
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
