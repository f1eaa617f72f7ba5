/* fastnn plain-C kernels: pointwise and per-row math only.
 *
 * No BLAS, no Python, no allocation. Every kernel has an _f32 and an _f64 form;
 * argument names carry their shapes (z_nu is n rows of u columns, row-major).
 * Reductions over rows are accumulated in double in a fixed order so results are
 * reproducible and float32 twin tests do not flake.
 */
#ifndef FASTNN_KERNELS_H
#define FASTNN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* ---- activations.c --------------------------------------------------------- */
enum fastnn_activation {
    FASTNN_LINEAR = 0,
    FASTNN_RELU = 1,
    FASTNN_SIGMOID = 2,
    FASTNN_TANH = 3,
    FASTNN_SOFTMAX = 4,
    FASTNN_LEAKY_RELU = 5, /* negative slope 0.2, as Keras 3 */
    FASTNN_ELU = 6         /* alpha 1.0 */
};

/* The three take n rows of u columns whose rows are ld values apart (ld >= u; ld == u
 * for a whole array, ld > u for a block of columns, as when a layer is cut in two). */
/* z = act(z + b) in place; b_u may be NULL (no bias). */
void bias_act_forward_f32(float *z_nu, const float *b_u, ptrdiff_t n, ptrdiff_t u, ptrdiff_t ld,
                          int act);
void bias_act_forward_f64(double *z_nu, const double *b_u, ptrdiff_t n, ptrdiff_t u,
                          ptrdiff_t ld, int act);
/* dz = dy * act'(.) in place, computed from the forward output y (dz holds dy on entry). */
void act_backward_f32(float *dz_nu, const float *y_nu, ptrdiff_t n, ptrdiff_t u, ptrdiff_t ld,
                      int act);
void act_backward_f64(double *dz_nu, const double *y_nu, ptrdiff_t n, ptrdiff_t u,
                      ptrdiff_t ld, int act);
/* db = sum over rows of dz (overwrites db). */
void bias_grad_f32(float *db_u, const float *dz_nu, ptrdiff_t n, ptrdiff_t u, ptrdiff_t ld);
void bias_grad_f64(double *db_u, const double *dz_nu, ptrdiff_t n, ptrdiff_t u, ptrdiff_t ld);

/* ---- losses.c ---------------------------------------------------------------
 * Every loss returns the weighted mean over the n samples (Keras
 * "sum_over_batch_size": sum_i w_i * loss_i / n, each loss_i being a mean over
 * the d outputs of sample i where Keras takes one), and, when g_nd is not NULL,
 * writes the gradient of that value with respect to its first input.
 * w_n may be NULL (all weights 1). Fused kinds take logits z and also write the
 * activated output p (softmax or sigmoid) when p_nd is not NULL.
 * Sparse kinds read integer class labels stored as floats in t_n.
 */
enum fastnn_loss {
    FASTNN_LOSS_MSE = 0,
    FASTNN_LOSS_MAE = 1,
    FASTNN_LOSS_BCE = 2,              /* from probabilities, clipped to [1e-7, 1-1e-7] */
    FASTNN_LOSS_BCE_LOGITS = 3,       /* sigmoid fused: input logits */
    FASTNN_LOSS_CCE = 4,              /* from probabilities (normalised, clipped) */
    FASTNN_LOSS_CCE_LOGITS = 5,       /* softmax fused: input logits */
    FASTNN_LOSS_SPARSE_CCE = 6,       /* from probabilities */
    FASTNN_LOSS_SPARSE_CCE_LOGITS = 7 /* softmax fused: input logits */
};
double loss_f32(int kind, const float *y_nd, const float *t_nd, const float *w_n, float *g_nd,
                float *p_nd, ptrdiff_t n, ptrdiff_t d);
double loss_f64(int kind, const double *y_nd, const double *t_nd, const double *w_n, double *g_nd,
                double *p_nd, ptrdiff_t n, ptrdiff_t d);

/* Metrics: the weighted SUM over samples of the per-sample value (caller divides). */
enum fastnn_metric {
    FASTNN_METRIC_BINARY_ACCURACY = 0,      /* mean over d of (y > 0.5) == t */
    FASTNN_METRIC_CATEGORICAL_ACCURACY = 1, /* argmax y == argmax t */
    FASTNN_METRIC_SPARSE_ACCURACY = 2,      /* argmax y == t (d == 1: y > 0.5 == t) */
    FASTNN_METRIC_MSE = 3,
    FASTNN_METRIC_MAE = 4
};
double metric_f32(int kind, const float *y_nd, const float *t_nd, const float *w_n, ptrdiff_t n,
                  ptrdiff_t d, ptrdiff_t t_d);
