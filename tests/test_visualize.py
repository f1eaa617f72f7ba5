"""fastnn.visualize: every plot rendered with Agg to a file, and checked for what
was drawn (artists counted by their gid), not only for pixels."""

import os
import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")

import fastnn  # noqa: E402
from fastnn import visualize  # noqa: E402
from fastnn.layers import GRU, LSTM, Dense, Dropout, Input, SimpleRNN  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------
# helpers


def artists(fig, gid):
    return fig.findobj(lambda a: a.get_gid() == gid)


def assert_png(path):
    """path is a valid PNG with a real drawing on it (not one flat colour)."""
    import matplotlib.image

    with open(path, "rb") as fh:
        assert fh.read(8) == PNG_SIGNATURE
    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    rgb = img[..., :3]
    background = np.all(np.abs(rgb - 1.0) < 1e-3, axis=-1)  # saved on white
    assert 0.02 < 1 - background.mean() < 0.995, "expected a drawing on a white background"
    dark = np.all(rgb < 0.35, axis=-1)
    assert dark.mean() > 0.001, "expected dark strokes (text, edges)"


def no_leftovers(folder, expected):
    assert sorted(os.listdir(folder)) == sorted(expected), "temporary files left behind"


def no_pyplot_figures():
    if "matplotlib.pyplot" in sys.modules:
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []


def mlp(sizes, activations=None, build=True, seed=0):
    fastnn.set_seed(seed)
    acts = activations or ["relu"] * (len(sizes) - 2) + ["sigmoid"]
    model = fastnn.Sequential(
        [Input(shape=(sizes[0],))] + [Dense(n, activation=a) for n, a in zip(sizes[1:], acts)]
    )
    if build:
        model.build()
    return model


# ---------------------------------------------------------------------------
# import


