/* Per-timestep gate kernels of SimpleRNN, LSTM and GRU (forward and BPTT backward).
 * Twin: fastnn/backend/reference/recurrent.py. Wrapper: fastnn/backend/compiled/recurrent.pyx.
 * The GEMMs (input projection of all timesteps, h_{t-1} U per step, and the
 * weight and input gradients after the time loop) are the wrapper's; each
 * timestep costs one call here. */
#include <string.h>

#include "fastnn_kernels.h"
#include "fastnn_math.h"

#define T float
#define SFX(name) name##_f32
#define SIGMOID(x) fastnn_sigmoidf(x)
#define TANH(x) fastnn_tanhf(x)
#include "recurrent_impl.inc"
#undef T
#undef SFX
#undef SIGMOID
#undef TANH

#define T double
#define SFX(name) name##_f64
#define SIGMOID(x) fastnn_sigmoid(x)
#define TANH(x) tanh(x)
#include "recurrent_impl.inc"