double metric_f64(int kind, const double *y_nd, const double *t_nd, const double *w_n, ptrdiff_t n,
                  ptrdiff_t d, ptrdiff_t t_d);
/* loss_mask_weights: a masked output's per-row weights (Keras' apply_mask): wm = m ? sw : 0
 * for the metrics, wl = wm * rows / valid for the loss; returns the sum of wm. */
double loss_mask_weights_f32(const unsigned char *m, const float *sw, float *wl, float *wm,
                             ptrdiff_t rows);
double loss_mask_weights_f64(const unsigned char *m, const double *sw, double *wl, double *wm,
                             ptrdiff_t rows);

/* ---- optimizers.c -----------------------------------------------------------
 * In-place updates of n parameters w from gradients g (read as g * gscale, which
 * is how clipnorm / global_clipnorm are applied without a separate pass).
 * wd_lr = weight_decay * learning_rate (Keras decoupled decay: w -= w * wd_lr first).
 */
double sumsq_f32(const float *g, ptrdiff_t n);
double sumsq_f64(const double *g, ptrdiff_t n);
void clip_values_f32(float *g, ptrdiff_t n, float limit);
void clip_values_f64(double *g, ptrdiff_t n, double limit);
/* m == NULL: plain SGD. Else Keras momentum m = mu*m - lr*g; w += m (nesterov: w += mu*m - lr*g). */
void sgd_update_f32(float *w, const float *g, float *m, ptrdiff_t n, float lr, float mu,
                    int nesterov, float gscale, float wd_lr);
void sgd_update_f64(double *w, const double *g, double *m, ptrdiff_t n, double lr, double mu,
                    int nesterov, double gscale, double wd_lr);
/* a += g^2; w -= lr * g / sqrt(a + eps) */
void adagrad_update_f32(float *w, const float *g, float *a, ptrdiff_t n, float lr, float eps,
                        float gscale, float wd_lr);
void adagrad_update_f64(double *w, const double *g, double *a, ptrdiff_t n, double lr, double eps,
                        double gscale, double wd_lr);
/* v = rho*v + (1-rho)*g^2; inc = lr*g/sqrt(v + eps); m == NULL: w -= inc; else m = mu*m + inc; w -= m */
void rmsprop_update_f32(float *w, const float *g, float *v, float *m, ptrdiff_t n, float lr,
                        float rho, float mu, float eps, float gscale, float wd_lr);
void rmsprop_update_f64(double *w, const double *g, double *v, double *m, ptrdiff_t n, double lr,
                        double rho, double mu, double eps, double gscale, double wd_lr);
/* m += (g-m)(1-b1); v += (g^2-v)(1-b2); w -= alpha * m / (sqrt(v) + eps),
 * alpha = lr * sqrt(1 - b2^t) / (1 - b1^t) computed by the caller in double. */
void adam_update_f32(float *w, const float *g, float *m, float *v, ptrdiff_t n, float alpha,
                     float b1, float b2, float eps, float gscale, float wd_lr);
void adam_update_f64(double *w, const double *g, double *m, double *v, ptrdiff_t n, double alpha,
                     double b1, double b2, double eps, double gscale, double wd_lr);

/* ---- random.c ---------------------------------------------------------------
 * Counter-based splitmix64 so the NumPy twin can reproduce the same stream with
 * vectorised uint64 arithmetic. u = top 24 bits / 2^24 (same for f32 and f64).
 * Dropout: mask = (u >= rate) / (1 - rate), written as the scale to apply.
 */
void dropout_mask_f32(float *mask, ptrdiff_t n, float rate, uint64_t seed, uint64_t counter);
void dropout_mask_f64(double *mask, ptrdiff_t n, double rate, uint64_t seed, uint64_t counter);
/* y = x * mask (elementwise; also used in backward: dx = dy * mask). */
void mul_inplace_f32(float *y, const float *mask, ptrdiff_t n);
void mul_inplace_f64(double *y, const double *mask, ptrdiff_t n);
/* y (n, steps, f) *= mask_nf (n, f) at every step (SpatialDropout1D). */
void mul_steps_inplace_f32(float *y, const float *mask_nf, ptrdiff_t n, ptrdiff_t steps,
                           ptrdiff_t f);
