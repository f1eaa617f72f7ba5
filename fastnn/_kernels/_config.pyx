# Build-time facts, compiled in so show_config() reports what was really built.
cdef extern from *:
    """
    #ifndef FASTNN_OPENMP
    #define FASTNN_OPENMP 0
    #endif
    """
    int FASTNN_OPENMP

OPENMP = bool(FASTNN_OPENMP)