@pytest.mark.slow
def test_importing_fastnn_does_not_import_matplotlib():
    code = (
        "import sys, fastnn, fastnn.visualize, fastnn.cli, fastnn.cli.demo, "
        "fastnn.cli.train, fastnn.__main__; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------------------
# plot_model


def test_plot_model_2_3_1_draws_6_neurons_and_9_connections(tmp_path):
    model = mlp([2, 3, 1])
    path = tmp_path / "model.png"
    fig = visualize.plot_model(model, to_file=path)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(artists(fig, "neuron")) == 6
    assert len(artists(fig, "connection")) == 9
    assert artists(fig, "layer") == []
    assert_png(path)
    no_leftovers(tmp_path, ["model.png"])
    no_pyplot_figures()


def test_plot_model_connection_width_follows_weight_magnitude():
    model = mlp([2, 3, 1])
    fig = visualize.plot_model(model)
    widths = np.array([line.get_linewidth() for line in artists(fig, "connection")])
    w1, _, w2, _ = model.get_weights()
    magnitude = np.concatenate([np.abs(w1).ravel(), np.abs(w2).ravel()])  # drawing order
    order = np.argsort(magnitude, kind="stable")
    assert np.all(np.diff(widths[order]) >= -1e-9)
    assert widths.max() > 2 * widths.min()


def test_plot_model_neuron_positions_form_columns():
    model = mlp([2, 3, 1])
    fig = visualize.plot_model(model)
    xs = [round(c.center[0], 6) for c in artists(fig, "neuron")]
    assert sorted({x: xs.count(x) for x in xs}.values()) == [1, 2, 3]


def test_plot_model_folds_dropout_and_does_not_build():
    fastnn.set_seed(0)
    model = fastnn.Sequential(
        [
            Input(shape=(4,)),
            Dense(5, activation="relu"),
            Dropout(0.5),
            Dense(2, activation="softmax"),
        ]
    )
    fig = visualize.plot_model(model)
    assert len(artists(fig, "neuron")) == 4 + 5 + 2
    assert len(artists(fig, "connection")) == 4 * 5 + 5 * 2
    assert not model.built  # drawn from the configs, the model is untouched
    texts = " ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))
    assert "Dropout" in texts and "(None, 5)" in texts and "25 params" in texts
    assert "37 parameters" in texts


def test_plot_model_big_model_draws_labelled_blocks(tmp_path):
    fastnn.set_seed(0)
    model = fastnn.Sequential(
        [
            Input(shape=(64,)),
            Dense(64, activation="relu"),
            Dropout(0.2),
            Dense(32, activation="relu"),
            Dense(10, activation="softmax"),
        ]
    )
    model.build()
    fig = visualize.plot_model(model, to_file=tmp_path / "big.svg")
    assert artists(fig, "neuron") == [] and artists(fig, "connection") == []
    assert len(artists(fig, "layer")) == len(model.layers) == 4
    assert len(artists(fig, "input")) == 1
    labels = [t.get_text() for t in artists(fig, "layer_label")]
    assert len(labels) == 4
    for layer, label in zip(model.layers, labels):
        assert f"{layer.name} ({type(layer).__name__})" in label
        assert f"output {(None,) + tuple(layer.output_shape)}" in label
        assert f"{layer.count_params():,} params" in label
    assert "64 units, relu" in labels[0] and "rate 0.2" in labels[1]
    assert "10 units, softmax" in labels[3]
    assert "(None, 64)" in artists(fig, "input_label")[0].get_text()
    title = fig.texts[0].get_text() if fig.texts else ""
    assert f"{model.count_params():,} parameters" in title
    with open(tmp_path / "big.svg", "rb") as fh:
        assert b"<svg" in fh.read(2000)


def test_plot_model_options_and_max_neurons():
    model = mlp([2, 3, 1])
    fig = visualize.plot_model(model, max_neurons=2)  # 3 units > 2: blocks
    assert len(artists(fig, "layer")) == 2 and artists(fig, "neuron") == []
    fig = visualize.plot_model(mlp([64, 32, 10]), show_shapes=False, show_params=False)
    labels = " ".join(t.get_text() for t in artists(fig, "layer_label"))
    assert "output" not in labels and "params" not in labels
    assert "32 units, relu" in labels


def test_plot_model_twenty_layers_all_drawn(tmp_path):
    model = mlp([16] + [20] * 19 + [1])
    fig = visualize.plot_model(model, to_file=tmp_path / "deep.png")
    assert len(artists(fig, "layer")) == 20
    labels = [t.get_text() for t in artists(fig, "layer_label")]
    assert [l.split(" ")[0] for l in labels] == [layer.name for layer in model.layers]
    # laid out in several columns so it stays readable
    xs = {round(p.get_x(), 3) for p in artists(fig, "layer")}
    assert len(xs) >= 2
    assert_png(tmp_path / "deep.png")


def test_plot_model_recurrent_layers_get_a_loop_arrow():
    model = fastnn.Sequential(
        [Input(shape=(20, 3)), LSTM(8, return_sequences=True), GRU(6), Dense(1)]
    )
    fig = visualize.plot_model(model)
    assert len(artists(fig, "layer")) == 3
    assert len(artists(fig, "recurrent_loop")) == 2
    labels = [t.get_text() for t in artists(fig, "layer_label")]
    assert "(LSTM)" in labels[0] and "return_sequences" in labels[0]
    assert "output (None, 20, 8)" in labels[0]
    assert f"{3 * 32 + 8 * 32 + 32:,} params" in labels[0]


@pytest.mark.parametrize("cell", [LSTM, GRU, SimpleRNN])
def test_plot_model_draws_the_recurrent_loop_on_the_recurrent_block(tmp_path, cell):
    fastnn.set_seed(0)
    model = fastnn.Sequential([cell(16, input_shape=(30, 2)), Dense(1)], name="seq_model")
    model.build()
    fig = visualize.plot_model(model, to_file=tmp_path / "model.png")
    boxes = artists(fig, "layer")
    (loop,) = artists(fig, "recurrent_loop")  # one loop: the Dense block has none
    assert len(boxes) == 2
    labels = [t.get_text() for t in artists(fig, "layer_label")]
    assert f"({cell.__name__})" in labels[0] and "16 units" in labels[0]
    assert f"{model.layers[0].count_params():,} params" in labels[0]
    # the arrow leaves and re-enters the right edge of the recurrent block
    renderer = fig.canvas.get_renderer()
    lb = loop.get_window_extent(renderer)
    bb = boxes[0].get_window_extent(renderer)
    assert abs(lb.x0 - bb.x1) < 6 and lb.x1 > bb.x1 + 10
    assert bb.y0 < lb.y0 < lb.y1 < bb.y1
    texts = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    assert "$h_{t-1}$" in texts  # the state fed back
    assert_png(tmp_path / "model.png")


def test_plot_model_rejects_bad_arguments(tmp_path):
    model = mlp([2, 3, 1])
    with pytest.raises(ValueError, match=r"\.png, \.svg or \.pdf"):
        visualize.plot_model(model, to_file=tmp_path / "model.jpg")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        visualize.plot_model(model, to_file=tmp_path / "missing" / "model.png")
    with pytest.raises(ValueError, match="no layers"):
        visualize.plot_model(fastnn.Sequential())
    assert os.listdir(tmp_path) == []


def test_save_formats_pdf(tmp_path):
    visualize.plot_model(mlp([2, 3, 1]), to_file=tmp_path / "m.pdf")
    with open(tmp_path / "m.pdf", "rb") as fh:
        assert fh.read(5) == b"%PDF-"
    no_leftovers(tmp_path, ["m.pdf"])


# ---------------------------------------------------------------------------
# plot_history

HISTORY = {
    "loss": [1.0, 0.6, 0.4, 0.35, 0.3],
    "accuracy": [0.5, 0.7, 0.8, 0.85, 0.9],
    "val_loss": [1.1, 0.7, 0.5, 0.55, 0.8],
    "val_accuracy": [0.5, 0.6, 0.8, 0.9, 0.7],
}


def _panel(fig, metric):
    for ax in fig.axes:
        if ax.get_ylabel() == metric:
            return ax
    raise AssertionError(f"no panel for {metric}")


def test_plot_history_curves_and_best_epochs(tmp_path):
    fig = visualize.plot_history(HISTORY, to_file=tmp_path / "h.png")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 2
    for metric, best_epoch in (("loss", 3), ("accuracy", 4)):
        ax = _panel(fig, metric)
        train = [l for l in ax.lines if l.get_gid() == "train"]
        val = [l for l in ax.lines if l.get_gid() == "validation"]
        assert len(train) == 1 and len(val) == 1
        np.testing.assert_array_equal(train[0].get_xdata(), [1, 2, 3, 4, 5])
        np.testing.assert_allclose(train[0].get_ydata(), HISTORY[metric])
        np.testing.assert_allclose(val[0].get_ydata(), HISTORY["val_" + metric])
        assert train[0].get_linestyle() != val[0].get_linestyle()
        best = [l for l in ax.lines if l.get_gid() == "best"]
        assert len(best) == 1
        assert list(best[0].get_xdata()) == [best_epoch]
        assert best[0].get_ydata()[0] == pytest.approx(HISTORY["val_" + metric][best_epoch - 1])
        assert ax.get_xlabel() == "epoch"
        assert ax.get_title()
    assert_png(tmp_path / "h.png")


def test_plot_history_from_a_real_fit_and_metric_choice():
    x, y = fastnn.datasets.make_moons(120, seed=1)
    model = mlp([2, 4, 1])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(
        x, y.astype(np.float32)[:, None], epochs=4, verbose=0, validation_split=0.25
    )
    fig = visualize.plot_history(history, metrics=["loss"])
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 1
    train = artists(fig, "train")[0]
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3, 4])
    np.testing.assert_allclose(train.get_ydata(), history.history["loss"])
    fig = visualize.plot_history({"loss": [3.0, 2.0, 1.0]})  # no validation curve
    assert artists(fig, "validation") == []
    assert list(artists(fig, "best")[0].get_xdata()) == [3]