void mul_steps_inplace_f64(double *y, const double *mask_nf, ptrdiff_t n, ptrdiff_t steps,
                           ptrdiff_t f);

/* ---- bidirectional.c --------------------------------------------------------
 * The merge of a Bidirectional layer: yf, yb (n, steps, h), yb in the backward layer's
 * processing order (flip: reversed in time, for sequence outputs); out (n, steps, 2h)
 * for concat (forward half first), else (n, steps, h). backward: dyf, dyb (yb's order)
 * from dy. add: acc += a. */
enum fastnn_merge {
    FASTNN_MERGE_CONCAT = 0,
    FASTNN_MERGE_SUM = 1,
    FASTNN_MERGE_MUL = 2,
    FASTNN_MERGE_AVE = 3,
};
void bidir_merge_forward_f32(int mode, const float *yf, const float *yb, ptrdiff_t n,
                             ptrdiff_t steps, ptrdiff_t h, int flip, float *out);
void bidir_merge_forward_f64(int mode, const double *yf, const double *yb, ptrdiff_t n,
                             ptrdiff_t steps, ptrdiff_t h, int flip, double *out);
void bidir_merge_backward_f32(int mode, const float *dy, const float *yf, const float *yb,
                              ptrdiff_t n, ptrdiff_t steps, ptrdiff_t h, int flip, float *dyf,
                              float *dyb);
void bidir_merge_backward_f64(int mode, const double *dy, const double *yf, const double *yb,
                              ptrdiff_t n, ptrdiff_t steps, ptrdiff_t h, int flip, double *dyf,
                              double *dyb);
void bidir_add_f32(float *acc, const float *a, ptrdiff_t n);
void bidir_add_f64(double *acc, const double *a, ptrdiff_t n);

/* ---- embedding.c ------------------------------------------------------------
 * idx holds n indices as floating values (truncated toward zero); table_vd is (v, d).
 * first_bad_index: position of the first index outside [0, v) (or NaN), or -1.
 * forward: out_nd = table_vd[idx]. backward: dtable_vd[idx[k]] += dy_nd[k], k ascending
 * (adds: the caller zeroes dtable_vd). Indices must have passed first_bad_index.
 * mask (mask_zero): m[k] = idx[k] != 0. */
ptrdiff_t embedding_first_bad_index_f32(const float *idx, ptrdiff_t n, ptrdiff_t v);
ptrdiff_t embedding_first_bad_index_f64(const double *idx, ptrdiff_t n, ptrdiff_t v);
void embedding_forward_f32(const float *idx, ptrdiff_t n, const float *table_vd, ptrdiff_t d,
                           float *out_nd);
void embedding_forward_f64(const double *idx, ptrdiff_t n, const double *table_vd, ptrdiff_t d,
                           double *out_nd);
void embedding_backward_f32(const float *idx, ptrdiff_t n, const float *dy_nd, ptrdiff_t d,
                            float *dtable_vd);
void embedding_backward_f64(const double *idx, ptrdiff_t n, const double *dy_nd, ptrdiff_t d,
                            double *dtable_vd);
void embedding_mask_f32(const float *idx, ptrdiff_t n, unsigned char *m);
void embedding_mask_f64(const double *idx, ptrdiff_t n, unsigned char *m);

/* ---- sequence.c -------------------------------------------------------------
 * repeat: x_nf (n, f) <-> (n, reps, f) (backward sums the copies).
 * avg_pool / max_pool: over the steps of (n, steps x feats) samples, element (t, f) at
 * t * s_step + f * s_feat; out_nf (n, feats). max_pool_backward shares dy equally among
 * the steps equal to the maximum y_nf. Sums in double, steps ascending. avg_pool takes a
 * mask m (n, steps), 0 = masked step, or NULL: the mean is over the unmasked steps.
 * masking (the Masking layer): rows of f values; m[r] = any(x_r != value), out_r = x_r
 * where m[r] else 0; backward dx_r = dy_r where m[r] else 0. */
void masking_forward_f32(const float *x, ptrdiff_t rows, ptrdiff_t f, float value, unsigned char *m,
                         float *out);
void masking_backward_f32(const float *dy, const unsigned char *m, ptrdiff_t rows, ptrdiff_t f,
                          float *dx);
void masking_forward_f64(const double *x, ptrdiff_t rows, ptrdiff_t f, double value,
                         unsigned char *m, double *out);
