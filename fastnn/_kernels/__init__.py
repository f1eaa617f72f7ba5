"""Compiled kernels (Cython + C). Mirrors fastnn.reference module by module."""