def test_plot_history_errors():
    with pytest.raises(ValueError, match="no metric"):
        visualize.plot_history(HISTORY, metrics=["auc"])
    with pytest.raises(ValueError, match="empty"):
        visualize.plot_history({})
    with pytest.raises(TypeError, match="History"):
        visualize.plot_history([1, 2, 3])


# ---------------------------------------------------------------------------
# plot_weights


def test_plot_weights_one_heatmap_per_weighted_layer(tmp_path):
    fastnn.set_seed(0)
    model = fastnn.Sequential(
        [
            Input(shape=(4,)),
            Dense(8, activation="relu"),
            Dropout(0.1),
            Dense(3, activation="softmax"),
        ]
    )
    fig = visualize.plot_weights(model, to_file=tmp_path / "w.png")
    maps = artists(fig, "heatmap")
    assert len(maps) == 2
    kernels = [model.layers[0].weights[0], model.layers[2].weights[0]]
    for im, kernel in zip(maps, kernels):
        np.testing.assert_allclose(im.get_array(), kernel)
    # the histograms count every weight of their layer exactly once
    hist_axes = [ax for ax in fig.axes if any(p.get_gid() == "histogram" for p in ax.patches)]
    assert len(hist_axes) == 2
    for ax, layer in zip(hist_axes, [model.layers[0], model.layers[2]]):
        total = sum(p.get_height() for p in ax.patches if p.get_gid() == "histogram")
        assert total == layer.count_params()
    assert_png(tmp_path / "w.png")


