"""SimpleRNN, LSTM and GRU with Keras arguments, trained with BPTT in compiled kernels.

Weights use fastnn's layout (docs/architecture.md, "Numerics"): kernel (F, gH), recurrent_kernel
(H, gH), gate blocks i,f,g,o (LSTM) and r,z,n (GRU); SimpleRNN and LSTM have one
bias (gH,), GRU two: bias_ih and bias_hh (3H,) each, because the hidden bias of n
sits inside r * (h U_n + b_hn). fastnn.convert speaks the Keras and PyTorch layouts.

Inside a Sequential a layer takes (batch, timesteps, features) and returns the last
hidden state (batch, units), or every state (batch, timesteps, units) with
return_sequences=True. Called directly, `layer(x, initial_state=[h0, (c0)])` runs
one forward (with return_state=True it also returns the final states) and
`layer.backward(dy, d_states)` its backward: parameter gradients land in
`layer.grads` and the initial states' gradients are returned.
"""

import numpy as np

from fastnn import _data, initializers
from fastnn import activations as _activations
from fastnn import backend as _backend
from fastnn.layers.base import Layer


class _Recurrent(Layer):
    gates = 1
    op_name = None

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        dropout=0.0,
        recurrent_dropout=0.0,
        unroll=False,
        zero_output_for_mask=False,
        seed=None,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = type(self).__name__
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(
                f"{name} expected units to be a positive int. Received: units={units!r}"
            )
        for arg, val in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if isinstance(val, bool) or not isinstance(val, (int, float, np.floating)):
                raise ValueError(f"{name} expected {arg} as a float. Received: {arg}={val!r}")
        # as Keras: clamped to [0, 1], applied in training when 0 < rate < 1
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        # Keras' cell implementation: 2 (one input mask, ahead of the loop), or 1 (one mask
        # per gate for the inputs and the states, in the loop), which recurrent_dropout
        # forces (LSTM and GRU take implementation=...)
        self.implementation = 1 if self.recurrent_dropout != 0 else 2
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0
        ):
            raise ValueError(
                f"{name} expected seed as a non-negative int or None. Received: seed={seed!r}"
            )
        self.seed = None if seed is None else int(seed)
        for arg, val in (
            ("kernel_regularizer", kernel_regularizer),
            ("recurrent_regularizer", recurrent_regularizer),
            ("bias_regularizer", bias_regularizer),
        ):
            if val is not None:
                raise NotImplementedError(f"{name}({arg}=...) is not supported yet")
        self.units = int(units)
        self.activation = _activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.for_weight(kernel_initializer)
        self.recurrent_initializer = initializers.for_weight(recurrent_initializer)
        self.bias_initializer = initializers.for_weight(bias_initializer)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        if self.zero_output_for_mask and not self.return_sequences:
            raise NotImplementedError(
                f"{name}(zero_output_for_mask=True) needs return_sequences=True in fastnn "
                "(it zeroes the masked steps of the sequence output)"
            )
        self._op = None
        self._op_backend = None

    # ------------------------------------------------------------ shapes and weights
    def _check_input(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                f"{type(self).__name__} expected input of shape (timesteps, "
                f"features) per sample. Received: {tuple(input_shape)}"
            )

    def weight_specs(self, input_shape):
        self._check_input(input_shape)
        gh = self.gates * self.units
        specs = [
            ("kernel", (input_shape[-1], gh), self.kernel_initializer),
            ("recurrent_kernel", (self.units, gh), self.recurrent_initializer),
        ]
        if self.use_bias:
            specs += self._bias_specs()
        return specs

    def _bias_specs(self):
        return [("bias", (self.gates * self.units,), self.bias_initializer)]

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        if self.return_sequences:
            return (input_shape[0], self.units)
        return (self.units,)

    # ------------------------------------------------------------ ops
    def make_ops(self, backend, need_dx, fuse_activation, seed):
        if self.return_state:
            raise ValueError(
                f"{self.name}: return_state=True is for calling the layer "
                f"directly; inside a Sequential the layer has one output"
            )
        op = self._new_op(backend, need_dx)
        op.carry_state = self.stateful
        op.zero_output = self.zero_output_for_mask
        old = self._op
        if self.stateful and old is not None and old.h0 is not None:
            # a new Net (backend switch, another input length): the state carries on
            op.set_initial_state(old.h0, old.c0)
        self._op, self._op_backend = op, backend
        self._last_direct = False
        rate = self.dropout if 0 < self.dropout < 1 else 0.0
        recurrent_rate = self.recurrent_dropout if 0 < self.recurrent_dropout < 1 else 0.0
        if rate or recurrent_rate:
            # Keras: implementation=2 (the default) masks the input once, one (n, F) mask
            # for every gate; implementation=1 (which recurrent_dropout forces) one mask
            # per gate for the inputs and one per gate for the states. All are drawn per
            # batch and the same at every step, inside the op's loop (set_dropout).
            seed = seed if self.seed is None else self.seed
            op.set_dropout(rate, recurrent_rate, seed, per_gate=self.implementation == 1)
        return [op]

    def _new_op(self, backend, need_dx):
        W, U = self.weights[:2]
        dW, dU = self.grads[:2]
        b = self.weights[2] if self.use_bias else None
        db = self.grads[2] if self.use_bias else None
        T = self.input_shape[0]
        cls = getattr(backend("recurrent"), self.op_name)
        return cls(W, U, b, dW, dU, db, T, self.return_sequences, need_dx, self.go_backwards)

    def wire_mask(self, ops, mask_src):
        # the time loop honours the input's mask; the output carries it on only as a
        # sequence (Keras' RNN.compute_mask)
        ops[-1].mask_src = mask_src
        return mask_src if self.return_sequences else None

    def reset_states(self, states=None):
        """Stateful layers: forget the carried state (or set it to `states`), in the
        model's step and in direct calls."""
        for op in (self._op, self._call_op):
            if op is not None:
                if states is None:
                    op.set_initial_state(None)
                else:
                    op.set_initial_state(*states)

    def reset_state(self, states=None):
        """Keras 3's name of reset_states."""
        self.reset_states(states)

    @property
    def states(self):
        """The state a stateful layer carries into its next batch: [h] (LSTM: [h, c]) as
        copies, from the model's step or, when the layer was last called directly, from
        that call; None before any batch (the next one then starts from zeros)."""
        for op in (self._call_op, self._op) if self._last_direct else (self._op, self._call_op):
            if op is not None and op.h0 is not None:
                held = [op.h0] if op.c0 is None else [op.h0, op.c0]
                return [a.copy() for a in held]
        return None

    # ------------------------------------------------------------ direct calls
    def __call__(self, x, initial_state=None, training=False, mask=None):
        """Run the layer on x (n, T, F) (built on first call). Returns the output, and
        with return_state=True a list [output, h_T] (LSTM: [output, h_T, c_T]).
        mask: (n, T) booleans, False at the steps to skip (their state is carried)."""
        x = np.asarray(x)
        dtype = (
            x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(self.dtype or "float32")
        )
        if x.ndim != 3:
            raise ValueError(
                f"{type(self).__name__} expected x of shape (n, timesteps, "
                f"features). Received: x.shape={x.shape}"
            )
        if not self.weights:
            self._build_standalone(x.shape[1:], dtype)
        x = _data.as_float_array(x, "x", self.weights[0].dtype)
        if tuple(x.shape[1:]) != tuple(self.input_shape):
            raise ValueError(
                f"{self.name} expected x of shape (n, {self.input_shape[0]}, "
                f"{self.input_shape[1]}). Received: x.shape={x.shape}"
            )
        _data.check_finite(x, "x")
        if training and (0 < self.dropout < 1 or 0 < self.recurrent_dropout < 1):
            raise NotImplementedError(
                f"{self.name}: dropout or recurrent_dropout in a direct call with "
                "training=True is not supported yet (inside a model it is)"
            )
        backend = _backend.get_backend()
        if self._call_op is None or self._call_backend != backend:
            kernels = lambda name: _backend.kernels(name, backend)  # noqa: E731
            self._call_op, self._call_backend = self._new_op(kernels, True), backend
        op = self._call_op
        op.carry_state = self.stateful  # stateful: each call starts where the last ended
        op.zero_output = self.zero_output_for_mask
        op.set_input_mask(mask)
        if initial_state is None:
            states = []
        elif isinstance(initial_state, np.ndarray):  # a bare array: the one state h0
            states = [initial_state]
        else:
            states = list(initial_state)
        if len(states) not in (0, self._n_states):
            raise ValueError(
                f"{self.name} expected initial_state as a list of "
                f"{self._n_states} arrays of shape (n, {self.units}). "
                f"Received: {len(states)} arrays"
            )
        if states:
            op.set_initial_state(*states)
        elif not self.stateful:
            op.set_initial_state(None)
        out = op.py_forward(x, training)
        self._last_direct = True
        out = out.reshape((len(x),) + self.compute_output_shape(self.input_shape))
        if self.return_state:
            return [out, *op.final_state()]
        return out

    def backward(self, dy, d_states=None):
        """Backward of the last direct call. dy: gradient of the output (None for
        zero); d_states: gradients of the final states ([dh_T] or [dh_T, dc_T]).
        Parameter gradients go to self.grads. Returns (dx, [dh0] or [dh0, dc0])."""
        op = self._call_op
        if op is None:
            raise RuntimeError(f"{self.name}.backward() needs a direct call first")
        n = op.last_rows()
        dt = self.weights[0].dtype
        dhs = dh_last = dc_last = None
        if dy is not None:
            dy = _data.as_float_array(dy, "dy", dt)
            if self.return_sequences:
                dhs = dy
            else:
                dh_last = dy
        if d_states is not None:
            d_states = [
                None if d is None else _data.as_float_array(d, "d_states", dt) for d in d_states
            ]
            if d_states and d_states[0] is not None:
                dh_last = d_states[0] if dh_last is None else dh_last + d_states[0]
            if len(d_states) > 1:
                dc_last = d_states[1]
        if dhs is None:
            dhs = np.zeros((n, self.input_shape[0], self.units), dt)
        dx = op.py_backward_full(dhs, dh_last, dc_last)
        return dx, list(op.initial_state_grad())

    _call_op = None
    _call_backend = None
    _last_direct = False

    @property
    def _n_states(self):
        return 1

    def _build_standalone(self, input_shape, dtype):
        """Own weight arrays for direct calls outside a model."""
        from fastnn import _random

        self.input_shape = tuple(input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)
        self.dtype_ = np.dtype(dtype)
        rng = np.random.default_rng(_random.draw_seed())
        self.weights = [
            np.ascontiguousarray(init(shape, dtype, rng), dtype=dtype)
            for _, shape, init in self.weight_specs(input_shape)
        ]
        self.grads = [np.zeros_like(w) for w in self.weights]

    # ------------------------------------------------------------ config
    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": self.activation,
            "use_bias": self.use_bias,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "zero_output_for_mask": self.zero_output_for_mask,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        }


