"""Recurrent layers: SimpleRNN, LSTM and GRU, forward and backward through time (BPTT).
Twin: fastnn/backend/reference/recurrent.py (its docstring states the formulas, gate orders and
conventions; both modules share them). Gate kernels: csrc/kernels/recurrent_impl.inc.

Functions (x (n, T, F) batch-first, W (F, kH), U (H, kH); one call each, a fresh op
per forward, returned as the cache and consumed by its backward):
  simple_rnn_forward(x, W, U, b, h0=None, activation="tanh", go_backwards=False)
      -> (hs (n, T, H), cache)
  simple_rnn_backward(cache, dhs, dh_last=None) -> (dx, dW, dU, db, dh0)
  lstm_forward(x, W, U, b, h0=None, c0=None, go_backwards=False)
      -> (hs (n, T, H), c_last (n, H), cache)
  lstm_backward(cache, dhs, dh_last=None, dc_last=None) -> (dx, dW, dU, db, dh0, dc0)
  gru_forward(x, W, U, b_ih, b_hh, h0=None, go_backwards=False) -> (hs (n, T, H), cache)
  gru_backward(cache, dhs, dh_last=None) -> (dx, dW, dU, db_ih, db_hh, dh0)
dhs: gradient of the whole sequence output (n, T, H) or None; dh_last (dc_last):
gradient of the final state (n, H) or None. Ops: SimpleRNNOp, LSTMOp, GRUOp.

One module for the three layers: they share the time-major copies, the GEMM
skeleton (input projection of all timesteps before the loop, h_{t-1} @ U inside,
dW / dU / dx after the backward loop), the workspace and state handling of their
ops and the function-level API; only the gate kernels and the gate count differ.

The plan (docs/architecture.md, "How a training step runs"): x is copied once to
time-major (T, n, F), so one GEMM projects all timesteps and the per-step slices are
contiguous; inside the time loop only h_{t-1} @ U plus one fused C gate kernel per step. Backward
runs only the gate backward and dG_t @ U.T per step; the gate activations are
overwritten by their gradients, which leaves dG (T*n, kH) contiguous for one GEMM
each of dW = x_tm.T @ dG, dU = h_prev.T @ dG and dx_tm = dG @ W.T after the loop.
Time loops run under nogil; workspaces belong to the op, sized once per row count.
An op's workspaces belong to one call at a time: ops are not thread-safe (the
model serialises calls). A large time loop runs as parts of the batch on two
threads (see "the time loops" below and _parallel.configure); the parts write
disjoint rows, so results do not depend on it.
"""
import numpy as np
cimport numpy as cnp
from cython cimport floating
from libc.string cimport memcpy, memset
from fastnn.backend.compiled._blas cimport gemm, gemm_one_thread, product_range, step_gemm
from fastnn.backend.compiled._parallel cimport (
    Product, run_parts, loop_kernel, loop_split, loop_parts, op_product_plan,
    step_kernel_enabled, step_level)
from fastnn.backend.compiled._op cimport Op
from fastnn.backend.compiled._csrc cimport (
    simple_rnn_step_forward_f32, simple_rnn_step_forward_f64,
    simple_rnn_step_backward_f32, simple_rnn_step_backward_f64,
    lstm_step_forward_f32, lstm_step_forward_f64, lstm_step_backward_f32, lstm_step_backward_f64,
    gru_step_forward_f32, gru_step_forward_f64, gru_step_backward_f32, gru_step_backward_f64,
    bias_grad_f32, bias_grad_f64, rnn_mask_carry_f32, rnn_mask_carry_f64, rnn_mask_save_f32,
    rnn_mask_save_f64, rnn_mask_restore_f32, rnn_mask_restore_f64, rnn_drop_states_f32,
    rnn_drop_states_f64, rnn_drop_accum_f32, rnn_drop_accum_f64, rnn_drop_inputs_f32,
    rnn_drop_inputs_f64, rnn_drop_inputs_back_f32, rnn_drop_inputs_back_f64, dropout_mask_f32,
    dropout_mask_f64)
from fastnn.backend.compiled.activations import ACTIVATIONS
# checks and the op's Python-level bookkeeping are shared with the twin, so both raise the
# same errors and hold their state the same way
from fastnn.backend.contract import recurrent as _c
# re-exported: the twin has the same names
from fastnn.backend.contract.recurrent import RNN_ACTIVATIONS, check_sequence  # no-cython-lint
from fastnn.backend.contract.recurrent import check_activation, check_state  # no-cython-lint
from fastnn.backend.contract.recurrent import check_timesteps, check_weights  # no-cython-lint
from fastnn.backend.contract.recurrent import check_grads

cnp.import_array()

cdef enum:
    SIMPLE_RNN = 0
    LSTM = 1
    GRU = 2

cdef enum:
    SOLO = -1  # a call on one thread (see _solo)


# ---- time-major copies -----------------------------------------------------------------

cdef inline void _to_time_major(const floating *x, floating *x_tm, Py_ssize_t n, Py_ssize_t T,
                                Py_ssize_t F, bint reverse) noexcept nogil:
    # x (n, T, F) batch-first -> x_tm (T, n, F); time reversed when go_backwards
    cdef Py_ssize_t t, i, s
    for t in range(T):
        s = T - 1 - t if reverse else t
        for i in range(n):
            memcpy(x_tm + (t * n + i) * F, x + (i * T + s) * F, F * sizeof(floating))


cdef inline void _from_time_major(const floating *a_tm, floating *a, Py_ssize_t n, Py_ssize_t T,
                                  Py_ssize_t F, bint reverse) noexcept nogil:
    # a_tm (T, n, F) -> a (n, T, F) batch-first; time reversed when go_backwards
    cdef Py_ssize_t t, i, s
    for t in range(T):
        s = T - 1 - t if reverse else t
        for i in range(n):
            memcpy(a + (i * T + s) * F, a_tm + (t * n + i) * F, F * sizeof(floating))


cdef inline void _bias_grad(floating *db, const floating *g, Py_ssize_t rows,
                            Py_ssize_t cols) noexcept nogil:
    # column sums over all T*n rows, accumulated in double (bias_grad in activations)
    if floating is float:
        bias_grad_f32(db, g, rows, cols, cols)
    else:
        bias_grad_f64(db, g, rows, cols, cols)


# ---- the time loops, over a block of batch rows -------------------------------------------
#
# Inside a time loop rows never interact: step t of sample i reads only sample i's state.
# So a loop runs over rows [lo, hi), and a large enough one is cut into parts run on two
# threads, each part claimed by whichever thread is free, joined once (csrc/runtime/threads.c;
# four parts rather than two halves: on a machine that takes a core away now and then,
# the thread still running takes over more of the work). The other
# way to use two cores, letting BLAS split each per-step product, makes its two threads
# meet 2T times per step; that is what made small products collapse on a busy machine
# (see _blas.pyx), so those stay on one thread. See _plan for when a loop splits.

# The per-step products go through csrc/kernels/stepgemm.c (float32, AVX2 or AVX-512 CPUs): it
# reads U (backward: U^T, transposed once per call) in place instead of packing it at
# every step as BLAS does. Elsewhere, for float64 and, on AVX2, for a big U, BLAS
# (_parallel.loop_kernel decides).