def test_plot_weights_labels_gate_blocks_of_recurrent_layers():
    fastnn.set_seed(0)
    model = fastnn.Sequential(
        [Input(shape=(10, 3)), LSTM(4, return_sequences=True), GRU(5), Dense(2)]
    )
    model.build()
    fig = visualize.plot_weights(model)
    maps = artists(fig, "heatmap")
    assert len(maps) == 3
    assert maps[0].get_array().shape == (3 + 4, 16)  # W stacked over U
    assert maps[1].get_array().shape == (4 + 5, 15)
    gates = [[t.get_text() for t in im.axes.get_xticklabels()] for im in maps[:2]]
    assert gates == [["i", "f", "g", "o"], ["r", "z", "n"]]
    rows = [t.get_text() for t in maps[0].axes.get_yticklabels()]
    assert rows == ["kernel", "recurrent_kernel"]
    # the heatmaps are the layers' own arrays: W over U
    for im, layer in zip(maps[:2], model.layers[:2]):
        np.testing.assert_array_equal(im.get_array(), np.vstack(layer.weights[:2]))
    # every weight of the layer counted once, GRU with its two biases
    hist_axes = [ax for ax in fig.axes if any(p.get_gid() == "histogram" for p in ax.patches)]
    for ax, layer in zip(hist_axes, model.layers):
        total = sum(p.get_height() for p in ax.patches if p.get_gid() == "histogram")
        assert total == layer.count_params()
    legend = [t.get_text() for t in hist_axes[1].get_legend().get_texts()]
    assert legend == ["kernel", "recurrent_kernel", "bias_ih", "bias_hh"]


