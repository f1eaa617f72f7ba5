"""Argument checks and errors of a Net (a whole training step), shared by
fastnn/backend/compiled/network.pyx and its NumPy twin fastnn/backend/reference/network.py."""


def net_args(ops, metrics, dtype, max_metrics):
    """Checks of a Net's ops and metrics (both backends)."""
    if not ops:
        raise ValueError("Net expected at least one op. Received: ops=[]")
    if len(metrics) > max_metrics:
        raise ValueError(f"Net expected at most {max_metrics} metrics. Received: {len(metrics)}")
    for op in ops:
        if op.dtype != dtype:
            raise ValueError(f"Net expected ops of dtype {dtype}. Received: {op.dtype}")
    for a, b in zip(ops[:-1], ops[1:]):
        if a.out_size != b.in_size:
            raise ValueError(
                f"Net expected each op's input size to match the previous "
                f"output size. Received: {a.out_size} -> {b.in_size}"
            )


# The step's own guards stay inline in each backend (they run every step); only the
# error, built when a guard fails, is shared.
def array_error(name, dtype, size, a):
    """A step argument that is not a C-contiguous array of the Net's dtype and size."""
    return ValueError(
        f"Net expected {name} as a C-contiguous {dtype} array of {size} elements. "
        f"Received: {type(a).__name__} {getattr(a, 'dtype', '')} {getattr(a, 'shape', '')}"
    )


def empty_batch_error(n):
    return ValueError(f"Net expected x with at least one sample. Received: {n} rows")


def check_loss_mask(op, out_steps):
    """A Net's loss_mask: None, or an op whose forward writes an (n, out_steps) mask."""
    if op is None:
        return
    if op.mask_steps != out_steps:
        raise ValueError(
            f"Net expected loss_mask to write a mask of {out_steps} steps per sample (the "
            f"output's). Received: {type(op).__name__} with {op.mask_steps} steps"
        )
