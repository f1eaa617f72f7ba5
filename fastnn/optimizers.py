"""Keras-shaped optimizers: SGD, Adagrad, RMSprop and Adam with the Keras 3 update rules.

An optimizer holds hyperparameters. `build(params, grads, segments, backend)` turns it
into an Updater of `backend` (the module `fastnn.backend.compiled.optimizers`, compiled, or
`fastnn.backend.reference.optimizers`, its NumPy twin) working in place on a model's flat
parameter and gradient buffers; the training loop then calls `updater.apply()` once
per step. Options shared by every optimizer (Keras meanings):

- weight_decay: decoupled decay applied before the update, w = w - w * weight_decay * lr.
- clipnorm: each variable's gradient is scaled by clipnorm / max(||g_var||, clipnorm).
- global_clipnorm: all gradients are scaled by global_clipnorm / max(||g||, global_clipnorm),
  ||g|| being the norm over all parameters.
- clipvalue: every gradient entry is clipped to [-clipvalue, clipvalue].

As in Keras 3, at most one of clipnorm, clipvalue and global_clipnorm may be set. When a
gradient norm is computed (clipnorm or global_clipnorm) and is not finite, the step is
skipped: parameters, slots and iterations stay as they were.
"""

import warnings

import numpy as np

from fastnn.backend.contract.optimizers import _check_iterations, _check_real, check_slot_values

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "get", "serialize"]

# Keys of a Keras 3 optimizer config that fastnn does not implement: accepted by
# from_config() only with these neutral values.
_KERAS_ONLY = {
    "use_ema": (False,),
    "ema_momentum": None,
    "ema_overwrite_frequency": (None,),
    "loss_scale_factor": (None,),
    "gradient_accumulation_steps": (None,),
}


def _checked(owner, name, value, ok, rule):
    value = _check_real(owner, name, value)
    if not ok(value):
        raise ValueError(f"{owner} expected {name} {rule}. Received: {name}={value!r}")
    return value


def _positive(owner, name, value):
    return _checked(owner, name, value, lambda v: v > 0, "> 0")


def _unit(owner, name, value, closed_low):
    if closed_low:
        return _checked(owner, name, value, lambda v: 0 <= v < 1, "in [0, 1)")
    return _checked(owner, name, value, lambda v: 0 < v < 1, "in (0, 1)")


def _optional(owner, name, value, ok, rule):
    return None if value is None else _checked(owner, name, value, ok, rule + " or None")


def _legacy_kwargs(kwargs):
    # as Keras 3's BaseOptimizer: `decay` is ignored with a warning, anything else raises;
    # a Keras 2 spelling is named with its replacement
    if kwargs.pop("decay", None) is not None:
        warnings.warn("Argument `decay` is no longer supported and will be ignored.", stacklevel=4)
    if kwargs:
        hint = " (`lr` is now `learning_rate`)" if "lr" in kwargs else ""
        raise ValueError(f"Argument(s) not recognized: {kwargs}{hint}")