@pytest.mark.slow
def test_plot_weights_gates_of_a_trained_lstm_and_gru(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6, 2)).astype(np.float32)
    y = x[:, :, 0].sum(axis=1, keepdims=True)
    for cell, gates in ((LSTM, ["i", "f", "g", "o"]), (GRU, ["r", "z", "n"])):
        fastnn.set_seed(1)
        model = fastnn.Sequential([cell(3, input_shape=(6, 2)), Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y, epochs=2, verbose=0)
        fig = visualize.plot_weights(model, to_file=tmp_path / f"{cell.__name__}.png")
        im = artists(fig, "heatmap")[0]
        ax = im.axes
        assert [t.get_text() for t in ax.get_xticklabels()] == gates
        assert ax.get_xlabel() == f"gate blocks of 3 units ({', '.join(gates)})"
        # one tick in the middle of each block of 3 columns, white lines between blocks
        np.testing.assert_allclose(ax.get_xticks(), 3 * np.arange(len(gates)) + 1)
        separators = [l.get_xdata()[0] for l in ax.lines if l.get_xdata()[0] == l.get_xdata()[1]]
        assert sorted(separators) == [3 * g - 0.5 for g in range(1, len(gates))]
        assert_png(tmp_path / f"{cell.__name__}.png")


def test_plot_weights_colour_scale_ignores_a_few_outliers():
    fastnn.set_seed(0)
    model = mlp([20, 10, 1])
    w = model.layers[0].weights[0]
    w[3, 4] = 50.0  # one weight far above the rest
    fig = visualize.plot_weights(model)
    im = artists(fig, "heatmap")[0]
    np.testing.assert_array_equal(im.get_array(), w)  # the data is not clipped
    q = np.percentile(np.abs(w), 99)
    assert im.norm.vmax == pytest.approx(q) and im.norm.vmin == pytest.approx(-q)
    # no outliers in the last layer: the scale is its largest |w|
    im2 = artists(fig, "heatmap")[1]
    assert im2.norm.vmax == pytest.approx(np.abs(model.layers[1].weights[0]).max())


def test_plot_weights_needs_weights():
    with pytest.raises(ValueError, match="built model"):
        visualize.plot_weights(fastnn.Sequential([Dense(3)]))


# ---------------------------------------------------------------------------
# plot_decision_boundary


def _trained_moons(epochs=30):
    x, y = fastnn.datasets.make_moons(200, seed=0)
    model = mlp([2, 8, 1])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y.astype(np.float32)[:, None], epochs=epochs, verbose=0)
    return model, x, y


def test_plot_decision_boundary_contours_and_points(tmp_path):
    from matplotlib.contour import ContourSet

    model, x, y = _trained_moons()
    fig = visualize.plot_decision_boundary(model, x, y, to_file=tmp_path / "db.png", resolution=60)
    ax = fig.axes[0]
    contours = [c for c in ax.collections if isinstance(c, ContourSet)]
    assert any(c.filled for c in contours)
    points = artists(fig, "points")
    assert sum(len(p.get_offsets()) for p in points) == len(x)
    assert len(points) == 2  # one marker per class
    offsets = np.concatenate([p.get_offsets() for p in points])
    np.testing.assert_allclose(np.sort(offsets[:, 0]), np.sort(x[:, 0]), rtol=1e-6)
    assert "accuracy" in ax.get_title()
    assert_png(tmp_path / "db.png")


def test_plot_decision_boundary_multiclass():
    from matplotlib.contour import ContourSet

    x, y = fastnn.datasets.make_spirals(150, n_classes=3, seed=0)
    model = mlp([2, 8, 3], activations=["relu", "softmax"])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, verbose=0)
    fig = visualize.plot_decision_boundary(model, x, y, resolution=40)
    filled = [c for c in fig.axes[0].collections if isinstance(c, ContourSet) and c.filled]
    assert len(filled) == 1 and len(filled[0].levels) == 4  # three class regions
    assert sum(len(p.get_offsets()) for p in artists(fig, "points")) == len(x)


def test_plot_decision_boundary_rejects_inputs_that_are_not_two_features():
    model = mlp([2, 3, 1])
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\)"):
        visualize.plot_decision_boundary(model, np.zeros((10, 3)), np.zeros(10))
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\)"):
        visualize.plot_decision_boundary(model, np.zeros(10), np.zeros(10))
    with pytest.raises(ValueError, match="one target per point"):
        visualize.plot_decision_boundary(model, np.zeros((10, 2)), np.zeros(9))
    with pytest.raises(ValueError, match="2 input features"):
        visualize.plot_decision_boundary(mlp([3, 2, 1]), np.zeros((10, 2)), np.zeros(10))


