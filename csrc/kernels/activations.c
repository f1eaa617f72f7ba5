/* Fused bias + activation forward, activation backward and bias gradient.
 * Twin: fastnn/backend/reference/activations.py. Wrapper: fastnn/backend/compiled/activations.pyx. */
#include "fastnn_kernels.h"
#include "fastnn_math.h"

#define T float
#define SFX(name) name##_f32
#define EXP(x) fastnn_expf(x)
#define EXPM1(x) expm1f(x)
#define SIGMOID(x) fastnn_sigmoidf(x)
#define TANH(x) fastnn_tanhf(x)
#include "activations_impl.inc"
#undef T
#undef SFX
#undef EXP
#undef EXPM1
#undef SIGMOID
#undef TANH

#define T double
#define SFX(name) name##_f64
#define EXP(x) exp(x)
#define EXPM1(x) expm1(x)
#define SIGMOID(x) fastnn_sigmoid(x)
#define TANH(x) tanh(x)
#include "activations_impl.inc"