cdef inline void _step_product_ld(int kernel, int m, int n, int k, const floating *a, int lda,
                                  const floating *p, int ldp, const floating *u_nt, int ldu,
                                  bint beta, floating *c, int ldc) noexcept nogil:
    # c (m, n) = beta * c + a (m, k) @ p (k, n), row-major with leading dimensions, through
    # the step kernel when `kernel` is 1 (float32 only), else BLAS (kept on this thread
    # when kernel is SOLO). p is NULL when only u_nt = p.T (n, k) is at hand: BLAS then
    # multiplies by the transpose.
    if floating is float:
        if kernel == 1 and p != NULL:
            step_gemm(False, m, n, k, a, lda, p, ldp, beta, c, ldc)
            return
    if kernel == SOLO:
        if p != NULL:
            gemm_one_thread(False, False, m, n, k, <floating>1, a, lda, p, ldp, <floating>beta, c,
                            ldc)
        else:
            gemm_one_thread(False, True, m, n, k, <floating>1, a, lda, u_nt, ldu, <floating>beta,
                            c, ldc)
        return
    if p != NULL:
        gemm(False, False, m, n, k, <floating>1, a, lda, p, ldp, <floating>beta, c, ldc)
    else:
        gemm(False, True, m, n, k, <floating>1, a, lda, u_nt, ldu, <floating>beta, c, ldc)


cdef inline void _step_product(int kernel, int m, int n, int k, const floating *a,
                               const floating *p, const floating *u_nt, bint beta,
                               floating *c) noexcept nogil:
    # _step_product_ld with every operand dense
    _step_product_ld(kernel, m, n, k, a, k, p, n, u_nt, k, beta, c, n)


def step_product(const float[:, ::1] a, const float[:, ::1] p, float[:, ::1] c, bint beta):
    """c = beta * c + a @ p in place with the per-step product of the time loops (the
    packing-free kernel unless _parallel.configure(step_kernel=False) or the CPU has
    none, else BLAS), float32; for tests."""
    if a.shape[1] != p.shape[0] or c.shape[0] != a.shape[0] or c.shape[1] != p.shape[1]:
        raise ValueError(f"step_product expected a (m, k), p (k, n), c (m, n). Received: "
                         f"a {(a.shape[0], a.shape[1])}, p {(p.shape[0], p.shape[1])}, "
                         f"c {(c.shape[0], c.shape[1])}")
    cdef float one = 0
    cdef const float *pa = &a[0, 0] if a.shape[0] and a.shape[1] else &one
    cdef const float *pp = &p[0, 0] if p.shape[0] and p.shape[1] else &one
    cdef float *pc = &c[0, 0] if c.shape[0] and c.shape[1] else &one
    with nogil:
        _step_product(step_kernel_enabled(), <int>c.shape[0], <int>c.shape[1],
                      <int>a.shape[1], pa, pp, <float *>NULL, beta, pc)
    return np.asarray(c)


cdef struct Loop:
    # one time loop of one op call; the pointers are float * or double * (f64)
    int kind, act, T, H, kh, f64, backward
    int kernel            # per-step products through csrc/kernels/stepgemm.c (see _plan)
    int split             # the loop runs as parts of the batch on two threads (see _plan)
    Py_ssize_t n
    const void *u
    const void *ut        # backward: U^T (kH, H) for the step kernel, else NULL
    const void *b         # SimpleRNN / LSTM bias, GRU b_ih (kH,)
    const void *b2        # GRU b_hh (3H,)
    void *hs              # (T+1, n, H): hs[0] the initial state, hs[t+1] = h_t
    void *cs              # LSTM: (T+1, n, H) cell states
    void *gates           # LSTM / GRU: (T, n, kH) gate activations, then their gradients
    void *aux             # SimpleRNN: da (T, n, H); LSTM: tanh(c_t); GRU: hn_t, then da_n
    void *hu              # GRU: (n, 3H) h_{t-1} @ U of the current step
    const void *dy        # backward: batch-first (n, T, H) output gradient, or NULL
    void *dh              # backward: (n, H) gradient of the state, in and out
    void *dc              # backward, LSTM: (n, H) gradient of the cell state, in and out
    const unsigned char *mask  # batch-first (n, T) input mask (0: masked step), or NULL
    int reverse           # go_backwards: processing step t reads mask column T-1-t
    int zero_out          # zero_output_for_mask: a masked step's output gradient is dropped
    void *keep            # backward with a mask: (n, H) what masked rows pass straight back
    void *keepc           # the same for the LSTM cell state
    int gd                # recurrent dropout: G masks of the state (one per gate), 0: none
    const void *rmask     # (G, n, H) those masks, scaled by 1 / (1 - rate)
    void *hm              # (T, n, G*H) the masked states: hm[t] = [hs[t] * m_q, ...]
    void *tmp             # backward: (n, H) one gate's dG_q @ U_q^T


# ---- masked steps (Keras: a masked step carries the state; csrc rnn_mask_*) -----------------
# The gate kernels run on every row, branch-free; these fix up the masked rows after them.

cdef inline const unsigned char *_mask_at(const Loop *L, Py_ssize_t lo, int t) noexcept nogil:
    return L.mask + lo * L.T + (L.T - 1 - t if L.reverse else t)


cdef inline void _mask_carry(const Loop *L, Py_ssize_t lo, int r, int t, const floating *hp,
                             floating *h, const floating *cp, floating *c) noexcept nogil:
    # 3c. masked rows: h_t = h_{t-1} (LSTM: c_t = c_{t-1})
    if floating is float:
        rnn_mask_carry_f32(_mask_at(L, lo, t), L.T, hp, h, cp, c, r, L.H)
    else:
        rnn_mask_carry_f64(_mask_at(L, lo, t), L.T, hp, h, cp, c, r, L.H)


cdef inline void _mask_save(const Loop *L, Py_ssize_t lo, int r, int t, const floating *dh,
                            const floating *dy, const floating *dc) noexcept nogil:
    # 5m. masked rows keep dh + dy_t (zero_output_for_mask: dh) and dc for step t-1
    cdef floating *keep = <floating *>L.keep + lo * L.H
    cdef floating *keepc = <floating *>L.keepc + lo * L.H if L.keepc != NULL else NULL
    if L.zero_out:
        dy = NULL
    if floating is float:
        rnn_mask_save_f32(_mask_at(L, lo, t), L.T, dh, dy, L.T * L.H, dc, keep, keepc, r, L.H)
    else:
        rnn_mask_save_f64(_mask_at(L, lo, t), L.T, dh, dy, L.T * L.H, dc, keep, keepc, r, L.H)


cdef inline void _mask_restore(const Loop *L, Py_ssize_t lo, int r, int t, floating *dh,
                               floating *dc, floating *g, int k, floating *aux) noexcept nogil:
    # 5c. masked rows: dh, dc = what 5m kept; their gate gradients (GRU: and da_n) zero
    cdef const floating *keep = <const floating *>L.keep + lo * L.H
    cdef const floating *keepc = <const floating *>L.keepc + lo * L.H if L.keepc != NULL else NULL
    if floating is float:
        rnn_mask_restore_f32(_mask_at(L, lo, t), L.T, keep, keepc, dh, dc, g, k, aux, r, L.H)
    else:
        rnn_mask_restore_f64(_mask_at(L, lo, t), L.T, keep, keepc, dh, dc, g, k, aux, r, L.H)


# ---- recurrent dropout (Keras implementation=1; csrc rnn_drop_*) -------------------------
# Each gate reads the state through its own mask, the same at every step: the step's product
# h_{t-1} @ U becomes G products of width H, (h_{t-1} * m_q) @ U_q, and backward
# dh_{t-1} = sum over q of m_q * (dG_q @ U_q^T).

