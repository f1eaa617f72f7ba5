"""What the compiled kernels and their NumPy twins share: argument checks, constants and
the function-level helpers built on top of either implementation.

Plain Python that imports only NumPy and its own modules, so importing it never loads
compiled code, and nothing in it imports from the layers, the model or the backend
above it (tests/test_layout.py checks this).
"""