void masking_backward_f64(const double *dy, const unsigned char *m, ptrdiff_t rows, ptrdiff_t f,
                          double *dx);
void repeat_forward_f32(const float *x_nf, ptrdiff_t n, ptrdiff_t f, ptrdiff_t reps, float *out);
void repeat_backward_f32(const float *dy, ptrdiff_t n, ptrdiff_t f, ptrdiff_t reps, float *dx_nf);
void avg_pool_forward_f32(const float *x, const unsigned char *m, ptrdiff_t n, ptrdiff_t steps,
                          ptrdiff_t feats, ptrdiff_t s_step, ptrdiff_t s_feat, float *out_nf);
void avg_pool_backward_f32(const float *dy_nf, const unsigned char *m, ptrdiff_t n, ptrdiff_t steps,
                           ptrdiff_t feats, ptrdiff_t s_step, ptrdiff_t s_feat, float *dx);
void max_pool_forward_f32(const float *x, ptrdiff_t n, ptrdiff_t steps, ptrdiff_t feats,
                          ptrdiff_t s_step, ptrdiff_t s_feat, float *out_nf);
void max_pool_backward_f32(const float *x, const float *y_nf, const float *dy_nf, ptrdiff_t n,
                           ptrdiff_t steps, ptrdiff_t feats, ptrdiff_t s_step,
                           ptrdiff_t s_feat, float *dx);
void repeat_forward_f64(const double *x_nf, ptrdiff_t n, ptrdiff_t f, ptrdiff_t reps, double *out);
void repeat_backward_f64(const double *dy, ptrdiff_t n, ptrdiff_t f, ptrdiff_t reps, double *dx_nf);
void avg_pool_forward_f64(const double *x, const unsigned char *m, ptrdiff_t n, ptrdiff_t steps,
                          ptrdiff_t feats, ptrdiff_t s_step, ptrdiff_t s_feat, double *out_nf);
void avg_pool_backward_f64(const double *dy_nf, const unsigned char *m, ptrdiff_t n,
                           ptrdiff_t steps, ptrdiff_t feats, ptrdiff_t s_step, ptrdiff_t s_feat,
                           double *dx);
void max_pool_forward_f64(const double *x, ptrdiff_t n, ptrdiff_t steps, ptrdiff_t feats,
                          ptrdiff_t s_step, ptrdiff_t s_feat, double *out_nf);
void max_pool_backward_f64(const double *x, const double *y_nf, const double *dy_nf, ptrdiff_t n,
                           ptrdiff_t steps, ptrdiff_t feats, ptrdiff_t s_step,
                           ptrdiff_t s_feat, double *dx);

/* ---- checks.c ---------------------------------------------------------------
 * Index of the first non-finite value / first value that is not an integer
 * label in [0, d), or -1. */
ptrdiff_t first_nonfinite_f32(const float *a, ptrdiff_t n);
ptrdiff_t first_nonfinite_f64(const double *a, ptrdiff_t n);
ptrdiff_t first_bad_label_f32(const float *t, ptrdiff_t n, ptrdiff_t d);
ptrdiff_t first_bad_label_f64(const double *t, ptrdiff_t n, ptrdiff_t d);
#ifdef FASTNN_DEBUG_BUILD
/* Debug builds only: a deliberate heap-buffer-overflow (index n of n floats) that the
 * sanitizer must catch. */
float debug_heap_overflow_f32(ptrdiff_t n);
#endif

/* ---- stepgemm.c -------------------------------------------------------------
 * Small float32 products without BLAS's operand packing (recurrent steps, small dense
 * layers): C (m x n) = beta * C + A (m x k) @ P (k x n), row-major, beta 0 or 1; the _tn
 * form multiplies by A^T with A stored (k x m). `level` picks the body: 2 AVX-512, 1 AVX2
 * + FMA (fastnn_step_level() of csrc/runtime/cpu.c chooses it once per process; 0, where
 * neither is compiled or present, means the caller uses BLAS instead). */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(FASTNN_NO_CLONES)
#define FASTNN_STEP_GEMM_VECTOR 1 /* the vector bodies are compiled */
#endif
void fastnn_step_gemm_f32(int level, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a,
                          ptrdiff_t lda, const float *p, ptrdiff_t ldp, int beta, float *c,
                          ptrdiff_t ldc);
void fastnn_step_gemm_tn_f32(int level, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a,
                             ptrdiff_t lda, const float *p, ptrdiff_t ldp, int beta, float *c,
                             ptrdiff_t ldc);

