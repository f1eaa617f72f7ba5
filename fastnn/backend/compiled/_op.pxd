# Base of the compiled layer operations a Net chains together.
#
# An Op owns its workspaces (output and input-gradient buffers, allocated by
# reserve() for a number of rows and reused by every later call, so a steady
# training step allocates nothing) and raw pointers into the model's flat
# parameter and gradient buffers. Pointers are char* and the dtype is chosen
# once by f64: no per-call fused-type dispatch or memoryview acquisition.
cdef class Op:
    cdef readonly Py_ssize_t in_size   # features per sample in (flattened)
    cdef readonly Py_ssize_t out_size  # features per sample out (flattened)
    cdef readonly Py_ssize_t cap       # rows the workspaces hold
    cdef readonly bint need_dx         # False for the first op: dX is not needed
    cdef bint f64
    cdef object out_arr, dx_arr
    cdef char *out
    cdef char *dx
    # masks (Keras masking), batch-first (rows, steps) bytes, 0 = masked step:
    cdef readonly Py_ssize_t mask_steps  # producers (Embedding(mask_zero), Masking): steps of
    cdef object out_mask_arr                 # the mask they write in forward into out_mask_arr
    cdef unsigned char *out_mask
    cdef public Op mask_src              # consumers: the op whose mask they read (a Net sets it)
    cdef object own_mask                 # or one given by set_input_mask (direct calls)

    cdef int reserve(self, Py_ssize_t rows) except -1
    # the mask of this op's input for n rows of `steps` steps, or NULL (none)
    cdef const unsigned char *input_mask(self, Py_ssize_t n, Py_ssize_t steps) except? NULL
    # forward: x holds n samples; returns the output pointer (self.out, or x itself
    # for ops that pass data through unchanged at inference).
    cdef char *forward(self, char *x, Py_ssize_t n, bint training) except NULL
    # backward: x is the forward input, dy the gradient of the output (may be
    # overwritten). Writes parameter gradients; returns dx (NULL when not need_dx).
    cdef char *backward(self, char *x, char *dy, Py_ssize_t n) except? NULL