class Optimizer:
    """Base class of the fastnn optimizers (abstract: use SGD, Adagrad, RMSprop, Adam).

    Args:
        learning_rate: float > 0.
        weight_decay: float >= 0 or None. Decoupled weight decay applied before each
            update: w = w - w * weight_decay * learning_rate.
        clipnorm: float > 0 or None. Each variable's gradient g_var is scaled by
            clipnorm / max(||g_var||, clipnorm).
        clipvalue: float > 0 or None. Gradients are clipped to [-clipvalue, clipvalue].
        global_clipnorm: float > 0 or None. All gradients are scaled by
            global_clipnorm / max(||g||, global_clipnorm) (norm over all parameters).
        name: str or None.

    At most one of clipnorm, clipvalue and global_clipnorm may be set (Keras 3 rule).
    Hyperparameters other than learning_rate are read by build().
    """

    _kind = None  # Updater kind
    _default_name = None  # Keras' default name

    def __init__(
        self,
        learning_rate,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name=None,
        **kwargs,
    ):
        owner = type(self).__name__
        if type(self)._kind is None:
            raise TypeError(f"{owner} is abstract: use SGD, Adagrad, RMSprop or Adam.")
        _legacy_kwargs(kwargs)
        self._learning_rate = _positive(owner, "learning_rate", learning_rate)
        self.weight_decay = _optional(owner, "weight_decay", weight_decay, lambda v: v >= 0, ">= 0")
        self.clipnorm = _optional(owner, "clipnorm", clipnorm, lambda v: v > 0, "> 0")
        self.clipvalue = _optional(owner, "clipvalue", clipvalue, lambda v: v > 0, "> 0")
        self.global_clipnorm = _optional(
            owner, "global_clipnorm", global_clipnorm, lambda v: v > 0, "> 0"
        )
        if sum(v is not None for v in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                f"{owner} expected at most one of clipnorm, clipvalue and "
                f"global_clipnorm to be set. Received: clipnorm={clipnorm!r}, "
                f"clipvalue={clipvalue!r}, global_clipnorm={global_clipnorm!r}"
            )
        if name is not None and not isinstance(name, str):
            raise ValueError(f"{owner} expected name to be a str or None. Received: name={name!r}")
        self.name = name if name is not None else type(self)._default_name
        self._iterations = 0
        self._updater = None
        self._pending_state = None

    # -- hyperparameters -----------------------------------------------------------

    @property
    def learning_rate(self):
        """Current learning rate (float > 0); setting it also updates the built Updater."""
        if self._updater is not None:
            return self._updater.learning_rate
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        value = _positive(type(self).__name__, "learning_rate", value)
        self._learning_rate = value
        if self._updater is not None:
            self._updater.learning_rate = value

    @property
    def iterations(self):
        """Number of updates applied so far (0 before build())."""
        if self._updater is not None:
            return self._updater.iterations
        return self._iterations

    @iterations.setter
    def iterations(self, value):
        self._iterations = _check_iterations(type(self).__name__, value)
        if self._updater is not None:
            self._updater.iterations = self._iterations

    @property
    def updater(self):
        """The Updater made by the last build(), or None."""
        return self._updater

    def _hyper(self):
        """Hyperparameters of the Updater (subclasses add theirs)."""
        return {
            "learning_rate": self.learning_rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
        }

    # -- building ------------------------------------------------------------------

    def build(self, params, grads, segments, backend, trainable=None):
        """Make the Updater that trains `params` from `grads`, and return it.

        params, grads: the model's flat 1-D float32/float64 buffers (one dtype, one size).
        segments: int64 variable boundaries [0, ..., params.size] (per-variable clipnorm).
        backend: the module whose Updater to use, `fastnn.backend.compiled.optimizers` (compiled)
            or `fastnn.backend.reference.optimizers` (NumPy).
        trainable: one flag per variable (None: all); frozen variables are left alone.
        Building starts a fresh state: zero slots (Adagrad: initial_accumulator_value)
        and iterations 0.
        """
        updater_cls = getattr(backend, "Updater", None)
        if updater_cls is None:
            raise ValueError(
                f"{type(self).__name__}.build expected a backend module with an "
                f"Updater class (fastnn.backend.compiled.optimizers or "
                f"fastnn.backend.reference.optimizers). Received: backend={backend!r}"
            )
        updater = updater_cls(self._kind, params, grads, segments, self._hyper(), trainable)
        if self._pending_state is not None:  # set_state() before the model built this
            updater.set_state({**self._pending_state, "kind": self._kind})  # checks slots
            self._pending_state = None
        self._updater = updater
        self._iterations = updater.iterations
        return updater

    # -- state ---------------------------------------------------------------------

    def get_state(self):
        """The training state as plain data: {"iterations": int, "learning_rate": float,
        "slots": {name: array}} (copies of the moment/accumulator arrays, each the size of
        the model's flat parameter buffer; {} before the model's first step built them).
        set_state() takes it back; model.save() stores it."""
        if self._updater is not None:
            state = self._updater.get_state()
            return {
                "iterations": int(state["iterations"]),
                "learning_rate": float(state["learning_rate"]),
                "slots": state["slots"],
            }
        if self._pending_state is not None:
            return {
                **self._pending_state,
                "slots": {k: v.copy() for k, v in self._pending_state["slots"].items()},
            }
        return {
            "iterations": int(self._iterations),
            "learning_rate": float(self.learning_rate),
            "slots": {},
        }

    def set_state(self, state):
        """Restore a get_state() dict. On a built optimizer everything is checked against
        its slots first and then copied in; before that the state is kept (iterations and
        learning_rate checked now) and applied, slots included, when the model builds it."""
        owner = type(self).__name__
        if not isinstance(state, dict) or not {"iterations", "learning_rate", "slots"} <= set(
            state
        ):
            raise ValueError(
                f"{owner}.set_state expected a dict with iterations, "
                f"learning_rate and slots (get_state()). Received: {state!r:.200}"
            )
        if self._updater is not None:
            self._updater.set_state({**state, "kind": self._kind})
            return
        iterations = _check_iterations(owner, state["iterations"])
        learning_rate = _positive(owner, "learning_rate", state["learning_rate"])
        slots = state["slots"]
        if not isinstance(slots, dict):
            raise ValueError(
                f"{owner}.set_state expected slots as a dict of arrays. "
                f"Received: {type(slots).__name__}"
            )
        pending = {k: np.array(v) for k, v in slots.items()}
        for k, v in pending.items():  # refused now (a file: at load), not at the first step
            check_slot_values(self._kind, k, v)
        self._pending_state = {
            "iterations": iterations,
            "learning_rate": learning_rate,
            "slots": pending,
        }
        self._iterations, self._learning_rate = iterations, learning_rate

    # -- configuration -------------------------------------------------------------

    def get_config(self):
        """Constructor arguments as a dict (JSON-serialisable)."""
        return {
            "name": self.name,
            "learning_rate": self.learning_rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
        }

    @classmethod
    def from_config(cls, config):
        """A new optimizer from get_config() output. Keras-only keys (use_ema, ...) are
        accepted when they hold their neutral values."""
        if not isinstance(config, dict):
            raise ValueError(
                f"{cls.__name__}.from_config expected a dict. Received: {type(config).__name__}"
            )
        config = dict(config)
        for key, neutral in _KERAS_ONLY.items():
            if key in config:
                value = config.pop(key)
                if neutral is not None and value not in neutral:
                    raise ValueError(
                        f"{cls.__name__}.from_config expected {key} to be "
                        f"{neutral[0]!r} ({key} is not implemented in fastnn). "
                        f"Received: {key}={value!r}"
                    )
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum, Keras 3 rule.

    Without momentum:
        w = w - learning_rate * g
    With momentum (velocity slot m, zero at start):
        m = momentum * m - learning_rate * g
        w = w + m
    With nesterov=True:
        m = momentum * m - learning_rate * g
        w = w + momentum * m - learning_rate * g

    Args:
        learning_rate: float > 0. Defaults to 0.01.
        momentum: float in [0, 1). Defaults to 0.0.
        nesterov: bool. Defaults to False.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see Optimizer.
    """

    _kind = "sgd"
    _default_name = "SGD"

    def __init__(
        self,
        learning_rate=0.01,
        momentum=0.0,
        nesterov=False,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name=None,
        **kwargs,
    ):
        super().__init__(
            learning_rate,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
            **kwargs,
        )
        self.momentum = _unit("SGD", "momentum", momentum, closed_low=True)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise ValueError(f"SGD expected nesterov to be a bool. Received: nesterov={nesterov!r}")
        self.nesterov = bool(nesterov)

    def _hyper(self):
        h = super()._hyper()
        h.update(momentum=self.momentum, nesterov=self.nesterov)
        return h

    def get_config(self):
        config = super().get_config()
        config.update(momentum=self.momentum, nesterov=self.nesterov)
        return config


class Adagrad(Optimizer):
    """Adagrad, Keras 3 rule (epsilon inside the square root).

        a = a + g^2                       (accumulator a starts at initial_accumulator_value)
        w = w - learning_rate * g / sqrt(a + epsilon)

    Args:
        learning_rate: float > 0. Defaults to 0.001.
        initial_accumulator_value: float >= 0. Defaults to 0.1.
        epsilon: float > 0. Defaults to 1e-7.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see Optimizer.
    """

    _kind = "adagrad"
    _default_name = "adagrad"

    def __init__(
        self,
        learning_rate=0.001,
        initial_accumulator_value=0.1,
        epsilon=1e-7,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name=None,
        **kwargs,
    ):
        super().__init__(
            learning_rate,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
            **kwargs,
        )
        self.initial_accumulator_value = _checked(
            "Adagrad",
            "initial_accumulator_value",
            initial_accumulator_value,
            lambda v: v >= 0,
            ">= 0",
        )
        self.epsilon = _positive("Adagrad", "epsilon", epsilon)

    def _hyper(self):
        h = super()._hyper()
        h.update(initial_accumulator_value=self.initial_accumulator_value, epsilon=self.epsilon)
        return h

    def get_config(self):
        config = super().get_config()
        config.update(
            initial_accumulator_value=self.initial_accumulator_value, epsilon=self.epsilon
        )
        return config


class RMSprop(Optimizer):
    """RMSprop, Keras 3 rule (uncentered; epsilon inside the square root).

        v = rho * v + (1 - rho) * g^2
        increment = learning_rate * g / sqrt(v + epsilon)
        w = w - increment                 (momentum == 0)
    With momentum > 0 (slot m, zero at start):
        m = momentum * m + increment
        w = w - m

    Args:
        learning_rate: float > 0. Defaults to 0.001.
        rho: float in [0, 1). Defaults to 0.9.
        momentum: float in [0, 1). Defaults to 0.0.
        epsilon: float > 0. Defaults to 1e-7.
        centered: must be False (the centered variant is not implemented).
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see Optimizer.
    """

    _kind = "rmsprop"
    _default_name = "rmsprop"

    def __init__(
        self,
        learning_rate=0.001,
        rho=0.9,
        momentum=0.0,
        epsilon=1e-7,
        centered=False,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name=None,
        **kwargs,
    ):
        if centered:
            raise NotImplementedError(
                "RMSprop(centered=True) is not implemented in fastnn: "
                "use centered=False (the default)."
            )
        super().__init__(
            learning_rate,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
            **kwargs,
        )
        self.rho = _unit("RMSprop", "rho", rho, closed_low=True)
        self.momentum = _unit("RMSprop", "momentum", momentum, closed_low=True)
        self.epsilon = _positive("RMSprop", "epsilon", epsilon)
        self.centered = False

    def _hyper(self):
        h = super()._hyper()
        h.update(rho=self.rho, momentum=self.momentum, epsilon=self.epsilon)
        return h

    def get_config(self):
        config = super().get_config()
        config.update(
            rho=self.rho, momentum=self.momentum, epsilon=self.epsilon, centered=self.centered
        )
        return config


class Adam(Optimizer):
    """Adam, Keras 3 rule (epsilon added to sqrt(v), bias correction folded into alpha).

    At step t = iterations + 1 (slots m, v zero at start):
        m = m + (g - m) * (1 - beta_1)
        v = v + (g^2 - v) * (1 - beta_2)
        alpha = learning_rate * sqrt(1 - beta_2^t) / (1 - beta_1^t)
        w = w - alpha * m / (sqrt(v) + epsilon)

    Args:
        learning_rate: float > 0. Defaults to 0.001.
        beta_1: float in (0, 1). Defaults to 0.9.
        beta_2: float in (0, 1). Defaults to 0.999.
        epsilon: float > 0. Defaults to 1e-7.
        amsgrad: must be False (AMSGrad is not implemented).
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see Optimizer.
    """

    _kind = "adam"
    _default_name = "adam"

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name=None,
        **kwargs,
    ):
        if amsgrad:
            raise NotImplementedError(
                "Adam(amsgrad=True) is not implemented in fastnn: use amsgrad=False (the default)."
            )
        super().__init__(
            learning_rate,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
            **kwargs,
        )
        self.beta_1 = _unit("Adam", "beta_1", beta_1, closed_low=False)
        self.beta_2 = _unit("Adam", "beta_2", beta_2, closed_low=False)
        self.epsilon = _positive("Adam", "epsilon", epsilon)
        self.amsgrad = False

    def _hyper(self):
        h = super()._hyper()
        h.update(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)
        return h

    def get_config(self):
        config = super().get_config()
        config.update(
            beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon, amsgrad=self.amsgrad
        )
        return config


_BY_NAME = {"sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSprop, "adam": Adam}


def get(identifier):
    """An Optimizer from an Optimizer (returned as is), a name ('sgd', 'adagrad',
    'rmsprop', 'adam'; any case; default hyperparameters) or a dict
    {"class_name": ..., "config": {...}} as written by serialize()."""
    known = sorted(_BY_NAME)
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(
                f"Unknown optimizer: expected one of {known}. Received: {identifier!r}"
            )
        return cls()
    if isinstance(identifier, dict):
        class_name = identifier.get("class_name")
        cls = _BY_NAME.get(class_name.lower()) if isinstance(class_name, str) else None
        if cls is None:
            raise ValueError(
                f"Unknown optimizer: expected class_name one of "
                f"{['SGD', 'Adagrad', 'RMSprop', 'Adam']}. "
                f"Received: class_name={class_name!r}"
            )
        config = identifier.get("config", {})
        return cls.from_config(config if config is not None else {})
    raise ValueError(
        f"Could not interpret optimizer identifier: expected an Optimizer, "
        f"a name among {known} or a dict with 'class_name' and 'config'. "
        f"Received: {identifier!r}"
    )


def serialize(optimizer):
    """{"class_name": ..., "config": ...} of an optimizer (the inverse of get())."""
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"serialize expected an Optimizer. Received: {optimizer!r}")
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}