cdef inline void _drop_forward(const Loop *L, Py_ssize_t lo, int r, int t, const floating *h,
                               floating *c, int ldc, bint beta) noexcept nogil:
    # 3a'. c[:, qH:(q+1)H] (+)= (h * m_q) @ U_q per gate; hm[t] keeps h * m_q for dU
    cdef int G = L.gd, H = L.H, q
    cdef floating *hm = <floating *>L.hm + (<Py_ssize_t>t * L.n + lo) * G * H
    cdef const floating *m = <const floating *>L.rmask + lo * H
    cdef const floating *u = <const floating *>L.u
    if floating is float:
        rnn_drop_states_f32(h, m, L.n * H, hm, G, r, H)
    else:
        rnn_drop_states_f64(h, m, L.n * H, hm, G, r, H)
    for q in range(G):
        _step_product_ld(L.kernel, r, H, H, hm + q * H, G * H, u + q * H, L.kh, NULL, 0, beta,
                         c + q * H, ldc)


cdef inline void _drop_backward(const Loop *L, Py_ssize_t lo, int r, const floating *g, int ldg,
                                floating *dh, bint add) noexcept nogil:
    # 5b'. dh (+)= sum over q of m_q * (dG_q @ U_q^T), g this step's dG (r rows, ldg apart)
    cdef int G = L.gd, H = L.H, q
    cdef const floating *m = <const floating *>L.rmask + lo * H
    cdef floating *tmp = <floating *>L.tmp + lo * H
    cdef const floating *u = <const floating *>L.u
    cdef const floating *ut = <const floating *>L.ut
    for q in range(G):
        # U_q^T: rows qH.. of U^T (the kernel's), or columns qH.. of U for BLAS
        _step_product_ld(L.kernel, r, H, H, g + q * H, ldg,
                         ut + q * H * H if ut != NULL else NULL, H, u + q * H, L.kh, False,
                         tmp, H)
        if floating is float:
            rnn_drop_accum_f32(dh, tmp, m + q * L.n * H, r, H, add or q > 0)
        else:
            rnn_drop_accum_f64(dh, tmp, m + q * L.n * H, r, H, add or q > 0)


cdef void _simple_rnn_rows(const Loop *L, floating *kind_of, Py_ssize_t lo,
                           Py_ssize_t hi) noexcept nogil:
    cdef int T = L.T, H = L.H, r = <int>(hi - lo), t
    cdef Py_ssize_t nh = L.n * H
    cdef const floating *u = <const floating *>L.u
    cdef const floating *ut = <const floating *>L.ut
    cdef floating *hs = <floating *>L.hs + lo * H      # row lo of every step block
    cdef floating *da = <floating *>L.aux + lo * H
    cdef floating *dh = <floating *>L.dh + lo * H if L.backward else NULL
    cdef const floating *dy = <const floating *>L.dy + lo * T * H if L.dy != NULL else NULL
    if not L.backward:
        for t in range(T):
            # 3a. hs[t+1] (= x_t @ W) += hs[t] @ U (recurrent dropout: (hs[t] * m) @ U)
            if L.gd:
                _drop_forward(L, lo, r, t, hs + t * nh, hs + (t + 1) * nh, H, True)
            else:
                _step_product(L.kernel, r, H, H, hs + t * nh, u, NULL, True, hs + (t + 1) * nh)
            # 3b. hs[t+1] = act(hs[t+1] + b), fused
            if floating is float:
                simple_rnn_step_forward_f32(hs + (t + 1) * nh, <const float *>L.b, r, H, L.act)
            else:
                simple_rnn_step_forward_f64(hs + (t + 1) * nh, <const double *>L.b, r, H, L.act)
            if L.mask != NULL:
                _mask_carry(L, lo, r, t, hs + t * nh, hs + (t + 1) * nh, <floating *>NULL,
                            <floating *>NULL)
        return
    for t in range(T - 1, -1, -1):
        if L.mask != NULL:
            _mask_save(L, lo, r, t, dh, dy + t * H if dy != NULL else NULL, <floating *>NULL)
        # 5a. da_t = (dh + dy_t) * act'(h_t)
        if floating is float:
            simple_rnn_step_backward_f32(da + t * nh, hs + (t + 1) * nh, dh,
                                         dy + t * H if dy != NULL else NULL, T * H, r, H, L.act)
        else:
            simple_rnn_step_backward_f64(da + t * nh, hs + (t + 1) * nh, dh,
                                         dy + t * H if dy != NULL else NULL, T * H, r, H, L.act)
        # 5b. dh = da_t @ U.T (the gradient of h_{t-1}; recurrent dropout: times m)
        if L.gd:
            _drop_backward(L, lo, r, da + t * nh, H, dh, False)
        else:
            _step_product(L.kernel, r, H, H, da + t * nh, ut, u, False, dh)
        if L.mask != NULL:
            _mask_restore(L, lo, r, t, dh, <floating *>NULL, da + t * nh, H, <floating *>NULL)


cdef void _lstm_rows(const Loop *L, floating *kind_of, Py_ssize_t lo,
                     Py_ssize_t hi) noexcept nogil:
    cdef int T = L.T, H = L.H, kh = L.kh, r = <int>(hi - lo), t
    cdef Py_ssize_t nh = L.n * H, ng = L.n * kh
    cdef const floating *u = <const floating *>L.u
    cdef const floating *ut = <const floating *>L.ut
    cdef floating *hs = <floating *>L.hs + lo * H
    cdef floating *cs = <floating *>L.cs + lo * H
    cdef floating *g = <floating *>L.gates + lo * kh
    cdef floating *tc = <floating *>L.aux + lo * H
    cdef floating *dh = <floating *>L.dh + lo * H if L.backward else NULL
    cdef floating *dc = <floating *>L.dc + lo * H if L.backward else NULL
    cdef const floating *dy = <const floating *>L.dy + lo * T * H if L.dy != NULL else NULL
    if not L.backward:
        for t in range(T):
            # 3a. gates_t (= x_t @ W) += hs[t] @ U (recurrent dropout: per gate, 3a')
            if L.gd:
                _drop_forward(L, lo, r, t, hs + t * nh, g + t * ng, kh, True)
            else:
                _step_product(L.kernel, r, kh, H, hs + t * nh, u, NULL, True, g + t * ng)
            # 3b. fused gates: activations, c_t, tanh(c_t), h_t
            if floating is float:
                lstm_step_forward_f32(g + t * ng, <const float *>L.b, cs + t * nh,
                                      cs + (t + 1) * nh, tc + t * nh, hs + (t + 1) * nh, r, H)
            else:
                lstm_step_forward_f64(g + t * ng, <const double *>L.b, cs + t * nh,
                                      cs + (t + 1) * nh, tc + t * nh, hs + (t + 1) * nh, r, H)
            if L.mask != NULL:
                _mask_carry(L, lo, r, t, hs + t * nh, hs + (t + 1) * nh, cs + t * nh,
                            cs + (t + 1) * nh)
        return
    for t in range(T - 1, -1, -1):
        if L.mask != NULL:
            _mask_save(L, lo, r, t, dh, dy + t * H if dy != NULL else NULL, dc)
        # 5a. gate backward: gates_t <- dG_t, dc <- gradient of c_{t-1}
        if floating is float:
            lstm_step_backward_f32(g + t * ng, tc + t * nh, cs + t * nh, dh,
                                   dy + t * H if dy != NULL else NULL, T * H, dc, r, H)
        else:
            lstm_step_backward_f64(g + t * ng, tc + t * nh, cs + t * nh, dh,
                                   dy + t * H if dy != NULL else NULL, T * H, dc, r, H)
        # 5b. dh = dG_t @ U.T (the gradient of h_{t-1}; recurrent dropout: per gate, 5b')
        if L.gd:
            _drop_backward(L, lo, r, g + t * ng, kh, dh, False)
        else:
            _step_product(L.kernel, r, H, kh, g + t * ng, ut, u, False, dh)
        if L.mask != NULL:
            _mask_restore(L, lo, r, t, dh, dc, g + t * ng, kh, <floating *>NULL)


