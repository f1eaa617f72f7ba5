"""Compiled kernels (Cython + C). Mirrors fastnn.backend.reference module by module."""
