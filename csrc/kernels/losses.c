/* Losses (value + gradient, fused softmax/sigmoid cross-entropy) and metrics.
 * Twin: fastnn/backend/reference/losses.py. Wrapper: fastnn/backend/compiled/losses.pyx.
 *
 * All arithmetic is done in double (inputs are widened on load, results are
 * rounded to T on store) and every sum is accumulated in double in row order, so
 * float32 and float64 runs agree with the NumPy twin to rounding. The per-kind
 * formulas are written next to each helper in losses_impl.inc.
 */
#include "fastnn_kernels.h"
#include "fastnn_math.h"

/* Keras' backend.epsilon(): probabilities are clipped to [EPS, 1 - EPS]. */
#define FASTNN_LOSS_EPS 1e-7

/* Class label stored as a float -> column index, or -1 when it is not an integer in
 * [0, d). A label of -1 acts as an all-zero one-hot row (as one_hot does for an
 * out-of-range index): it contributes no loss and no gradient. The Python
 * wrappers reject such labels before calling, so this only guards memory. */
static inline ptrdiff_t fastnn_label_index(double lab, ptrdiff_t d)
{
    if (!(lab >= 0.0) || !(lab < (double)d) || lab != floor(lab)) return -1;
    return (ptrdiff_t)lab;
}

#define T float
#define SFX(name) name##_f32
#include "losses_impl.inc"
#undef T
#undef SFX

#define T double
#define SFX(name) name##_f64
#include "losses_impl.inc"
#undef T
#undef SFX