# ---------------------------------------------------------------------------
# plot_hidden_states


def test_plot_hidden_states_needs_a_recurrent_layer():
    with pytest.raises(ValueError, match="recurrent layer"):
        visualize.plot_hidden_states(mlp([2, 3, 1]), np.zeros((5, 2)))


def test_plot_hidden_states_rejects_a_layer_that_is_not_recurrent():
    model = fastnn.Sequential([Input(shape=(5, 3)), LSTM(4), Dense(1)])
    with pytest.raises(ValueError, match="name a recurrent layer"):
        visualize.plot_hidden_states(model, np.zeros((5, 3)), layer=1)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def numpy_lstm_states(x, kernel, recurrent_kernel, bias):
    """h_t for t = 0 .. T-1 of an LSTM (gate blocks i, f, g, o), zero initial state."""
    H = recurrent_kernel.shape[0]
    h, c, out = np.zeros(H), np.zeros(H), []
    for x_t in np.asarray(x, dtype=float):
        z = x_t @ kernel + h @ recurrent_kernel + bias
        i, f, g, o = (
            _sigmoid(z[:H]),
            _sigmoid(z[H : 2 * H]),
            np.tanh(z[2 * H : 3 * H]),
            _sigmoid(z[3 * H :]),
        )
        c = f * c + i * g
        h = o * np.tanh(c)
        out.append(h)
    return np.array(out)


def numpy_gru_states(x, kernel, recurrent_kernel, bias_ih, bias_hh):
    """h_t of a GRU (gate blocks r, z, n, reset after the recurrent product)."""
    H = recurrent_kernel.shape[0]
    h, out = np.zeros(H), []
    for x_t in np.asarray(x, dtype=float):
        a = x_t @ kernel + bias_ih
        b = h @ recurrent_kernel + bias_hh
        r = _sigmoid(a[:H] + b[:H])
        z = _sigmoid(a[H : 2 * H] + b[H : 2 * H])
        n = np.tanh(a[2 * H :] + r * b[2 * H :])
        h = (1 - z) * n + z * h
        out.append(h)
    return np.array(out)


def reference_states(model, upto, seq):
    """Every hidden state of model.layers[upto] over one sequence, from a model built
    here from scratch (the same layer types and sizes, return_sequences=True on the
    last one) that is given the same weights."""
    layers = []
    for i, layer in enumerate(model.layers[: upto + 1]):
        seqs = True if i == upto else layer.return_sequences
        layers.append(type(layer)(layer.units, return_sequences=seqs))
    ref = fastnn.Sequential([Input(shape=tuple(model.layers[0].input_shape))] + layers)
    ref.build()
    ref.set_weights([w for layer in model.layers[: upto + 1] for w in layer.weights])
    return np.asarray(ref.predict(seq[None], verbose=0))[0]


