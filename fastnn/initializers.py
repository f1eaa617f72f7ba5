"""Weight initializers with Keras names and formulas.

Each is a callable `init(shape, dtype, rng)` drawing from a numpy Generator, so a
model's seed fixes every initial weight. Fan-in / fan-out follow Keras: for a
(n_in, n_out) kernel fan_in = n_in, fan_out = n_out.
"""

import math

import numpy as np


def _fans(shape):
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2]) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    def __call__(self, shape, dtype, rng):
        raise NotImplementedError

    def get_config(self):
        return {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    def __call__(self, shape, dtype, rng):
        return np.zeros(shape, dtype)


class Ones(Initializer):
    def __call__(self, shape, dtype, rng):
        return np.ones(shape, dtype)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = float(value)

    def __call__(self, shape, dtype, rng):
        return np.full(shape, self.value, dtype)

    def get_config(self):
        return {"value": self.value}


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05):
        self.minval, self.maxval = float(minval), float(maxval)

    def __call__(self, shape, dtype, rng):
        return rng.uniform(self.minval, self.maxval, shape).astype(dtype)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval}


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05):
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape, dtype, rng):
        return rng.normal(self.mean, self.stddev, shape).astype(dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev}


class VarianceScaling(Initializer):
    """scale / fan (fan_in, fan_out or their average); uniform on [-l, l] with
    l = sqrt(3 * scale / fan), or a normal truncated at 2 sd with sd corrected
    by 0.8796 as Keras does."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal"):
        # as Keras (random_initializers.py): a scale of 0 or less has no variance to scale
        if isinstance(scale, bool) or not isinstance(scale, (int, float, np.number)):
            raise ValueError(f"VarianceScaling expected scale as a float. Received: {scale!r}")
        if not scale > 0:
            raise ValueError(f"Argument `scale` must be positive float. Received: scale={scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(
                f"VarianceScaling expected mode 'fan_in', 'fan_out' or 'fan_avg'. "
                f"Received: mode={mode!r}"
            )
        if distribution not in ("uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError(
                "VarianceScaling expected distribution 'uniform', 'truncated_normal' "
                f"or 'untruncated_normal'. Received: distribution={distribution!r}"
            )
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def __call__(self, shape, dtype, rng):
        fan_in, fan_out = _fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        var = self.scale / max(1.0, fan)
        if self.distribution == "uniform":
            lim = np.sqrt(3.0 * var)
            return rng.uniform(-lim, lim, shape).astype(dtype)
        if self.distribution == "untruncated_normal":
            return rng.normal(0.0, np.sqrt(var), shape).astype(dtype)
        sd = np.sqrt(var) / 0.87962566103423978
        out = rng.normal(0.0, sd, shape)
        bad = np.abs(out) > 2 * sd
        while bad.any():  # redraw outside two standard deviations
            out[bad] = rng.normal(0.0, sd, int(bad.sum()))
            bad = np.abs(out) > 2 * sd
        return out.astype(dtype)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution}


class GlorotUniform(VarianceScaling):
    def __init__(self):
        super().__init__(1.0, "fan_avg", "uniform")

    def get_config(self):
        return {}


class GlorotNormal(VarianceScaling):
    def __init__(self):
        super().__init__(1.0, "fan_avg", "truncated_normal")

    def get_config(self):
        return {}


class HeUniform(VarianceScaling):
    def __init__(self):
        super().__init__(2.0, "fan_in", "uniform")

    def get_config(self):
        return {}


class HeNormal(VarianceScaling):
    def __init__(self):
        super().__init__(2.0, "fan_in", "truncated_normal")

    def get_config(self):
        return {}


class LecunUniform(VarianceScaling):
    def __init__(self):
        super().__init__(1.0, "fan_in", "uniform")

    def get_config(self):
        return {}


class LecunNormal(VarianceScaling):
    def __init__(self):
        super().__init__(1.0, "fan_in", "truncated_normal")

    def get_config(self):
        return {}


class Orthogonal(Initializer):
    """Orthogonal matrix (QR of a normal draw, signs fixed by diag(R)) times gain."""

    def __init__(self, gain=1.0):
        self.gain = float(gain)

    def __call__(self, shape, dtype, rng):
        rows = math.prod(shape[:-1]) if len(shape) > 1 else 1
        cols = shape[-1]
        a = rng.normal(0.0, 1.0, (max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return np.ascontiguousarray((self.gain * q[:rows, :cols]).reshape(shape), dtype=dtype)

    def get_config(self):
        return {"gain": self.gain}


_NAMES = {
    "zeros": Zeros,
    "ones": Ones,
    "constant": Constant,
    "random_uniform": RandomUniform,
    "random_normal": RandomNormal,
    "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform,
    "he_normal": HeNormal,
    "lecun_uniform": LecunUniform,
    "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal,
}
_CLASSES = {cls.__name__: name for name, cls in _NAMES.items()}
# Keras' short aliases ("uniform" is Embedding's default: RandomUniform(-0.05, 0.05))
_NAMES.update(uniform=RandomUniform, normal=RandomNormal, one=Ones, zero=Zeros)


def get(identifier):
    """An Initializer from an instance, a Keras name ('glorot_uniform', 'GlorotUniform',
    'zeros', ...) or a {"class_name", "config"} dict; None stays None (as Keras)."""
    if identifier is None:
        return None
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, dict):
        cls = get(identifier.get("class_name"))
        return type(cls)(**identifier.get("config", {}))
    if isinstance(identifier, str):
        key = _CLASSES.get(identifier, identifier.lower())
        if key in _NAMES:
            return _NAMES[key]()
    raise ValueError(
        f"unknown initializer {identifier!r}. Expected an Initializer or one of {sorted(_NAMES)}"
    )


def for_weight(identifier):
    """A layer's initializer argument: get(identifier), None meaning glorot_uniform (what
    Keras' add_weight draws a float weight with when given no initializer)."""
    init = get(identifier)
    return GlorotUniform() if init is None else init


def serialize(init):
    return {"class_name": type(init).__name__, "config": init.get_config()}