/* ---- recurrent.c ------------------------------------------------------------
 * Per-timestep pointwise gate kernels of SimpleRNN, LSTM and GRU: one call per
 * timestep over the n rows of that step, between the GEMMs done by the caller
 * (fastnn/backend/compiled/recurrent.pyx). H is the number of units; gate blocks sit side
 * by side in each row: LSTM [i | f | g | o] (4H), GRU [r | z | n] (3H).
 * Forward kernels add the bias themselves. Backward kernels take the gradient
 * carried back from step t+1 in dh_nh plus the output gradient of step t in
 * dy_nh, a row block with row stride ldy (a batch-first time slice; NULL when the
 * step has no output gradient). In-place arguments are documented per kernel.
 */
/* h = act(h + b) in place; h_nh holds x_t W + h_{t-1} U on entry.
 * act is FASTNN_TANH or FASTNN_RELU. */
void simple_rnn_step_forward_f32(float *h_nh, const float *b_h, ptrdiff_t n, ptrdiff_t h, int act);
void simple_rnn_step_forward_f64(double *h_nh, const double *b_h, ptrdiff_t n, ptrdiff_t h, int act);
/* da = (dh + dy) * act'(.) from the step output h_nh. */
void simple_rnn_step_backward_f32(float *da_nh, const float *h_nh, const float *dh_nh,
                                  const float *dy_nh, ptrdiff_t ldy, ptrdiff_t n, ptrdiff_t h,
                                  int act);
void simple_rnn_step_backward_f64(double *da_nh, const double *h_nh, const double *dh_nh,
                                  const double *dy_nh, ptrdiff_t ldy, ptrdiff_t n, ptrdiff_t h,
                                  int act);
/* gates_n4h: x_t W + h_{t-1} U on entry, the activations [i | f | g | o] on exit.
 * c = f*c_prev + i*g; tc = tanh(c) (kept for backward); h = o*tc. */
void lstm_step_forward_f32(float *gates_n4h, const float *b_4h, const float *c_prev_nh,
                           float *c_nh, float *tc_nh, float *h_nh, ptrdiff_t n, ptrdiff_t h);
void lstm_step_forward_f64(double *gates_n4h, const double *b_4h, const double *c_prev_nh,
                           double *c_nh, double *tc_nh, double *h_nh, ptrdiff_t n, ptrdiff_t h);
/* gates_n4h: the forward activations on entry, the pre-activation gradients
 * [di | df | dg | do] on exit. dc_nh: gradient of c_t on entry (carried from
 * t+1), of c_{t-1} on exit. dh_nh is only read (the caller's GEMM then
 * overwrites it with dG_t U^T). */
void lstm_step_backward_f32(float *gates_n4h, const float *tc_nh, const float *c_prev_nh,
                            const float *dh_nh, const float *dy_nh, ptrdiff_t ldy, float *dc_nh,
                            ptrdiff_t n, ptrdiff_t h);
void lstm_step_backward_f64(double *gates_n4h, const double *tc_nh, const double *c_prev_nh,
                            const double *dh_nh, const double *dy_nh, ptrdiff_t ldy,
                            double *dc_nh, ptrdiff_t n, ptrdiff_t h);
/* gates_n3h: x_t W (no bias) on entry, the activations [r | z | n] on exit;
 * hu_n3h = h_{t-1} U. hn = h_{t-1} U_n + b_hn (kept for backward);
 * n = tanh(x W_n + b_in + r*hn); h = (1-z)*n + z*h_prev. */
void gru_step_forward_f32(float *gates_n3h, const float *hu_n3h, const float *b_ih_3h,
                          const float *b_hh_3h, const float *h_prev_nh, float *hn_nh, float *h_nh,
                          ptrdiff_t n, ptrdiff_t h);
void gru_step_forward_f64(double *gates_n3h, const double *hu_n3h, const double *b_ih_3h,
                          const double *b_hh_3h, const double *h_prev_nh, double *hn_nh,
                          double *h_nh, ptrdiff_t n, ptrdiff_t h);
/* gates_n3h: the activations [r | z | n] on entry, the hidden-side gradients
 * [da_r | da_z | r*da_n] on exit; hn_nh: hn on entry, da_n (input-side n block)
 * on exit. dh_nh: gradient carried from t+1 on entry, its direct part dh*z of
 * dh_{t-1} on exit (the caller's GEMM adds the hidden-side gradients times U^T). */
