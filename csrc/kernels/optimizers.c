/* Optimizer kernels: gradient norms, value clipping and the one-pass parameter
 * updates of SGD (momentum, Nesterov), Adagrad, RMSprop and Adam (Keras 3 rules).
 * Twin: fastnn/backend/reference/optimizers.py. Wrapper: fastnn/backend/compiled/optimizers.pyx.
 *
 * The bodies live in optimizers_impl.inc, written once for T in {float, double}.
 * Every update reads the gradient as g * gscale (how clipnorm / global_clipnorm
 * are applied without a separate pass) and first applies Keras' decoupled weight
 * decay w -= w * wd_lr. No allocation, no Python; each loop is a plain
 * element-wise pass the compiler vectorises (sqrt vectorises under -fno-math-errno).
 */
#include <float.h>
#include <math.h>

#include "fastnn_kernels.h"
#include "fastnn_math.h"

/* The wrappers never pass overlapping arrays (they check), so the definitions may
 * promise it: top-level qualifiers on parameters do not change the declared type. */
#if defined(_MSC_VER)
#define OPT_RESTRICT __restrict
#else
#define OPT_RESTRICT restrict
#endif

#define T float
#define SFX(name) name##_f32
#define SQRT(x) sqrtf(x)
#define TMAX FLT_MAX
#include "optimizers_impl.inc"
#undef T
#undef SFX
#undef SQRT
#undef TMAX

#define T double
#define SFX(name) name##_f64
#define SQRT(x) sqrt(x)
#define TMAX DBL_MAX
#include "optimizers_impl.inc"
#undef T
#undef SFX
#undef SQRT
#undef TMAX