def _trained(layers, steps, features, seed=0):
    """A model of layers (+ Dense(1)) fitted for two epochs, so its weights are not
    the initial ones, and a batch of its input sequences."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((48, steps, features)).astype(np.float32)
    y = (x[:, : steps // 2, 0].sum(axis=1) - x[:, -1, -1])[:, None]
    fastnn.set_seed(seed)
    model = fastnn.Sequential([Input(shape=(steps, features))] + layers + [Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    return model, x


def assert_time_on_x(im, steps, units):
    ax = im.axes
    assert ax.get_xlabel() == "time step" and ax.get_ylabel() == "hidden unit"
    assert im.get_array().shape == (units, steps)  # rows = units, columns = time
    assert tuple(im.get_extent()) == (-0.5, steps - 0.5, -0.5, units - 0.5)


def test_plot_hidden_states_of_an_lstm_equal_its_states_per_timestep(tmp_path):
    T, F, H = 12, 3, 5
    model, x = _trained([LSTM(H)], T, F)
    before = [w.copy() for w in model.get_weights()]
    seq = x[0]
    fig = visualize.plot_hidden_states(model, seq, to_file=tmp_path / "lstm.png")
    (im,) = artists(fig, "hidden_states")
    expected = reference_states(model, 0, seq)
    assert expected.shape == (T, H)
    assert np.ptp(expected, axis=0).max() > 0.05  # states that move over time
    np.testing.assert_allclose(im.get_array(), expected.T, rtol=1e-5, atol=1e-6)
    assert_time_on_x(im, T, H)
    # the same numbers from the LSTM equations in NumPy
    np.testing.assert_allclose(
        im.get_array(), numpy_lstm_states(seq, *model.layers[0].weights).T, rtol=1e-4, atol=1e-5
    )
    # the last column is the state the LSTM hands on (its output without return_sequences)
    last_only = fastnn.Sequential([Input(shape=(T, F)), LSTM(H)])
    last_only.build()
    last_only.set_weights(list(model.layers[0].weights))
    np.testing.assert_allclose(
        im.get_array()[:, -1], last_only.predict(seq[None], verbose=0)[0], rtol=1e-5, atol=1e-6
    )
    # a (1, T, F) batch of one is accepted as well
    im1 = artists(visualize.plot_hidden_states(model, x[:1]), "hidden_states")[0]
    np.testing.assert_array_equal(im1.get_array(), im.get_array())
    # the model is untouched
    assert model.layers[0].return_sequences is False
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert_png(tmp_path / "lstm.png")
    no_leftovers(tmp_path, ["lstm.png"])
    no_pyplot_figures()


def test_plot_hidden_states_of_a_gru_equal_its_states_per_timestep():
    T, F, H = 9, 4, 6
    model, x = _trained([GRU(H)], T, F, seed=2)
    seq = x[3]
    (im,) = artists(visualize.plot_hidden_states(model, seq), "hidden_states")
    expected = reference_states(model, 0, seq)
    np.testing.assert_allclose(im.get_array(), expected.T, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        im.get_array(), numpy_gru_states(seq, *model.layers[0].weights).T, rtol=1e-4, atol=1e-5
    )
    assert_time_on_x(im, T, H)
    assert "(GRU)" in im.axes.get_title() and f"over {T} steps" in im.axes.get_title()


def test_plot_hidden_states_of_the_second_of_two_stacked_layers():
    T, F = 10, 2
    model, x = _trained([LSTM(4, return_sequences=True), GRU(7)], T, F, seed=1)
    seq = x[5]
    first = artists(visualize.plot_hidden_states(model, seq), "hidden_states")[0]
    np.testing.assert_allclose(
        first.get_array(), reference_states(model, 0, seq).T, rtol=1e-5, atol=1e-6
    )
    expected = reference_states(model, 1, seq)
    assert expected.shape == (T, 7)
    for which in (1, model.layers[1].name, model.layers[1], -2):
        (im,) = artists(visualize.plot_hidden_states(model, seq, layer=which), "hidden_states")
        np.testing.assert_allclose(im.get_array(), expected.T, rtol=1e-5, atol=1e-6)
        assert_time_on_x(im, T, 7)


def test_plot_hidden_states_show_input_draws_the_sequence_on_the_same_time_axis(tmp_path):
    T, F, H = 15, 3, 4
    model, x = _trained([LSTM(H)], T, F)
    seq = x[1]
    fig = visualize.plot_hidden_states(model, seq, show_input=True, to_file=tmp_path / "h.png")
    (states,) = artists(fig, "hidden_states")
    (inputs,) = artists(fig, "input_sequence")
    np.testing.assert_allclose(inputs.get_array(), seq.T)  # rows = features
    np.testing.assert_allclose(
        states.get_array(), reference_states(model, 0, seq).T, rtol=1e-5, atol=1e-6
    )
    assert inputs.axes.get_shared_x_axes().joined(inputs.axes, states.axes)
    assert tuple(inputs.get_extent()[:2]) == tuple(states.get_extent()[:2]) == (-0.5, T - 0.5)
    assert artists(visualize.plot_hidden_states(model, seq), "input_sequence") == []
    assert_png(tmp_path / "h.png")


def test_plot_hidden_states_rejects_a_sequence_of_the_wrong_shape():
    model = fastnn.Sequential([Input(shape=(5, 3)), LSTM(4), Dense(1)])
    with pytest.raises(ValueError, match=r"shape \(timesteps, features\) = \(5, 3\)"):
        visualize.plot_hidden_states(model, np.zeros((6, 3)))
    with pytest.raises(ValueError, match=r"shape \(timesteps, features\)"):
        visualize.plot_hidden_states(model, np.zeros((2, 5, 3)))


# ---------------------------------------------------------------------------
# LivePlot


def _fit_with(callback, epochs=3):
    x, y = fastnn.datasets.make_moons(64, seed=0)
    model = mlp([2, 4, 1])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model.fit(
        x,
        y.astype(np.float32)[:, None],
        epochs=epochs,
        verbose=0,
        validation_split=0.25,
        callbacks=[callback],
    )


def test_liveplot_draws_to_a_file(tmp_path):
    live = visualize.LivePlot(to_file=tmp_path / "live.png", min_interval=0.0)
    history = _fit_with(live)
    assert live.draws >= 1
    assert live.history.keys() == history.history.keys()
    for key, values in history.history.items():
        np.testing.assert_allclose(live.history[key], values, rtol=1e-12)
    train = artists(live.figure, "train")
    assert len(train) == 2  # loss and accuracy panels
    np.testing.assert_array_equal(train[0].get_xdata(), [1, 2, 3])
    assert_png(tmp_path / "live.png")
    no_leftovers(tmp_path, ["live.png"])


def test_liveplot_without_a_target_warns():
    live = visualize.LivePlot(min_interval=0.0)
    with pytest.warns(RuntimeWarning, match="nowhere to draw"):
        _fit_with(live, epochs=2)
    assert live.draws == 0 and len(live.epoch) == 2


def test_liveplot_throttle_counts_real_drawings(tmp_path):
    live = visualize.LivePlot(to_file=tmp_path / "live.svg", min_interval=3600.0)
    _fit_with(live, epochs=6)
    assert live.draws == 1  # at train end only
    assert len(live.epoch) == 6
    assert os.path.exists(tmp_path / "live.svg")


def test_liveplot_updates_one_notebook_output(monkeypatch):
    shown = []

    class Handle:
        def update(self, obj):
            shown.append(("update", obj))

    def display(obj, display_id=False):
        assert display_id is True
        shown.append(("display", obj))
        return Handle()

    class Image:
        def __init__(self, data, format):
            assert data[:8] == PNG_SIGNATURE and format == "png"
            self.data = data

    monkeypatch.setattr(visualize.history, "_notebook_display", lambda: (display, Image))
    live = visualize.LivePlot(min_interval=0.0)
    _fit_with(live, epochs=3)
    assert live.draws >= 1
    assert [kind for kind, _ in shown] == ["display"] + ["update"] * (live.draws - 1)


def test_truncated_copy_reproduces_the_inner_activations():
    # the mechanism plot_hidden_states uses, also on plain dense layers
    model = mlp([3, 5, 4, 2])
    copy = visualize.weights._truncated_copy(model, 1)
    assert len(copy.layers) == 2 and copy is not model
    x = np.random.default_rng(0).standard_normal((7, 3)).astype(np.float32)
    w1, b1, w2, b2, _, _ = model.get_weights()
    expected = np.maximum(np.maximum(x @ w1 + b1, 0) @ w2 + b2, 0)
    np.testing.assert_allclose(copy.predict(x), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.get_weights()[0], w1)  # the model is untouched
