"""Embedding: the compiled gather / scatter-add kernels against their NumPy twin (bit for
bit, float32 and float64, repeated indices), float64 central differences, PyTorch's
nn.Embedding (skipped without torch), the layer's Keras semantics (golden numbers from
keras/src/layers/core/embedding_test.py) and its errors: a bad index changes nothing."""

import warnings

import numpy as np
import pytest
from helpers import DTYPES, numeric_grad, train_on_both_backends

import fastnn
from fastnn.backend.compiled import embedding as c_emb
from fastnn.backend.reference import embedding as r_emb
from fastnn.layers import LSTM, Dense, Embedding, Flatten, Input

MODULES = [c_emb, r_emb]


def _case(rng, dtype, V=13, D=5, shape=(4, 9)):
    table = rng.standard_normal((V, D)).astype(dtype)
    idx = rng.integers(0, V, shape)
    idx.reshape(-1)[:4] = 3  # a repeated index: its gradient rows add up
    return table, idx


@pytest.mark.parametrize("dtype", DTYPES)
def test_functions_match_the_twin_bit_for_bit(rng, dtype):
    table, idx = _case(rng, dtype)
    dout = rng.standard_normal(idx.shape + (table.shape[1],)).astype(dtype)
    out_c, out_r = c_emb.embedding_forward(idx, table), r_emb.embedding_forward(idx, table)
    np.testing.assert_array_equal(out_c, table[idx])
    np.testing.assert_array_equal(out_c, out_r)
    d_c = c_emb.embedding_backward(idx, dout, table.shape[0])
    d_r = r_emb.embedding_backward(idx, dout, table.shape[0])
    np.testing.assert_array_equal(d_c, d_r)
    expected = np.zeros_like(table)
    for k, i in enumerate(idx.reshape(-1)):  # in input order, in the table's dtype
        expected[i] += dout.reshape(-1, table.shape[1])[k]
    np.testing.assert_array_equal(d_c, expected)
    assert not d_c[np.setdiff1d(np.arange(table.shape[0]), idx)].any()  # unused rows: 0


