# The recurrent ops' C-level interface, for the ops that drive them (bidirectional.pyx runs
# two at once, one per thread). See recurrent.pyx.
from libc.stdint cimport uint64_t
from fastnn.backend.compiled._op cimport Op


# One forward or backward call of an op: every argument of its run, filled under the GIL
# by fill_forward / fill_backward, so that run_call needs nothing else and can run on any
# thread. Pointers are float * or double * (f64).
cdef struct OpCall:
    int kind, act, f64, backward, n, T, F, H
    int reverse, return_sequences, zero_out
    int solo                   # on one thread whatever the size (the caller runs threads)
    const unsigned char *mask  # batch-first (n, T) input mask, or NULL
    const void *x              # forward: the input (n, T*F)
    void *x_tm
    const void *w
    const void *u
    const void *b
    const void *b2
    void *hs
    void *cs
    void *gates
    void *aux
    void *hu
    void *out
    const void *dy             # backward: (n, T, H) output gradient, or NULL
    void *dh
    void *dc
    void *dw
    void *du
    void *db
    void *db2
    void *dx                   # backward: (n, T*F), or NULL
    void *ut
    void *keep
    void *keepc
    int gd                     # recurrent dropout: G masks of the state, 0: none
    int gi                     # input dropout: 1 mask, or G (one per gate), 0: none
    const void *rmask          # (G, n, H) the state masks, scaled by 1 / (1 - rate)
    const void *dmask          # (gi, n, F) the input masks, the same
    void *hm                   # (T, n, G*H) the masked states of every step
    void *xg                   # (gi, T, n, F) the masked inputs; backward dG_q @ W_q^T
    void *tmp                  # backward: (n, H)


# Runs one filled call: nogil, touches nothing but the call's buffers.
cdef void run_call(const OpCall *C) noexcept nogil


cdef class _RecurrentOp(Op):
    cdef readonly object name
    cdef readonly int kind, timesteps, features, units, k
    cdef readonly object activation
    cdef readonly bint return_sequences, go_backwards
    cdef public bint carry_state
    cdef public bint zero_output     # zero_output_for_mask: masked steps output zeros
    cdef readonly object grads       # (dW, dU, db) or (dW, dU, db_ih, db_hh)
    cdef int act
    cdef object _keep                # the arrays the raw parameter pointers point into
    cdef char *w
    cdef char *u
    cdef char *b
    cdef char *b2
    cdef char *dw
    cdef char *du
    cdef char *db
    cdef char *db2
    # workspaces (flat, sized for cap rows; the first n rows' worth is used per call)
    cdef object _ws                  # the workspaces by name (contract.workspaces), which
    #                                  the pointers below point into
    cdef char *x_tm
    cdef char *hs
    cdef char *cs
    cdef char *gates
    cdef char *aux                   # SimpleRNN: da; LSTM: tanh(c_t); GRU: hn_t, then da_n
    cdef char *hu
    cdef char *dh
    cdef char *dc
    cdef char *keep
    cdef char *keepc
    cdef object ut_ws                # U^T for the step kernel (float32, CPU has it), or None
    cdef char *ut
    cdef readonly object h0, c0      # initial states (n, H) or None (zeros)
    # dropout in the loop (Keras implementation=1; set_dropout): rates, the mask stream
    cdef readonly double rate, recurrent_rate
    cdef readonly int input_masks    # 1 or the gate count (per_gate); 0 without rate
    cdef public uint64_t seed, counter
    cdef bint dropped                # the last forward drew masks (training)
    cdef char *rmask
    cdef char *dmask
    cdef char *hm
    cdef char *xg
    cdef char *tmp
    cdef Py_ssize_t n_fwd, n_bwd
    cdef bint consumed

    cdef int _load_state(self, Py_ssize_t n) except -1
    cdef int draw_masks(self, Py_ssize_t n, bint training) except -1
    cdef void _draw(self, char *mask, double rate, Py_ssize_t m)
    cdef int _load(self, state, char *ws, Py_ssize_t n) except -1
    cdef object _carry(self, state, const char *final, Py_ssize_t n)
    cdef void _fill(self, OpCall *C, Py_ssize_t n, bint backward)
    # forward = fill_forward, run_call (nogil, any thread), end_forward
    cdef int fill_forward(self, char *x, Py_ssize_t n, OpCall *C) except -1
    cdef int end_forward(self, Py_ssize_t n) except -1
    # backward of the last forward = fill_backward, run_call, end_backward; C.dx is dx
    cdef int fill_backward(self, char *dhs, char *dh_last, char *dc_last, Py_ssize_t n,
                           OpCall *C) except -1
    cdef void end_backward(self, Py_ssize_t n)
    cdef char *_backward(self, char *dhs, char *dh_last, char *dc_last,
                         Py_ssize_t n) except? NULL