cdef void _gru_rows(const Loop *L, floating *kind_of, Py_ssize_t lo,
                    Py_ssize_t hi) noexcept nogil:
    cdef int T = L.T, H = L.H, kh = L.kh, r = <int>(hi - lo), t
    cdef Py_ssize_t nh = L.n * H, ng = L.n * kh
    cdef const floating *u = <const floating *>L.u
    cdef const floating *ut = <const floating *>L.ut
    cdef floating *hs = <floating *>L.hs + lo * H
    cdef floating *g = <floating *>L.gates + lo * kh
    cdef floating *hn = <floating *>L.aux + lo * H
    cdef floating *hu = <floating *>L.hu + lo * kh
    cdef floating *dh = <floating *>L.dh + lo * H if L.backward else NULL
    cdef const floating *dy = <const floating *>L.dy + lo * T * H if L.dy != NULL else NULL
    if not L.backward:
        for t in range(T):
            # 3a. hu = hs[t] @ U (recurrent dropout: per gate, 3a')
            if L.gd:
                _drop_forward(L, lo, r, t, hs + t * nh, hu, kh, False)
            else:
                _step_product(L.kernel, r, kh, H, hs + t * nh, u, NULL, False, hu)
            # 3b. fused gates: r, z, n, hn_t, h_t (gates_t holds x_t @ W)
            if floating is float:
                gru_step_forward_f32(g + t * ng, hu, <const float *>L.b, <const float *>L.b2,
                                     hs + t * nh, hn + t * nh, hs + (t + 1) * nh, r, H)
            else:
                gru_step_forward_f64(g + t * ng, hu, <const double *>L.b, <const double *>L.b2,
                                     hs + t * nh, hn + t * nh, hs + (t + 1) * nh, r, H)
            if L.mask != NULL:
                _mask_carry(L, lo, r, t, hs + t * nh, hs + (t + 1) * nh, <floating *>NULL,
                            <floating *>NULL)
        return
    for t in range(T - 1, -1, -1):
        if L.mask != NULL:
            _mask_save(L, lo, r, t, dh, dy + t * H if dy != NULL else NULL, <floating *>NULL)
        # 5a. gate backward: gates_t <- G_h = [da_r|da_z|r*da_n], hn_t <- da_n, dh <- dh*z
        if floating is float:
            gru_step_backward_f32(g + t * ng, hn + t * nh, hs + t * nh, dh,
                                  dy + t * H if dy != NULL else NULL, T * H, r, H)
        else:
            gru_step_backward_f64(g + t * ng, hn + t * nh, hs + t * nh, dh,
                                  dy + t * H if dy != NULL else NULL, T * H, r, H)
        # 5b. dh += G_h @ U.T (the gradient of h_{t-1}; recurrent dropout: per gate, 5b')
        if L.gd:
            _drop_backward(L, lo, r, g + t * ng, kh, dh, True)
        else:
            _step_product(L.kernel, r, H, kh, g + t * ng, ut, u, True, dh)
        if L.mask != NULL:
            _mask_restore(L, lo, r, t, dh, <floating *>NULL, g + t * ng, kh, hn + t * nh)