@pytest.mark.parametrize("mod", MODULES, ids=["compiled", "reference"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_op_forward_backward(rng, mod, dtype):
    table, idx = _case(rng, dtype)
    dtable = np.full_like(table, 7.0)  # stale values: backward overwrites, not adds
    op = mod.EmbeddingOp(table, dtable, idx.shape[1], True)
    out = op.py_forward(idx)
    np.testing.assert_array_equal(out, table[idx].reshape(len(idx), -1))
    dy = rng.standard_normal(out.shape).astype(dtype)
    dx = op.py_backward(idx, dy)
    np.testing.assert_array_equal(dx, np.zeros(idx.shape, dtype))
    np.testing.assert_array_equal(
        dtable, r_emb.embedding_backward(idx, dy.reshape(idx.shape + (-1,)), len(table))
    )
    assert mod.EmbeddingOp(table, dtable, idx.shape[1], False).py_backward(idx, dy) is None


def test_central_differences_float64(rng):
    """d/dtable of sum(tanh(embedding(idx, table)) * R): the backward of the chain rule's
    upstream gradient against float64 central differences."""
    table, idx = _case(rng, np.float64, V=6, D=3, shape=(3, 4))
    R = rng.standard_normal(idx.shape + (3,))
    for mod in MODULES:

        def f(mod=mod):
            return float(np.sum(np.tanh(mod.embedding_forward(idx, table)) * R))

        up = (1 - np.tanh(mod.embedding_forward(idx, table)) ** 2) * R
        analytic = mod.embedding_backward(idx, up, len(table))
        np.testing.assert_allclose(analytic, numeric_grad(f, table), rtol=1e-7, atol=1e-9)


def test_matches_pytorch_nn_embedding(rng):
    torch = pytest.importorskip("torch")
    table, idx = _case(rng, np.float64, V=17, D=6, shape=(5, 11))
    emb = torch.nn.Embedding(17, 6, dtype=torch.float64)
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(table))
    out = emb(torch.from_numpy(idx))
    R = rng.standard_normal(out.shape)
    (out * torch.from_numpy(R)).sum().backward()
    for mod in MODULES:
        np.testing.assert_allclose(
            mod.embedding_forward(idx, table), out.detach().numpy(), rtol=1e-10, atol=0
        )
        np.testing.assert_allclose(
            mod.embedding_backward(idx, R, 17), emb.weight.grad.numpy(), rtol=1e-10, atol=1e-12
        )


@pytest.mark.parametrize("mod", MODULES, ids=["compiled", "reference"])
@pytest.mark.parametrize("bad", [-1, 13, 1e9, np.nan, np.inf, -np.inf])
def test_bad_index_raises_and_names_it(rng, mod, bad):
    table, idx = _case(rng, np.float64)
    x = idx.astype(np.float64)
    x[2, 5] = bad
    with pytest.raises(ValueError, match=r"indices in \[0, 13\).*at position \(2, 5\)"):
        mod.embedding_forward(x, table)
    op = mod.EmbeddingOp(table, np.zeros_like(table), x.shape[1], False, name="emb")
    with pytest.raises(ValueError, match=r"^emb expected indices in \[0, 13\)"):
        op.py_forward(x)


@pytest.mark.parametrize("mod", MODULES, ids=["compiled", "reference"])
def test_float_indices_are_truncated_as_keras_casts_them(rng, mod):
    table, _ = _case(rng, np.float32)
    np.testing.assert_array_equal(
        mod.embedding_forward(np.array([3.7, 0.2, -0.5, 12.99]), table), table[[3, 0, 0, 12]]
    )


@pytest.mark.parametrize("mod", MODULES, ids=["compiled", "reference"])
def test_table_checks(mod):
    with pytest.raises(ValueError, match="same floating dtype|float32 or float64|dtype"):
        mod.embedding_forward([1], np.zeros((3, 2), np.int64))
    with pytest.raises(ValueError, match=r"V, D >= 1"):
        mod.embedding_forward([0], np.zeros((0, 2), np.float32))
    big = np.lib.stride_tricks.as_strided(np.zeros(1, np.float32), (2**24 + 1, 1), (0, 4))
    with pytest.raises(ValueError, match=r"2\*\*24 rows"):
        mod.embedding_forward([0], big)


# ---- the layer ---------------------------------------------------------------------


def test_keras_correctness_golden(backend):
    """keras/src/layers/core/embedding_test.py::test_correctness: rows [0,0],[2,2],[3,3]
    looked up by [2, 1, 0]."""
    weights = np.array([[0.0, 0.0], [2.0, 2.0], [3.0, 3.0]])
    model = fastnn.Sequential([Embedding(input_dim=3, output_dim=2, weights=weights)])
    out = model.predict(np.array([[2, 1, 0]]), verbose=0)
    np.testing.assert_array_equal(out, [[[3.0, 3.0], [2.0, 2.0], [0.0, 0.0]]])
    # weights=[array] as well (test_weights_constructor_arg)
    layer = Embedding(3, 4, weights=[np.ones((3, 4))])
    model = fastnn.Sequential([Input(shape=(2,)), layer])
    np.testing.assert_array_equal(model.get_weights()[0], np.ones((3, 4)))


def test_shapes_config_and_summary():
    model = fastnn.Sequential([Input(shape=(7,)), Embedding(50, 4), Flatten(), Dense(1)])
    model.build()
    assert model.layers[0].output_shape == (7, 4)
    assert model.count_params() == 50 * 4 + 7 * 4 + 1
    layer = Embedding(10, 3, embeddings_initializer="zeros", name="words")
    clone = Embedding.from_config(layer.get_config())
    assert (clone.input_dim, clone.output_dim, clone.name) == (10, 3, "words")
    assert type(clone.embeddings_initializer).__name__ == "Zeros"
    # Keras' default initializer: uniform in [-0.05, 0.05]
    w = fastnn.Sequential([Input(shape=(3,)), Embedding(400, 25)]).get_weights()[0]
    assert -0.05 <= w.min() < -0.04 and 0.04 < w.max() <= 0.05


@pytest.mark.parametrize("bad", [3.7, 4.0, "3", None, True, False, -1, 0])
def test_invalid_dims(bad):
    # keras/src/layers/core/embedding_test.py::test_invalid_input_dim / _output_dim
    with pytest.raises(ValueError, match="Embedding expected input_dim as a positive int"):
        Embedding(input_dim=bad, output_dim=8)
    with pytest.raises(ValueError, match="Embedding expected output_dim as a positive int"):
        Embedding(input_dim=10, output_dim=bad)


def test_numpy_integer_dims_are_accepted():
    # deliberate difference: Keras 3 rejects np.int64 dims (isinstance(int) check); fastnn
    # takes any integer, as its other layers do
    layer = Embedding(np.int64(5), np.int32(2))
    assert (layer.input_dim, layer.output_dim) == (5, 2)
    assert type(layer.input_dim) is int


def test_unsupported_arguments_say_so():
    assert Embedding(10, 2, mask_zero=True).get_config()["mask_zero"] is True  # see test_masking
    with pytest.raises(NotImplementedError, match="embeddings_regularizer"):
        Embedding(10, 2, embeddings_regularizer="l2")
    with pytest.raises(ValueError, match=r"weights of shape \(10, 2\)"):
        Embedding(10, 2, weights=np.ones((2, 10)))
    with pytest.warns(UserWarning, match="input_length"):
        Embedding(10, 2, input_length=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Embedding(10, 2)


def test_bad_index_in_training_changes_nothing(backend, rng):
    model = fastnn.Sequential([Embedding(20, 4), LSTM(3), Dense(1)])
    model.compile("adam", "mse")
    x = rng.integers(0, 20, (8, 6))
    y = rng.standard_normal((8, 1)).astype(np.float32)
    model.train_on_batch(x, y)
    weights, iterations = model.get_weights(), model.optimizer.iterations
    x[3, 2] = 20
    with pytest.raises(ValueError, match=r"^embedding\w* expected indices in \[0, 20\)"):
        model.train_on_batch(x, y)
    with pytest.raises(ValueError, match=r"expected indices in \[0, 20\)"):
        model.fit(x, y, epochs=1, verbose=0)
    assert model.optimizer.iterations == iterations
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_backends_train_the_same(rng):
    x = rng.integers(0, 30, (64, 10))
    y = rng.standard_normal((64, 1))
    a, b = train_on_both_backends(
        lambda: [Embedding(30, 8), LSTM(6), Dense(1)], x, y, seed=3, epochs=3, batch_size=16
    )
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-10, atol=1e-12)


def test_learns_which_words_matter(rng):
    """Fixed-length sequences of 20 words from 100; positive when any of three signal
    words occurs. Embedding + LSTM reaches >= 0.9 training accuracy."""
    x = rng.integers(1, 100, (1024, 20))
    y = np.isin(x, [7, 8, 9]).any(axis=1).astype(np.float32)
    model = fastnn.Sequential([Embedding(100, 16), LSTM(16), Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] >= 0.9, history.history["accuracy"]


def test_save_and_load_round_trip(tmp_path, rng):
    model = fastnn.Sequential([Embedding(12, 3), Flatten(), Dense(2)])
    model.compile("sgd", "mse")
    x = rng.integers(0, 12, (5, 4))
    before = model.predict(x, verbose=0)
    model.save(tmp_path / "m.fastnn")
    again = fastnn.load_model(tmp_path / "m.fastnn")
    np.testing.assert_array_equal(again.predict(x, verbose=0), before)
