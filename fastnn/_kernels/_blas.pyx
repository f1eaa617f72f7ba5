# Python entry to the GEMM shim, for tests that check the row-major translation.
import numpy as np
from cython cimport floating


def gemm_rowmajor(floating[:, ::1] a, floating[:, ::1] b, floating[:, ::1] c,
                  bint trans_a=False, bint trans_b=False, double alpha=1.0, double beta=0.0):
    """c = alpha * op(a) @ op(b) + beta * c, in place, through scipy's BLAS."""
    cdef int m = a.shape[1] if trans_a else a.shape[0]
    cdef int k = a.shape[0] if trans_a else a.shape[1]
    cdef int kb = b.shape[1] if trans_b else b.shape[0]
    cdef int n = b.shape[0] if trans_b else b.shape[1]
    if kb != k or c.shape[0] != m or c.shape[1] != n:
        raise ValueError(
            f"gemm_rowmajor expected op(a) (m, k), op(b) (k, n), c (m, n). Received: "
            f"a.shape={(a.shape[0], a.shape[1])}, b.shape={(b.shape[0], b.shape[1])}, "
            f"c.shape={(c.shape[0], c.shape[1])}, trans_a={trans_a}, trans_b={trans_b}")
    with nogil:
        gemm(trans_a, trans_b, m, n, k, <floating>alpha, &a[0, 0] if a.shape[0] else NULL,
             a.shape[1], &b[0, 0] if b.shape[0] else NULL, b.shape[1], <floating>beta,
             &c[0, 0] if c.shape[0] else NULL, c.shape[1])
    return np.asarray(c)
