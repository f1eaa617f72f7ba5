# Declarations of the plain-C kernels in csrc/include/fastnn_kernels.h (see that header for
# the contract of each function). nogil: none of them touches Python.
from libc.stdint cimport uint64_t

cdef extern from "fastnn_kernels.h" nogil:
    enum:
        FASTNN_LINEAR, FASTNN_RELU, FASTNN_SIGMOID, FASTNN_TANH, FASTNN_SOFTMAX,
        FASTNN_LEAKY_RELU, FASTNN_ELU
    enum:
        FASTNN_LOSS_MSE, FASTNN_LOSS_MAE, FASTNN_LOSS_BCE, FASTNN_LOSS_BCE_LOGITS,
        FASTNN_LOSS_CCE, FASTNN_LOSS_CCE_LOGITS, FASTNN_LOSS_SPARSE_CCE,
        FASTNN_LOSS_SPARSE_CCE_LOGITS
    enum:
        FASTNN_MERGE_CONCAT, FASTNN_MERGE_SUM, FASTNN_MERGE_MUL, FASTNN_MERGE_AVE
    enum:
        FASTNN_METRIC_BINARY_ACCURACY, FASTNN_METRIC_CATEGORICAL_ACCURACY,
        FASTNN_METRIC_SPARSE_ACCURACY, FASTNN_METRIC_MSE, FASTNN_METRIC_MAE

    void bias_act_forward_f32(float *z_nu, const float *b_u, Py_ssize_t n, Py_ssize_t u,
                              Py_ssize_t ld, int act)
    void bias_act_forward_f64(double *z_nu, const double *b_u, Py_ssize_t n, Py_ssize_t u,
                              Py_ssize_t ld, int act)
    void act_backward_f32(float *dz_nu, const float *y_nu, Py_ssize_t n, Py_ssize_t u,
                          Py_ssize_t ld, int act)
    void act_backward_f64(double *dz_nu, const double *y_nu, Py_ssize_t n, Py_ssize_t u,
                          Py_ssize_t ld, int act)
    void bias_grad_f32(float *db_u, const float *dz_nu, Py_ssize_t n, Py_ssize_t u,
                       Py_ssize_t ld)
    void bias_grad_f64(double *db_u, const double *dz_nu, Py_ssize_t n, Py_ssize_t u,
                       Py_ssize_t ld)

    double loss_f32(int kind, const float *y_nd, const float *t_nd, const float *w_n,
                    float *g_nd, float *p_nd, Py_ssize_t n, Py_ssize_t d)
    double loss_f64(int kind, const double *y_nd, const double *t_nd, const double *w_n,
                    double *g_nd, double *p_nd, Py_ssize_t n, Py_ssize_t d)
    double loss_mask_weights_f32(const unsigned char *m, const float *sw, float *wl, float *wm,
                                 Py_ssize_t rows)
    double loss_mask_weights_f64(const unsigned char *m, const double *sw, double *wl,
                                 double *wm, Py_ssize_t rows)
    double metric_f32(int kind, const float *y_nd, const float *t_nd, const float *w_n,
                      Py_ssize_t n, Py_ssize_t d, Py_ssize_t t_d)
    double metric_f64(int kind, const double *y_nd, const double *t_nd, const double *w_n,
                      Py_ssize_t n, Py_ssize_t d, Py_ssize_t t_d)

    double sumsq_f32(const float *g, Py_ssize_t n)
    double sumsq_f64(const double *g, Py_ssize_t n)
    void clip_values_f32(float *g, Py_ssize_t n, float limit)
    void clip_values_f64(double *g, Py_ssize_t n, double limit)
    void sgd_update_f32(float *w, const float *g, float *m, Py_ssize_t n, float lr, float mu,
                        int nesterov, float gscale, float wd_lr)
    void sgd_update_f64(double *w, const double *g, double *m, Py_ssize_t n, double lr,
                        double mu, int nesterov, double gscale, double wd_lr)
    void adagrad_update_f32(float *w, const float *g, float *a, Py_ssize_t n, float lr,
                            float eps, float gscale, float wd_lr)
    void adagrad_update_f64(double *w, const double *g, double *a, Py_ssize_t n, double lr,
                            double eps, double gscale, double wd_lr)
    void rmsprop_update_f32(float *w, const float *g, float *v, float *m, Py_ssize_t n,
                            float lr, float rho, float mu, float eps, float gscale, float wd_lr)
    void rmsprop_update_f64(double *w, const double *g, double *v, double *m, Py_ssize_t n,
                            double lr, double rho, double mu, double eps, double gscale,
                            double wd_lr)
    void adam_update_f32(float *w, const float *g, float *m, float *v, Py_ssize_t n,
                         float alpha, float b1, float b2, float eps, float gscale, float wd_lr)
    void adam_update_f64(double *w, const double *g, double *m, double *v, Py_ssize_t n,
                         double alpha, double b1, double b2, double eps, double gscale,
                         double wd_lr)

    void dropout_mask_f32(float *mask, Py_ssize_t n, float rate, uint64_t seed, uint64_t counter)
    void dropout_mask_f64(double *mask, Py_ssize_t n, double rate, uint64_t seed,
                          uint64_t counter)
    void mul_inplace_f32(float *y, const float *mask, Py_ssize_t n)
    void mul_inplace_f64(double *y, const double *mask, Py_ssize_t n)
    void mul_steps_inplace_f32(float *y, const float *mask_nf, Py_ssize_t n, Py_ssize_t steps,
                               Py_ssize_t f)
    void mul_steps_inplace_f64(double *y, const double *mask_nf, Py_ssize_t n,
                               Py_ssize_t steps, Py_ssize_t f)

    # bidirectional.c: the merge of a Bidirectional layer's two directions
    void bidir_merge_forward_f32(int mode, const float *yf, const float *yb, Py_ssize_t n,
                                 Py_ssize_t steps, Py_ssize_t h, int flip, float *out)
    void bidir_merge_forward_f64(int mode, const double *yf, const double *yb, Py_ssize_t n,
                                 Py_ssize_t steps, Py_ssize_t h, int flip, double *out)
    void bidir_merge_backward_f32(int mode, const float *dy, const float *yf, const float *yb,
                                  Py_ssize_t n, Py_ssize_t steps, Py_ssize_t h, int flip,
                                  float *dyf, float *dyb)
    void bidir_merge_backward_f64(int mode, const double *dy, const double *yf,
                                  const double *yb, Py_ssize_t n, Py_ssize_t steps, Py_ssize_t h,
                                  int flip, double *dyf, double *dyb)
    void bidir_add_f32(float *acc, const float *a, Py_ssize_t n)
    void bidir_add_f64(double *acc, const double *a, Py_ssize_t n)

    Py_ssize_t embedding_first_bad_index_f32(const float *idx, Py_ssize_t n, Py_ssize_t v)
    Py_ssize_t embedding_first_bad_index_f64(const double *idx, Py_ssize_t n, Py_ssize_t v)
    void embedding_forward_f32(const float *idx, Py_ssize_t n, const float *table_vd,
                               Py_ssize_t d, float *out_nd)
    void embedding_forward_f64(const double *idx, Py_ssize_t n, const double *table_vd,
                               Py_ssize_t d, double *out_nd)
    void embedding_backward_f32(const float *idx, Py_ssize_t n, const float *dy_nd,
                                Py_ssize_t d, float *dtable_vd)
    void embedding_backward_f64(const double *idx, Py_ssize_t n, const double *dy_nd,
                                Py_ssize_t d, double *dtable_vd)
    void embedding_mask_f32(const float *idx, Py_ssize_t n, unsigned char *m)
    void embedding_mask_f64(const double *idx, Py_ssize_t n, unsigned char *m)

    # sequence.c: RepeatVector, global average / max pooling over steps
    void repeat_forward_f32(const float *x_nf, Py_ssize_t n, Py_ssize_t f, Py_ssize_t reps,
                            float *out)
    void repeat_backward_f32(const float *dy, Py_ssize_t n, Py_ssize_t f, Py_ssize_t reps,
                             float *dx_nf)
    void masking_forward_f32(const float *x, Py_ssize_t rows, Py_ssize_t f, float value,
                             unsigned char *m, float *out)
    void masking_backward_f32(const float *dy, const unsigned char *m, Py_ssize_t rows,
                              Py_ssize_t f, float *dx)
    void masking_forward_f64(const double *x, Py_ssize_t rows, Py_ssize_t f, double value,
                             unsigned char *m, double *out)
    void masking_backward_f64(const double *dy, const unsigned char *m, Py_ssize_t rows,
                              Py_ssize_t f, double *dx)
    void avg_pool_forward_f32(const float *x, const unsigned char *m, Py_ssize_t n,
                              Py_ssize_t steps, Py_ssize_t feats, Py_ssize_t s_step,
                              Py_ssize_t s_feat, float *out_nf)
    void avg_pool_backward_f32(const float *dy_nf, const unsigned char *m, Py_ssize_t n,
                               Py_ssize_t steps, Py_ssize_t feats, Py_ssize_t s_step,
                               Py_ssize_t s_feat, float *dx)
    void max_pool_forward_f32(const float *x, Py_ssize_t n, Py_ssize_t steps, Py_ssize_t feats,
                              Py_ssize_t s_step, Py_ssize_t s_feat, float *out_nf)
    void max_pool_backward_f32(const float *x, const float *y_nf, const float *dy_nf, Py_ssize_t n,
                               Py_ssize_t steps, Py_ssize_t feats, Py_ssize_t s_step,
                               Py_ssize_t s_feat, float *dx)
    void repeat_forward_f64(const double *x_nf, Py_ssize_t n, Py_ssize_t f, Py_ssize_t reps,
                            double *out)
    void repeat_backward_f64(const double *dy, Py_ssize_t n, Py_ssize_t f, Py_ssize_t reps,
                             double *dx_nf)
    void avg_pool_forward_f64(const double *x, const unsigned char *m, Py_ssize_t n,
                              Py_ssize_t steps, Py_ssize_t feats, Py_ssize_t s_step,
                              Py_ssize_t s_feat, double *out_nf)
    void avg_pool_backward_f64(const double *dy_nf, const unsigned char *m, Py_ssize_t n,
                               Py_ssize_t steps, Py_ssize_t feats, Py_ssize_t s_step,
                               Py_ssize_t s_feat, double *dx)
    void max_pool_forward_f64(const double *x, Py_ssize_t n, Py_ssize_t steps, Py_ssize_t feats,
                              Py_ssize_t s_step, Py_ssize_t s_feat, double *out_nf)
    void max_pool_backward_f64(const double *x, const double *y_nf, const double *dy_nf,
                               Py_ssize_t n, Py_ssize_t steps, Py_ssize_t feats, Py_ssize_t s_step,
                               Py_ssize_t s_feat, double *dx)

    Py_ssize_t first_nonfinite_f32(const float *a, Py_ssize_t n)
    Py_ssize_t first_nonfinite_f64(const double *a, Py_ssize_t n)
    Py_ssize_t first_bad_label_f32(const float *t, Py_ssize_t n, Py_ssize_t d)
    Py_ssize_t first_bad_label_f64(const double *t, Py_ssize_t n, Py_ssize_t d)

    # recurrent.c: per-timestep gate kernels (SimpleRNN, LSTM, GRU)
    void simple_rnn_step_forward_f32(float *h_nh, const float *b_h, Py_ssize_t n, Py_ssize_t h,
                                     int act)
    void simple_rnn_step_forward_f64(double *h_nh, const double *b_h, Py_ssize_t n,
                                     Py_ssize_t h, int act)
    void simple_rnn_step_backward_f32(float *da_nh, const float *h_nh, const float *dh_nh,
                                      const float *dy_nh, Py_ssize_t ldy, Py_ssize_t n,
                                      Py_ssize_t h, int act)
    void simple_rnn_step_backward_f64(double *da_nh, const double *h_nh, const double *dh_nh,
                                      const double *dy_nh, Py_ssize_t ldy, Py_ssize_t n,
                                      Py_ssize_t h, int act)
    void lstm_step_forward_f32(float *gates_n4h, const float *b_4h, const float *c_prev_nh,
                               float *c_nh, float *tc_nh, float *h_nh, Py_ssize_t n, Py_ssize_t h)
    void lstm_step_forward_f64(double *gates_n4h, const double *b_4h, const double *c_prev_nh,
                               double *c_nh, double *tc_nh, double *h_nh, Py_ssize_t n,
                               Py_ssize_t h)
    void lstm_step_backward_f32(float *gates_n4h, const float *tc_nh, const float *c_prev_nh,
                                const float *dh_nh, const float *dy_nh, Py_ssize_t ldy,
                                float *dc_nh, Py_ssize_t n, Py_ssize_t h)
    void lstm_step_backward_f64(double *gates_n4h, const double *tc_nh, const double *c_prev_nh,
                                const double *dh_nh, const double *dy_nh, Py_ssize_t ldy,
                                double *dc_nh, Py_ssize_t n, Py_ssize_t h)
    void gru_step_forward_f32(float *gates_n3h, const float *hu_n3h, const float *b_ih_3h,
                              const float *b_hh_3h, const float *h_prev_nh, float *hn_nh,
                              float *h_nh, Py_ssize_t n, Py_ssize_t h)
    void gru_step_forward_f64(double *gates_n3h, const double *hu_n3h, const double *b_ih_3h,
                              const double *b_hh_3h, const double *h_prev_nh, double *hn_nh,
                              double *h_nh, Py_ssize_t n, Py_ssize_t h)
    void gru_step_backward_f32(float *gates_n3h, float *hn_nh, const float *h_prev_nh,
                               float *dh_nh, const float *dy_nh, Py_ssize_t ldy, Py_ssize_t n,
                               Py_ssize_t h)
    void gru_step_backward_f64(double *gates_n3h, double *hn_nh, const double *h_prev_nh,
                               double *dh_nh, const double *dy_nh, Py_ssize_t ldy, Py_ssize_t n,
                               Py_ssize_t h)
    # recurrent.c: recurrent dropout (one mask per gate)
    void rnn_drop_states_f32(const float *h_nh, const float *m, Py_ssize_t ldm, float *hm, int g,
                             Py_ssize_t n, Py_ssize_t h)
    void rnn_drop_accum_f32(float *dh_nh, const float *p_nh, const float *mq, Py_ssize_t n,
                            Py_ssize_t h, int add)
    void rnn_drop_inputs_f32(const float *x_tm, const float *d, float *xg, int g, Py_ssize_t steps,
                             Py_ssize_t n, Py_ssize_t f)
    void rnn_drop_inputs_back_f32(float *dx_tm, const float *d, const float *xg, int g,
                                  Py_ssize_t steps, Py_ssize_t n, Py_ssize_t f)
    void rnn_drop_states_f64(const double *h_nh, const double *m, Py_ssize_t ldm, double *hm, int g,
                             Py_ssize_t n, Py_ssize_t h)
    void rnn_drop_accum_f64(double *dh_nh, const double *p_nh, const double *mq, Py_ssize_t n,
                            Py_ssize_t h, int add)
    void rnn_drop_inputs_f64(const double *x_tm, const double *d, double *xg, int g,
                             Py_ssize_t steps, Py_ssize_t n, Py_ssize_t f)
    void rnn_drop_inputs_back_f64(double *dx_tm, const double *d, const double *xg, int g,
                                  Py_ssize_t steps, Py_ssize_t n, Py_ssize_t f)
    # recurrent.c: masking (a masked step carries the state)
    void rnn_mask_carry_f32(const unsigned char *m, Py_ssize_t ldm, const float *h_prev_nh,
                            float *h_nh, const float *c_prev_nh, float *c_nh, Py_ssize_t n,
                            Py_ssize_t h)
    void rnn_mask_save_f32(const unsigned char *m, Py_ssize_t ldm, const float *dh_nh,
                           const float *dy_nh, Py_ssize_t ldy, const float *dc_nh, float *keep_nh,
                           float *keepc_nh, Py_ssize_t n, Py_ssize_t h)
    void rnn_mask_restore_f32(const unsigned char *m, Py_ssize_t ldm, const float *keep_nh,
                              const float *keepc_nh, float *dh_nh, float *dc_nh, float *g_nk,
                              Py_ssize_t k, float *aux_nh, Py_ssize_t n, Py_ssize_t h)
    void rnn_mask_carry_f64(const unsigned char *m, Py_ssize_t ldm, const double *h_prev_nh,
                            double *h_nh, const double *c_prev_nh, double *c_nh, Py_ssize_t n,
                            Py_ssize_t h)
    void rnn_mask_save_f64(const unsigned char *m, Py_ssize_t ldm, const double *dh_nh,
                           const double *dy_nh, Py_ssize_t ldy, const double *dc_nh,
                           double *keep_nh, double *keepc_nh, Py_ssize_t n, Py_ssize_t h)
    void rnn_mask_restore_f64(const unsigned char *m, Py_ssize_t ldm, const double *keep_nh,
                              const double *keepc_nh, double *dh_nh, double *dc_nh, double *g_nk,
                              Py_ssize_t k, double *aux_nh, Py_ssize_t n, Py_ssize_t h)