cdef void _rows(void *ctx, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    # the loop of rows [lo, hi), typed by the op's dtype
    cdef const Loop *L = <const Loop *>ctx
    if L.kind == SIMPLE_RNN:
        if L.f64:
            _simple_rnn_rows(L, <double *>NULL, lo, hi)
        else:
            _simple_rnn_rows(L, <float *>NULL, lo, hi)
    elif L.kind == LSTM:
        if L.f64:
            _lstm_rows(L, <double *>NULL, lo, hi)
        else:
            _lstm_rows(L, <float *>NULL, lo, hi)
    elif L.f64:
        _gru_rows(L, <double *>NULL, lo, hi)
    else:
        _gru_rows(L, <float *>NULL, lo, hi)


# How a loop runs (_plan): _parallel.loop_kernel and loop_split decide whether its per-step
# products use the kernel and whether it runs as parts of the batch on two threads;
# _parallel.configure(step_kernel=..., batch_split=...) overrides them.
cdef void _plan(Loop *L, bint can_kernel) noexcept nogil:
    # can_kernel: the operands the step kernel needs are at hand (backward: U^T space)
    L.kernel = loop_kernel(can_kernel, L.f64, L.n, L.kh)
    L.split = loop_split(L.kernel, L.n, L.T, L.H, L.kh)


# A solo call runs on one thread whatever its size: the caller runs its own threads (the two
# directions of a Bidirectional layer, one per thread). Its loop does not split, and every
# product stays on the calling thread (the per-step ones: kernel SOLO in _step_product).
cdef inline void _solo(Loop *L, bint solo) noexcept nogil:
    if solo:
        L.split = 0
        if not L.kernel:
            L.kernel = SOLO


cdef inline int _threads(const Loop *L, bint solo) noexcept nogil:
    # the `two` of the op's big products (_gemm2)
    return SOLO if solo else L.split


cdef void _run_loop(Loop *L) noexcept nogil:
    # after _plan
    if L.split:
        run_parts(_rows, L, L.n, loop_parts(L.n))
    else:
        _rows(L, 0, L.n)


cdef Loop _loop(int kind, int act, bint f64, bint backward, int n, int T, int H,
                const void *u, const void *ut, const void *b, const void *b2, void *hs, void *cs,
                void *gates, void *aux, void *hu, const void *dy, void *dh,
                void *dc) noexcept nogil:
    cdef Loop L
    L.kind, L.act, L.f64, L.backward, L.n, L.T, L.H = kind, act, f64, backward, n, T, H
    L.kh = _gate_count(kind) * H
    L.u, L.ut, L.b, L.b2, L.hs, L.cs, L.gates, L.aux, L.hu = u, ut, b, b2, hs, cs, gates, aux, hu
    L.dy, L.dh, L.dc = dy, dh, dc
    L.mask, L.reverse, L.zero_out, L.keep, L.keepc = NULL, 0, 0, NULL, NULL
    L.gd, L.rmask, L.hm, L.tmp = 0, NULL, NULL, NULL
    return L


# ---- the big products of a split op, on the same two threads --------------------------
#
# When an op's loops split, its big products (the input projection, dW, dU, dx) are cut
# into parts as well, each through the step kernel (float32, B as stored) or on one BLAS
# thread, rather than left to BLAS's own threads:
# those keep spinning on the second core for a long while after a product (OpenBLAS:
# about 2**28 cycles), where they halve the speed of the loop's second thread (the
# figures: bench/RESULTS.md, "Scheduling policy").

cdef void _gemm2(int two, bint trans_a, bint trans_b, int m, int n, int k, floating alpha,
                 const floating *a, int lda, const floating *b, int ldb, floating beta,
                 floating *c, int ldc) noexcept nogil:
    # gemm, C's longer side cut into parts (of 64 or more) on two threads when `two` is 1
    # (the op's loops split) and the product is big enough for BLAS's threads; on this
    # thread alone when `two` is SOLO (the caller runs its own threads: _solo). float32 products
    # with B as stored go through the step kernel (the _tn form for A^T): profiled on the
    # LSTM(128) T=100 B=64 step, BLAS's packing of these operands (sgemm_itcopy/otcopy)
    # was 18% of all samples once the loops used the kernel.
    cdef Product J
    J.trans_a, J.trans_b, J.f64 = trans_a, trans_b, floating is double
    J.m, J.n, J.k, J.lda, J.ldb, J.ldc = m, n, k, lda, ldb, ldc
    J.alpha, J.beta, J.a, J.b, J.c = alpha, beta, a, b, c
    cdef int how = op_product_plan(&J, two == 1)
    cdef int side = m if J.by_rows else n
    if two == SOLO:
        # on this thread: the kernel where it applies, else BLAS held to one thread. (BLAS
        # called from the helper thread faulted pages in now and then: 6 in 1000 steps of
        # Embedding(mask_zero) + Bidirectional(LSTM(32)); through the kernel, 0 in 10,000.)
        if J.kernel:
            product_range(&J, 0, side)
        else:
            gemm_one_thread(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    elif how >= 2:
        run_parts(product_range, &J, side, how)
    elif how == 1:
        product_range(&J, 0, side)
    else:
        gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)


# ---- a whole forward / backward (one call per op call, under nogil) ----------------------

cdef void _run_forward(int kind, const floating *x, floating *x_tm, const floating *w,
                       const floating *u, const floating *b, const floating *b2, floating *hs,
                       floating *cs, floating *gates, floating *aux, floating *hu,
                       floating *out, bint return_sequences, int n, int T, int F, int H, int act,
                       bint reverse, const unsigned char *mask, bint zero_out,
                       bint solo, const OpCall *C) noexcept nogil:
    cdef Py_ssize_t nh = <Py_ssize_t>n * H
    cdef int kh = _gate_count(kind) * H, i, t, q
    # 1. x_tm = x in time-major order (time reversed when go_backwards)
    _to_time_major(x, x_tm, n, T, F, reverse)
    # 2.0 (compiled only: the plan) step kernel or BLAS, batch split or not (_plan); a split
    #     loop puts the projection's parts on the same two threads (_gemm2)
    cdef Loop L = _loop(kind, act, floating is double, False, n, T, H, u, NULL, b, b2, hs, cs,
                        gates, aux, hu, NULL, NULL, NULL)
    L.mask, L.reverse = mask, reverse
    L.gd, L.rmask, L.hm = C.gd, C.rmask, C.hm
    _plan(&L, True)
    _solo(&L, solo)
    # 2. the input projection of all timesteps, one GEMM of T*n rows: into hs[1:]
    #    (SimpleRNN), else into the gate pre-activations
    #    (2'. input dropout in the loop: xg[q] = x_tm * d_q first, the GEMM reading xg;
    #    one mask per gate: one GEMM per gate, gate q's columns from xg[q])
    cdef floating *xg = <floating *>C.xg
    cdef Py_ssize_t blk = <Py_ssize_t>T * n * F
    cdef floating *proj = hs + nh if kind == SIMPLE_RNN else gates
    if C.gi:
        if floating is float:
            rnn_drop_inputs_f32(x_tm, <const float *>C.dmask, xg, C.gi, T, n, F)
        else:
            rnn_drop_inputs_f64(x_tm, <const double *>C.dmask, xg, C.gi, T, n, F)
    if C.gi > 1:
        for q in range(C.gi):
            _gemm2(_threads(&L, solo), False, False, T * n, H, F, <floating>1, xg + q * blk, F,
                   w + q * H, kh, <floating>0, proj + q * H, kh)
    else:
        _gemm2(_threads(&L, solo), False, False, T * n, kh, F, <floating>1,
               xg if C.gi else x_tm, F, w, kh, <floating>0, proj, kh)
    # 3. the time loop: 3a. h_{t-1} @ U and 3b. the fused gate kernel per step (*_rows above),
    #    3c. with a mask, masked rows carry their state (_mask_carry)
    _run_loop(&L)
    # 4. the output, batch-first: every h_t in processing order, or the final state
    if return_sequences:
        _from_time_major(hs + nh, out, n, T, H, False)
        if mask != NULL and zero_out:  # zero_output_for_mask: masked steps output 0
            for i in range(n):
                for t in range(T):
                    if not _mask_at(&L, i, t)[0]:
                        memset(out + (<Py_ssize_t>i * T + t) * H, 0, H * sizeof(floating))
    else:
        memcpy(out, hs + T * nh, nh * sizeof(floating))


cdef void _run_backward(int kind, floating *x_tm, const floating *w, const floating *u,
                        const floating *hs, const floating *cs, floating *gates, floating *aux,
                        const floating *dy, floating *dh, floating *dc, floating *dw,
                        floating *du, floating *db, floating *db2, floating *dx, floating *ut,
                        int n, int T, int F, int H, int act, bint reverse,
                        const unsigned char *mask, bint zero_out, floating *keep,
                        floating *keepc, bint solo, const OpCall *C) noexcept nogil:
    cdef int i, j
    cdef Loop L = _loop(kind, act, floating is double, True, n, T, H, u, NULL, NULL, NULL,
                        <void *>hs, <void *>cs, gates, aux, NULL, dy, dh, dc)
    L.mask, L.reverse, L.zero_out, L.keep, L.keepc = mask, reverse, zero_out, keep, keepc
    L.gd, L.rmask, L.hm, L.tmp = C.gd, C.rmask, C.hm, C.tmp
    cdef int kh = L.kh
    # 5.0 (compiled only: the plan) step kernel or BLAS, batch split or not (_plan)
    _plan(&L, ut != NULL)
    _solo(&L, solo)
    # 5.1 (compiled only: U^T) (kH, H) for the step kernel, when it is used (ut: its workspace)
    if L.kernel == 1:
        for i in range(H):
            for j in range(kh):
                ut[j * H + i] = u[i * kh + j]
        L.ut = ut
    # 5. the time loop backward: 5a. gate backward and 5b. dG_t @ U.T per step (*_rows above);
    #    the gate activations (SimpleRNN: da) become the pre-activation gradients dG; with a
    #    mask, 5m before and 5c after them pass a masked row's gradients straight through
    _run_loop(&L)
    # then steps 6-9: dW, dU, db and dx from dG over all T*n rows, one GEMM each
    if kind == GRU:
        _gru_grads(_threads(&L, solo), x_tm, w, hs, gates, aux, dw, du, db, db2, dx, n, T, F, H,
                   reverse, C)
    else:
        _grads(_threads(&L, solo), x_tm, w, hs, aux if kind == SIMPLE_RNN else gates, dw, du, db,
               dx, n, T, F, H, L.kh, reverse, C)


cdef void _grads(int two, floating *x_tm, const floating *w, const floating *hs,
                 const floating *g, floating *dw, floating *du, floating *db, floating *dx, int n,
                 int T, int F, int H, int kh, bint reverse, const OpCall *C) noexcept nogil:
    # SimpleRNN and LSTM, g = dG (T*n, kH) (SimpleRNN: da); two: the big products on two
    # threads (_gemm2)
    cdef floating *xg = <floating *>C.xg
    cdef Py_ssize_t blk = <Py_ssize_t>T * n * F
    cdef int q
    # 6. dW = x_tm.T @ dG (one GEMM, T*n rows; input dropout: xg.T @ dG, or per gate
    #    xg[q].T @ dG_q)
    if C.gi > 1:
        for q in range(C.gi):
            _gemm2(two, True, False, F, H, T * n, <floating>1, xg + q * blk, F, g + q * H, kh,
                   <floating>0, dw + q * H, kh)
    else:
        _gemm2(two, True, False, F, kh, T * n, <floating>1, xg if C.gi else x_tm, F, g, kh,
               <floating>0, dw, kh)
    # 7. dU = hs[:T].T @ dG (one GEMM; recurrent dropout: hm_q.T @ dG_q per gate)
    _du(two, hs, g, du, n, T, H, kh, C)
    # 8. db = column sums of dG (in double)
    if db != NULL:
        _bias_grad(db, g, <Py_ssize_t>T * n, kh)
    # 9. dx: dx_tm = dG @ W.T (into x_tm, no longer needed), back to batch-first order
    #    (input dropout: into xg, or per gate xg[q] = dG_q @ W_q.T, then dx_tm = the sum
    #    of d_q * xg[q])
    if dx != NULL:
        if C.gi > 1:
            for q in range(C.gi):
                _gemm2(two, False, True, T * n, F, H, <floating>1, g + q * H, kh, w + q * H, kh,
                       <floating>0, xg + q * blk, F)
        else:
            _gemm2(two, False, True, T * n, F, kh, <floating>1, g, kh, w, kh, <floating>0,
                   xg if C.gi else x_tm, F)
        if C.gi:
            _drop_inputs_back(x_tm, xg, n, T, F, C)
        _from_time_major(x_tm, dx, n, T, F, reverse)


cdef inline void _du(int two, const floating *hs, const floating *g, floating *du, int n, int T,
                     int H, int kh, const OpCall *C) noexcept nogil:
    # dU = hs[:T].T @ G (one GEMM); with recurrent dropout dU_q = hm_q.T @ G_q per gate
    cdef int q, G = C.gd
    if not G:
        _gemm2(two, True, False, H, kh, T * n, <floating>1, hs, H, g, kh, <floating>0, du, kh)
        return
    for q in range(G):
        _gemm2(two, True, False, H, H, T * n, <floating>1, <const floating *>C.hm + q * H, G * H,
               g + q * H, kh, <floating>0, du + q * H, kh)


cdef inline void _drop_inputs_back(floating *x_tm, const floating *xg, int n, int T, int F,
                                   const OpCall *C) noexcept nogil:
    if floating is float:
        rnn_drop_inputs_back_f32(x_tm, <const float *>C.dmask, xg, C.gi, T, n, F)
    else:
        rnn_drop_inputs_back_f64(x_tm, <const double *>C.dmask, xg, C.gi, T, n, F)


cdef void _gru_grads(int two, floating *x_tm, const floating *w, const floating *hs,
                     floating *gates, floating *hn, floating *dw, floating *du, floating *db_ih,
                     floating *db_hh, floating *dx, int n, int T, int F, int H,
                     bint reverse, const OpCall *C) noexcept nogil:
    cdef Py_ssize_t rows = <Py_ssize_t>T * n, blk = rows * F
    cdef floating *xg = <floating *>C.xg
    cdef int q
    # 6. dU = hs[:T].T @ G_h (one GEMM; recurrent dropout: per gate, _du)
    _du(two, hs, gates, du, n, T, H, 3 * H, C)
    # 7. dW = x_tm.T @ G_x with G_x = [da_r|da_z|da_n]: G_x shares its r, z columns with
    #    G_h, so two GEMMs write the r,z and the n columns (no (T, n, 3H) copy of G_x);
    #    input dropout: from xg, or per gate xg[q].T @ G_x,q
    cdef const floating *src = xg if C.gi else x_tm
    if C.gi > 1:
        for q in range(3):
            _gemm2(two, True, False, F, H, T * n, <floating>1, xg + q * blk, F,
                   gates + q * H if q < 2 else hn, 3 * H if q < 2 else H, <floating>0,
                   dw + q * H, 3 * H)
    else:
        _gemm2(two, True, False, F, 2 * H, T * n, <floating>1, src, F, gates, 3 * H,
               <floating>0, dw, 3 * H)
        _gemm2(two, True, False, F, H, T * n, <floating>1, src, F, hn, H, <floating>0,
               dw + 2 * H, 3 * H)
    # 8. db_hh = column sums of G_h; db_ih: the same r, z sums, column sums of da_n for n
    if db_hh != NULL:
        _bias_grad(db_hh, gates, rows, 3 * H)
        memcpy(db_ih, db_hh, 2 * H * sizeof(floating))
        _bias_grad(db_ih + 2 * H, hn, rows, H)
    # 9. dx: dx_tm = G_x @ W.T (two GEMMs again, into x_tm), back to batch-first order
    #    (input dropout: into xg, or per gate xg[q] = G_x,q @ W_q.T, then dx_tm = the sum
    #    of d_q * xg[q])
    cdef floating *dst = xg if C.gi else x_tm
    if dx != NULL and C.gi > 1:
        for q in range(3):
            _gemm2(two, False, True, T * n, F, H, <floating>1, gates + q * H if q < 2 else hn,
                   3 * H if q < 2 else H, w + q * H, 3 * H, <floating>0, xg + q * blk, F)
    elif dx != NULL:
        _gemm2(two, False, True, T * n, F, 2 * H, <floating>1, gates, 3 * H, w, 3 * H,
               <floating>0, dst, F)
        _gemm2(two, False, True, T * n, F, H, <floating>1, hn, H, w + 2 * H, 3 * H, <floating>1,
               dst, F)
    if dx != NULL:
        if C.gi:
            _drop_inputs_back(x_tm, xg, n, T, F, C)
        _from_time_major(x_tm, dx, n, T, F, reverse)


cdef void run_call(const OpCall *C) noexcept nogil:
    # one forward or backward (see recurrent.pxd), typed by the op's dtype
    if C.backward:
        if C.f64:
            _run_backward(C.kind, <double *>C.x_tm, <const double *>C.w, <const double *>C.u,
                          <const double *>C.hs, <const double *>C.cs, <double *>C.gates,
                          <double *>C.aux, <const double *>C.dy, <double *>C.dh,
                          <double *>C.dc, <double *>C.dw, <double *>C.du, <double *>C.db,
                          <double *>C.db2, <double *>C.dx, <double *>C.ut, C.n, C.T, C.F, C.H,
                          C.act, C.reverse, C.mask, C.zero_out, <double *>C.keep,
                          <double *>C.keepc, C.solo, C)
        else:
            _run_backward(C.kind, <float *>C.x_tm, <const float *>C.w, <const float *>C.u,
                          <const float *>C.hs, <const float *>C.cs, <float *>C.gates,
                          <float *>C.aux, <const float *>C.dy, <float *>C.dh, <float *>C.dc,
                          <float *>C.dw, <float *>C.du, <float *>C.db, <float *>C.db2,
                          <float *>C.dx, <float *>C.ut, C.n, C.T, C.F, C.H, C.act, C.reverse,
                          C.mask, C.zero_out, <float *>C.keep, <float *>C.keepc, C.solo, C)
    elif C.f64:
        _run_forward(C.kind, <const double *>C.x, <double *>C.x_tm, <const double *>C.w,
                     <const double *>C.u, <const double *>C.b, <const double *>C.b2,
                     <double *>C.hs, <double *>C.cs, <double *>C.gates, <double *>C.aux,
                     <double *>C.hu, <double *>C.out, C.return_sequences, C.n, C.T, C.F, C.H,
                     C.act, C.reverse, C.mask, C.zero_out, C.solo, C)
    else:
        _run_forward(C.kind, <const float *>C.x, <float *>C.x_tm, <const float *>C.w,
                     <const float *>C.u, <const float *>C.b, <const float *>C.b2,
                     <float *>C.hs, <float *>C.cs, <float *>C.gates, <float *>C.aux,
                     <float *>C.hu, <float *>C.out, C.return_sequences, C.n, C.T, C.F, C.H,
                     C.act, C.reverse, C.mask, C.zero_out, C.solo, C)


cdef inline int _gate_count(int kind) noexcept nogil:
    return 4 if kind == LSTM else 3 if kind == GRU else 1


cdef inline char *_ptr(a):
    return NULL if a is None else <char *>cnp.PyArray_DATA(<cnp.ndarray>a)


# ---- Ops ------------------------------------------------------------------------------

cdef class _RecurrentOp(Op):
    """A recurrent layer inside a compiled Net. Input: (n, T*F) batch-first samples;
    output: (n, T*H) batch-first when return_sequences, else the final state (n, H).
    Backward reads dy in the output's layout and writes dx (n, T*F) batch-first.

    State: set_initial_state(h0, c0=None) copies (n, H) arrays into the op (None:
    zeros); they are the initial state of every later forward until reset. With
    carry_state = True each forward's final state becomes the next forward's
    initial state (stateful=True). final_state() and initial_state_grad() return
    copies from the last forward / backward.

    Not thread-safe: the workspaces belong to one call at a time."""

    def __init__(self, name, int kind, W, U, biases, grads, timesteps, return_sequences,
                 bint need_dx, go_backwards, activation=None):
        p = _c.unpack_op(name, kind, W, U, biases, grads, timesteps, activation)
        cdef int H = p["H"]
        Op.__init__(self, timesteps * p["F"], timesteps * H if return_sequences else H, p["dt"],
                    need_dx)
        self.name, self.kind, self.activation = name, kind, activation
        self.timesteps, self.features, self.units, self.k = timesteps, p["F"], H, p["k"]
        self.act = ACTIVATIONS[activation] if kind == SIMPLE_RNN else 0
        self.return_sequences, self.go_backwards = bool(return_sequences), bool(go_backwards)
        self.carry_state = self.zero_output = False
        self.grads = tuple(grads.values())  # (dW, dU, db) or (dW, dU, db_ih, db_hh)
        dt = p["dt"]
        self.ut_ws = np.empty(self.k * H * H, dt) if step_level() > 0 and dt == np.float32 else None
        self.ut = _ptr(self.ut_ws)
        b, b2, db, db2 = p["b"], p["b2"], p["db"], p["db2"]
        self._keep = (W, U, b, b2, grads)
        self.w, self.u, self.b, self.b2 = _ptr(W), _ptr(U), _ptr(b), _ptr(b2)
        self.dw, self.du = _ptr(grads["dW"]), _ptr(grads["dU"])
        self.db, self.db2 = _ptr(db), _ptr(db2)
        self.h0 = self.c0 = None
        self.n_fwd = self.n_bwd = -1
        self.consumed = True
        self.rate = self.recurrent_rate = 0
        self.input_masks = 0
        self.seed = self.counter = 0
        self.dropped = False

    @property
    def draws_masks(self):
        """Whether the op has dropout in its loop (set_dropout): a mask stream to keep."""
        return self.rate > 0 or self.recurrent_rate > 0

    def set_dropout(self, rate, recurrent_rate, seed, per_gate=True):
        """Dropout inside the loop, in training: `rate` draws one input mask (n, F) per
        gate (Keras' implementation=1; per_gate=False: one for all gates, implementation=2),
        `recurrent_rate` one state mask (n, H) per gate, scaled by 1 / (1 - rate) and the
        same at every step. The masks come from the counter-based stream (seed, counter),
        which advances by their size per training forward. Before the op's first call."""
        self.rate, self.recurrent_rate, self.seed, self.input_masks = _c.check_dropout(
            self, rate, recurrent_rate, seed, per_gate)

    cdef int draw_masks(self, Py_ssize_t n, bint training) except -1:
        # this forward's masks (training with a rate), else none; the backward reuses them
        self.dropped = training and (self.rate > 0 or self.recurrent_rate > 0)
        if self.dropped:
            self._draw(self.dmask, self.rate, self.input_masks * n * self.features)
            self._draw(self.rmask, self.recurrent_rate, self.k * n * self.units)
        return 0

    cdef void _draw(self, char *mask, double rate, Py_ssize_t m):
        if rate == 0:
            return
        if self.f64:
            dropout_mask_f64(<double *>mask, m, rate, self.seed, self.counter)
        else:
            dropout_mask_f32(<float *>mask, m, <float>rate, self.seed, self.counter)
        self.counter += <uint64_t>m

    cdef int reserve(self, Py_ssize_t rows) except -1:
        rows = max(rows, 1)  # an empty batch still gets valid workspace pointers
        if rows <= self.cap:
            return 0
        ws = _c.workspaces(self.kind, self.timesteps, rows, self.features, self.units,
                           self.dtype, self.input_masks, self.recurrent_rate > 0)
        self._ws = ws
        self.dmask, self.xg, self.rmask = _ptr(ws["dmask"]), _ptr(ws["xg"]), _ptr(ws["rmask"])
        self.hm, self.tmp = _ptr(ws["hm"]), _ptr(ws["tmp"])
        self.x_tm, self.hs, self.cs = _ptr(ws["x_tm"]), _ptr(ws["hs"]), _ptr(ws["cs"])
        self.gates, self.aux, self.hu = _ptr(ws["gates"]), _ptr(ws["aux"]), _ptr(ws["hu"])
        self.dh, self.dc = _ptr(ws["dh"]), _ptr(ws["dc"])
        self.keep, self.keepc = _ptr(ws["keep"]), _ptr(ws["keepc"])
        return Op.reserve(self, rows)

    def _views(self, Py_ssize_t n):
        """NumPy views of the workspaces for n rows (same layout as the twin's)."""
        return _c.workspace_views(self._ws, self.kind, self.timesteps, n, self.features,
                                  self.units)

    cdef int _load_state(self, Py_ssize_t n) except -1:
        # hs[0] (and cs[0]) = the stored initial state, or zeros
        self._load(self.h0, self.hs, n)
        if self.kind == LSTM:
            self._load(self.c0, self.cs, n)
        return 0

    cdef int _load(self, state, char *ws, Py_ssize_t n) except -1:
        cdef size_t nbytes = n * self.units * (8 if self.f64 else 4)
        if state is None:
            memset(ws, 0, nbytes)
        elif state.shape[0] != n:
            raise _c.batch_state_error(self.name, state.shape[0], n)
        else:
            memcpy(ws, _ptr(state), nbytes)
        return 0

    cdef char *forward(self, char *x, Py_ssize_t n, bint training) except NULL:
        cdef OpCall C
        self.draw_masks(n, training)
        self.fill_forward(x, n, &C)
        with nogil:
            run_call(&C)
        self.end_forward(n)
        return self.out

    cdef int fill_forward(self, char *x, Py_ssize_t n, OpCall *C) except -1:
        # the call's arguments; loads the initial state (hs[0], cs[0])
        self._load_state(n)
        self._fill(C, n, False)
        C.x = x
        C.mask = self.input_mask(n, self.timesteps)
        return 0

    cdef int end_forward(self, Py_ssize_t n) except -1:
        cdef Py_ssize_t last = <Py_ssize_t>self.timesteps * n * self.units * (8 if self.f64 else 4)
        self.n_fwd, self.consumed = n, False
        if self.carry_state:
            self.h0 = self._carry(self.h0, self.hs + last, n)
            if self.kind == LSTM:
                self.c0 = self._carry(self.c0, self.cs + last, n)
        return 0

    cdef void _fill(self, OpCall *C, Py_ssize_t n, bint backward):
        C.kind, C.act, C.f64, C.backward, C.solo = self.kind, self.act, self.f64, backward, False
        C.n, C.T, C.F, C.H = n, self.timesteps, self.features, self.units
        C.reverse, C.return_sequences, C.zero_out = (
            self.go_backwards, self.return_sequences, self.zero_output)
        C.x, C.x_tm, C.w, C.u, C.b, C.b2 = NULL, self.x_tm, self.w, self.u, self.b, self.b2
        C.hs, C.cs, C.gates, C.aux, C.hu, C.out = (
            self.hs, self.cs, self.gates, self.aux, self.hu, self.out)
        C.dy, C.dh, C.dc, C.dw, C.du, C.db, C.db2 = (
            NULL, self.dh, self.dc, self.dw, self.du, self.db, self.db2)
        C.dx, C.ut, C.keep, C.keepc = NULL, self.ut, self.keep, self.keepc
        C.mask = NULL
        # the last draw_masks' (forward: this call's; backward: its forward's)
        C.gi = self.input_masks if self.dropped and self.rate > 0 else 0
        C.gd = self.k if self.dropped and self.recurrent_rate > 0 else 0
        C.dmask, C.xg, C.rmask, C.hm, C.tmp = self.dmask, self.xg, self.rmask, self.hm, self.tmp

    cdef object _carry(self, state, const char *final, Py_ssize_t n):
        # the final state becomes the next initial state; the stored array is reused,
        # so a stateful step allocates nothing (final points at hs[T] or cs[T])
        if state is None or state.shape[0] != n:
            state = np.empty((n, self.units), self.dtype)
        memcpy(_ptr(state), final, n * self.units * (8 if self.f64 else 4))
        return state

    cdef char *backward(self, char *x, char *dy, Py_ssize_t n) except? NULL:
        if self.return_sequences:
            return self._backward(dy, NULL, NULL, n)
        return self._backward(NULL, dy, NULL, n)

    cdef char *_backward(self, char *dhs, char *dh_last, char *dc_last,
                         Py_ssize_t n) except? NULL:
        cdef OpCall C
        self.fill_backward(dhs, dh_last, dc_last, n, &C)
        with nogil:
            run_call(&C)
        self.end_backward(n)
        return <char *>C.dx

    cdef int fill_backward(self, char *dhs, char *dh_last, char *dc_last, Py_ssize_t n,
                           OpCall *C) except -1:
        # dhs: (n, T, H) batch-first or NULL; dh_last, dc_last: (n, H) or NULL. Sets the
        # carried gradients dh, dc to dh_last, dc_last (or zeros).
        if n != self.n_fwd or self.consumed:
            raise _c.backward_order_error(self.name, n)
        cdef size_t nbytes = n * self.units * (8 if self.f64 else 4)
        if dh_last != NULL:
            memcpy(self.dh, dh_last, nbytes)
        else:
            memset(self.dh, 0, nbytes)
        if self.dc != NULL:
            if dc_last != NULL:
                memcpy(self.dc, dc_last, nbytes)
            else:
                memset(self.dc, 0, nbytes)
        self._fill(C, n, True)
        C.dy = dhs
        C.dx = self.dx if self.need_dx else NULL
        C.mask = self.input_mask(n, self.timesteps)
        return 0

    cdef void end_backward(self, Py_ssize_t n):
        self.n_bwd, self.consumed = n, True

    # -- state API (the bookkeeping is the contract's, shared with the twin)
    def set_initial_state(self, h0, c0=None):
        """Copy (n, H) initial states into the op (None: zeros). LSTM: c0 None with h0
        given means c0 = 0. They stay until the next call (or carry_state updates)."""
        self.h0, self.c0 = _c.initial_states(self, h0, c0, self.h0, self.c0)

    def final_state(self):
        """(h_T,) or (h_T, c_T) of the last forward, as copies (processing order: with
        go_backwards the state after the first input timestep)."""
        return _c.final_state(self, self.n_fwd)

    def initial_state_grad(self):
        """(dh0,) or (dh0, dc0) from the last backward, as copies."""
        return _c.initial_state_grad(self, self.n_bwd)

    def last_rows(self):
        """Rows of the last forward (-1 before any)."""
        return self.n_fwd

    # -- Python entry points (tests, direct use): copies in, copies out
    def py_forward(self, x, training=True):
        """Forward of x (n, T, F) or (n, T*F); returns a copy of the (n, out_size) output."""
        x = _c.py_arg(self, "x", x, self.in_size)
        n = x.shape[0]
        self.reserve(n)
        self.forward(_ptr(x), n, training)
        return self.out_arr[:n].copy()

    def py_backward(self, dy):
        """Backward of the last forward from dy in the output's layout (n, out_size);
        returns a copy of dx (n, T*F), or None when not need_dx. Gradients go into
        the dW, dU, db views given to the constructor."""
        dy = _c.py_arg(self, "dy", dy, self.out_size)
        n = dy.shape[0]
        if self.backward(NULL, _ptr(dy), n) == NULL:
            return None
        return self.dx_arr[:n].copy()

    def py_backward_full(self, dhs, dh_last=None, dc_last=None):
        """Backward of the last forward from the gradient of the whole sequence output
        dhs (n, T, H) or None and of the final state dh_last (and dc_last) (n, H) or
        None, whatever return_sequences says. Returns a copy of dx (n, T, F) (None
        when not need_dx); dh0 (and dc0) then come from initial_state_grad()."""
        check_grads(f"{self.name}.py_backward_full", self, dhs, dh_last, dc_last)
        dh_last = None if dh_last is None else np.ascontiguousarray(dh_last)
        dc_last = None if dc_last is None else np.ascontiguousarray(dc_last)
        if self._backward(_ptr(dhs), _ptr(dh_last), _ptr(dc_last), self.n_fwd) == NULL:
            return None
        n, T, F = self.n_fwd, self.timesteps, self.features
        return self.dx_arr[:n].reshape(n, T, F).copy()


cdef class SimpleRNNOp(_RecurrentOp):
    """SimpleRNN in a Net: h_t = act(x_t W + h_{t-1} U + b), act "tanh" or "relu".
    W (F, H), U (H, H), b (H,) or None; dW, dU, db the gradient views."""

    def __init__(self, W, U, b, dW, dU, db, timesteps, activation, return_sequences, need_dx,
                 go_backwards=False):
        _RecurrentOp.__init__(self, "SimpleRNNOp", SIMPLE_RNN, W, U, {"b": b},
                              {"dW": dW, "dU": dU, "db": db}, timesteps, return_sequences,
                              need_dx, go_backwards, activation)


cdef class LSTMOp(_RecurrentOp):
    """LSTM in a Net: gates [i|f|g|o], W (F, 4H), U (H, 4H), one bias b (4H,) or None."""

    def __init__(self, W, U, b, dW, dU, db, timesteps, return_sequences, need_dx,
                 go_backwards=False):
        _RecurrentOp.__init__(self, "LSTMOp", LSTM, W, U, {"b": b},
                              {"dW": dW, "dU": dU, "db": db}, timesteps, return_sequences,
                              need_dx, go_backwards)


cdef class GRUOp(_RecurrentOp):
    """GRU in a Net (reset_after form): gates [r|z|n], W (F, 3H), U (H, 3H), two biases
    b_ih, b_hh (3H,) (both None without bias)."""

    def __init__(self, W, U, b_ih, b_hh, dW, dU, db_ih, db_hh, timesteps, return_sequences,
                 need_dx, go_backwards=False):
        _c.check_gru_biases("GRUOp", b_ih, b_hh)
        _RecurrentOp.__init__(self, "GRUOp", GRU, W, U, {"b_ih": b_ih, "b_hh": b_hh},
                              {"dW": dW, "dU": dU, "db_ih": db_ih, "db_hh": db_hh}, timesteps,
                              return_sequences, need_dx, go_backwards)


# ---- functions: one forward (a fresh op, returned as the cache) and its backward ------
from fastnn.backend.contract.recurrent import bind as _bind

(simple_rnn_forward, simple_rnn_backward, lstm_forward, lstm_backward, gru_forward,
 gru_backward) = _bind(SimpleRNNOp, LSTMOp, GRUOp)