class SimpleRNN(_Recurrent):
    """h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias); activation
    'tanh' (default) or 'relu'."""

    op_name = "SimpleRNNOp"

    def __init__(self, units, activation="tanh", **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        if self.activation not in ("tanh", "relu"):
            raise ValueError(
                f"SimpleRNN expected activation 'tanh' or 'relu'. "
                f"Received: activation={activation!r}"
            )

    def _new_op(self, backend, need_dx):
        W, U = self.weights[:2]
        dW, dU = self.grads[:2]
        b = self.weights[2] if self.use_bias else None
        db = self.grads[2] if self.use_bias else None
        return backend("recurrent").SimpleRNNOp(
            W,
            U,
            b,
            dW,
            dU,
            db,
            self.input_shape[0],
            self.activation,
            self.return_sequences,
            need_dx,
            self.go_backwards,
        )


def _implementation(name, kwargs):
    # Keras' LSTM / GRU implementation=1 or 2 (default 2; recurrent_dropout forces 1): how
    # dropout masks the gates. Not in the config, as in Keras.
    value = kwargs.pop("implementation", 2)
    if value not in (1, 2) or isinstance(value, bool):
        raise ValueError(f"{name} expected implementation 1 or 2. Received: {value!r}")
    return int(value)


class LSTM(_Recurrent):
    """Long short-term memory, gate blocks i, f, g, o (as Keras and PyTorch):
    c_t = f*c_{t-1} + i*g, h_t = o*tanh(c_t). unit_forget_bias=True starts the forget
    gate's bias at 1."""

    gates = 4
    op_name = "LSTMOp"

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        unit_forget_bias=True,
        **kwargs,
    ):
        if activation not in ("tanh", None) and _activations.name_of(activation) != "tanh":
            raise NotImplementedError("LSTM supports activation='tanh' only")
        if _activations.name_of(recurrent_activation) != "sigmoid":
            raise NotImplementedError("LSTM supports recurrent_activation='sigmoid' only")
        implementation = _implementation("LSTM", kwargs)
        super().__init__(units, activation="tanh", **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.implementation = min(self.implementation, implementation)

    def _bias_specs(self):
        H, init, forget = self.units, self.bias_initializer, self.unit_forget_bias

        class _LSTMBias(initializers.Initializer):
            def __call__(self, shape, dtype, rng):
                b = init(shape, dtype, rng)
                if forget:
                    b[H : 2 * H] = 1  # the forget gate starts open (Keras unit_forget_bias)
                return b

        return [("bias", (4 * H,), _LSTMBias())]

    @property
    def _n_states(self):
        return 2

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


class GRU(_Recurrent):
    """Gated recurrent unit, PyTorch / Keras reset_after=True form, gate blocks r, z, n:
    n = tanh(x W_n + b_in + r * (h U_n + b_hn)), h_t = (1-z)*n + z*h_{t-1}.
    Two biases: bias_ih and bias_hh, (3*units,) each."""

    gates = 3
    op_name = "GRUOp"

    def __init__(
        self, units, activation="tanh", recurrent_activation="sigmoid", reset_after=True, **kwargs
    ):
        if not reset_after:
            raise NotImplementedError("GRU supports reset_after=True only (the PyTorch form)")
        if _activations.name_of(activation) != "tanh":
            raise NotImplementedError("GRU supports activation='tanh' only")
        if _activations.name_of(recurrent_activation) != "sigmoid":
            raise NotImplementedError("GRU supports recurrent_activation='sigmoid' only")
        implementation = _implementation("GRU", kwargs)
        super().__init__(units, activation="tanh", **kwargs)
        self.implementation = min(self.implementation, implementation)

    def _bias_specs(self):
        return [
            ("bias_ih", (3 * self.units,), self.bias_initializer),
            ("bias_hh", (3 * self.units,), self.bias_initializer),
        ]

    def _new_op(self, backend, need_dx):
        W, U = self.weights[:2]
        dW, dU = self.grads[:2]
        b_ih, b_hh = (self.weights[2], self.weights[3]) if self.use_bias else (None, None)
        db_ih, db_hh = (self.grads[2], self.grads[3]) if self.use_bias else (None, None)
        return backend("recurrent").GRUOp(
            W,
            U,
            b_ih,
            b_hh,
            dW,
            dU,
            db_ih,
            db_hh,
            self.input_shape[0],
            self.return_sequences,
            need_dx,
            self.go_backwards,
        )
