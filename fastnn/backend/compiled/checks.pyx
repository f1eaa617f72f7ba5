"""Input checks at the Python boundary (C: csrc/kernels/checks.c). Twin: reference/checks.py.

Both take any array; float32/float64 C-contiguous arrays go through one C pass,
other arrays (ints, bools, strided) through NumPy.
"""
import numpy as np
cimport numpy as cnp
from fastnn.backend.compiled._csrc cimport (
    first_nonfinite_f32, first_nonfinite_f64, first_bad_label_f32, first_bad_label_f64)

cnp.import_array()


def first_nonfinite(a):
    """Flat index of the first NaN or infinity in a, or -1."""
    cdef Py_ssize_t i
    cdef Py_ssize_t n
    cdef void *p
    cdef bint f32
    if (cnp.PyArray_Check(a) and cnp.PyArray_IS_C_CONTIGUOUS(a)
            and cnp.PyArray_TYPE(a) in (cnp.NPY_FLOAT32, cnp.NPY_FLOAT64)):
        n = cnp.PyArray_SIZE(a)
        p = cnp.PyArray_DATA(<cnp.ndarray>a)
        f32 = cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT32
        with nogil:
            if f32:
                i = first_nonfinite_f32(<const float *>p, n)
            else:
                i = first_nonfinite_f64(<const double *>p, n)
        return i
    a = np.asarray(a)
    if a.dtype.kind != "f":
        return -1
    bad = np.flatnonzero(~np.isfinite(a.reshape(-1)))
    return int(bad[0]) if bad.size else -1


def first_bad_label(t, Py_ssize_t d):
    """Flat index of the first value of t that is not an integer in [0, d), or -1."""
    cdef Py_ssize_t i
    cdef Py_ssize_t n
    cdef void *p
    cdef bint f32
    if (cnp.PyArray_Check(t) and cnp.PyArray_IS_C_CONTIGUOUS(t)
            and cnp.PyArray_TYPE(t) in (cnp.NPY_FLOAT32, cnp.NPY_FLOAT64)):
        n = cnp.PyArray_SIZE(t)
        p = cnp.PyArray_DATA(<cnp.ndarray>t)
        f32 = cnp.PyArray_TYPE(t) == cnp.NPY_FLOAT32
        with nogil:
            if f32:
                i = first_bad_label_f32(<const float *>p, n, d)
            else:
                i = first_bad_label_f64(<const double *>p, n, d)
        return i
    v = np.asarray(t, dtype=np.float64).reshape(-1)
    bad = np.flatnonzero(~((v >= 0) & (v < d) & (v == np.floor(v))))
    return int(bad[0]) if bad.size else -1