void gru_step_backward_f32(float *gates_n3h, float *hn_nh, const float *h_prev_nh, float *dh_nh,
                           const float *dy_nh, ptrdiff_t ldy, ptrdiff_t n, ptrdiff_t h);
void gru_step_backward_f64(double *gates_n3h, double *hn_nh, const double *h_prev_nh,
                           double *dh_nh, const double *dy_nh, ptrdiff_t ldy, ptrdiff_t n,
                           ptrdiff_t h);

/* Masking: a masked step carries a row's state (Keras). m: the step's mask byte of the
 * first row, ldm the row stride of the batch-first (n, T) mask; 0 masks the row.
 * carry (forward, after the gate kernel): h = h_prev, c = c_prev (c NULL: no cell).
 * save (backward, before the gate kernel): keep = dh + dy (dy NULL: dh), keepc = dc.
 * restore (backward, after the step's product): dh = keep, dc = keepc, and the rows'
 * gradients g (k columns) and aux (GRU's da_n, or NULL) zero. */
void rnn_mask_carry_f32(const unsigned char *m, ptrdiff_t ldm, const float *h_prev_nh, float *h_nh,
                        const float *c_prev_nh, float *c_nh, ptrdiff_t n, ptrdiff_t h);
void rnn_mask_save_f32(const unsigned char *m, ptrdiff_t ldm, const float *dh_nh,
                       const float *dy_nh, ptrdiff_t ldy, const float *dc_nh, float *keep_nh,
                       float *keepc_nh, ptrdiff_t n, ptrdiff_t h);
void rnn_mask_restore_f32(const unsigned char *m, ptrdiff_t ldm, const float *keep_nh,
                          const float *keepc_nh, float *dh_nh, float *dc_nh, float *g_nk,
                          ptrdiff_t k, float *aux_nh, ptrdiff_t n, ptrdiff_t h);
void rnn_mask_carry_f64(const unsigned char *m, ptrdiff_t ldm, const double *h_prev_nh,
                        double *h_nh, const double *c_prev_nh, double *c_nh, ptrdiff_t n,
                        ptrdiff_t h);
void rnn_mask_save_f64(const unsigned char *m, ptrdiff_t ldm, const double *dh_nh,
                       const double *dy_nh, ptrdiff_t ldy, const double *dc_nh, double *keep_nh,
                       double *keepc_nh, ptrdiff_t n, ptrdiff_t h);
void rnn_mask_restore_f64(const unsigned char *m, ptrdiff_t ldm, const double *keep_nh,
                          const double *keepc_nh, double *dh_nh, double *dc_nh, double *g_nk,
                          ptrdiff_t k, double *aux_nh, ptrdiff_t n, ptrdiff_t h);

/* Recurrent dropout (Keras implementation=1), one mask per gate: (G, n, w) blocks ldm apart.
 * drop_states: hm (n, G*h) = [h * m_0 | ...]; drop_accum: dh = (add ? dh : 0) + m_q * p;
 * drop_inputs: xg[q] = x_tm * d_q; drop_inputs_back: dx_tm = sum_q d_q * xg[q]. */
void rnn_drop_states_f32(const float *h_nh, const float *m, ptrdiff_t ldm, float *hm, int g,
                         ptrdiff_t n, ptrdiff_t h);
void rnn_drop_accum_f32(float *dh_nh, const float *p_nh, const float *mq, ptrdiff_t n, ptrdiff_t h,
                        int add);
void rnn_drop_inputs_f32(const float *x_tm, const float *d, float *xg, int g, ptrdiff_t steps,
                         ptrdiff_t n, ptrdiff_t f);
void rnn_drop_inputs_back_f32(float *dx_tm, const float *d, const float *xg, int g, ptrdiff_t steps,
                              ptrdiff_t n, ptrdiff_t f);
void rnn_drop_states_f64(const double *h_nh, const double *m, ptrdiff_t ldm, double *hm, int g,
                         ptrdiff_t n, ptrdiff_t h);
void rnn_drop_accum_f64(double *dh_nh, const double *p_nh, const double *mq, ptrdiff_t n, ptrdiff_t h,
                        int add);
void rnn_drop_inputs_f64(const double *x_tm, const double *d, double *xg, int g, ptrdiff_t steps,
                         ptrdiff_t n, ptrdiff_t f);
void rnn_drop_inputs_back_f64(double *dx_tm, const double *d, const double *xg, int g, ptrdiff_t steps,
                              ptrdiff_t n, ptrdiff_t f);

#endif
