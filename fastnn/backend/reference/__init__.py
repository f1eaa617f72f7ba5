"""Pure NumPy twins of the compiled kernels in fastnn.backend.compiled.

Same module names, function names, signatures, return values and step comments
as the Cython wrappers, so a reader can move between them mechanically. They are
the oracle of the kernel tests and the engine behind FASTNN_BACKEND=numpy.
"""
