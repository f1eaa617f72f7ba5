"""`fastnn train data.csv --target COLUMN`: an MLP for a table of your own.

The CSV needs a header row naming its columns (comma-separated by default,
``--delimiter`` to change). Every column but the target must be numeric, with
no missing or NaN cells. The task is classification when the target is not
numeric, or holds few distinct integers (at most 20, and at most half the
number of rows); otherwise regression. ``--task`` overrides the guess.

The features are standardised (statistics of the training part only), the rows
split 80/20 into training and validation (stratified for classification), and a
ReLU MLP (``--hidden 64,32``) is trained with Adam: softmax + sparse categorical
cross-entropy for classification, a linear output + MSE on the standardised
target for regression. After training, the feature scaling is folded into the first
layer's weights (W / scale, b - (mean / scale) @ W) and, for regression, the target
scaling into the last layer's, so the saved model reads the table's own columns and
predicts in its units. The validation metrics, computed with that saved model, are
printed, and ``--out`` gets:

    model.fastnn        the model (fastnn.load_model opens it; no optimizer state, the
                        folding changed the parameters it belonged to)
    training.json       what the model means: task, target, feature names (the input
                        columns, in order), classes (the output columns, in order),
                        layer sizes, epochs, seed, validation metrics
    model.png history.png weights.png (and decision_boundary.png for two
                        features and a class target) when matplotlib is installed

User mistakes (a missing or malformed file, an unknown column, ...) raise
CommandError; the command line prints its message and exits with status 2.
"""

import csv
import difflib
import importlib.util
import json
import math
import os
import time

import numpy as np

from fastnn._io import atomic_write
from fastnn.cli._args import CommandError, layer_widths, output_folder, positive_int

MIN_ROWS = 10
MAX_CLASSES = 20
MISSING = {"", "na", "nan", "n/a", "null", "none"}
DEFAULT_OUT = "fastnn-train-output"
MODEL_FILE = "model.fastnn"
REPORT_FILE = "training.json"


# ---------------------------------------------------------------------------
# reading the table


def _number(text):
    """float(text), NaN for a missing cell, None when text is not a number."""
    t = text.strip()
    if t.lower() in MISSING:
        return math.nan
    try:
        return float(t)
    except ValueError:
        return None


def _lines(numbers, limit=5):
    shown = ", ".join(str(n) for n in numbers[:limit])
    return shown + (f" and {len(numbers) - limit} more" if len(numbers) > limit else "")


def read_csv(path, delimiter=","):
    """(header, rows, line numbers) of a CSV file with a header row; every row has
    as many cells as the header. Blank lines are skipped."""
    if not os.path.exists(path):
        raise CommandError(f"no such file: {path!r}")
    if os.path.isdir(path):
        raise CommandError(f"{path!r} is a folder; expected a CSV file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            header, rows, lines = None, [], []
            for row in reader:
                if not row or all(not c.strip() for c in row):
                    continue
                if header is None:
                    header = [c.strip() for c in row]
                    header_line = reader.line_num
                    continue
                rows.append(row)
                lines.append(reader.line_num)
    except UnicodeDecodeError:
        raise CommandError(f"{path!r} is not a UTF-8 text file; expected a CSV file") from None
    except csv.Error as err:
        raise CommandError(f"{path!r} is not a readable CSV file: {err}") from None
    except OSError as err:
        raise CommandError(f"cannot read {path!r}: {err.strerror}") from None
    if header is None:
        raise CommandError(f"{path!r} is empty; expected a header row and data rows")
    if all(_number(c) is not None and c.strip() for c in header):
        raise CommandError(
            f"{path!r} has no header row: its first line ({delimiter.join(header[:6])}"
            f"{', ...' if len(header) > 6 else ''}) holds numbers. Add a first line naming "
            f"the columns, e.g. {delimiter.join(f'x{i + 1}' for i in range(min(3, len(header))))}"
            f"{',...' if len(header) > 3 else ''}"
        )
    empty = [i + 1 for i, h in enumerate(header) if not h]
    if empty:
        raise CommandError(
            f"{path!r}: the header (line {header_line}) has unnamed column(s) "
            f"at position(s) {_lines(empty)}"
        )
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise CommandError(f"{path!r}: the header names column(s) {dupes} more than once")
    for row, line in zip(rows, lines):
        if len(row) != len(header):
            raise CommandError(
                f"{path!r} line {line} has {len(row)} cell(s); the header has "
                f"{len(header)} columns (delimiter {delimiter!r})"
            )
    return header, rows, lines


class Table:
    """Features x (float64, (n, F)), target y (class codes int64 or float64 values),
    the task, feature names, classes (for classification)."""

    def __init__(self, x, y, task, features, target, classes):
        self.x, self.y, self.task = x, y, task
        self.features, self.target, self.classes = features, target, classes


def load_table(path, target, task=None, delimiter=","):
    """Read and check a CSV for `fastnn train`; returns a Table."""
    header, rows, lines = read_csv(path, delimiter)
    if target not in header:
        close = difflib.get_close_matches(target, header, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        other = [d for d in ";\t|," if d != delimiter and d in header[0]]
        if len(header) == 1 and other:
            hint += f" The file seems to use {other[0]!r} between cells: pass --delimiter."
        raise CommandError(
            f"unknown target column {target!r}. The columns of {path!r} are: "
            f"{', '.join(header)}.{hint}"
        )
    features = [h for h in header if h != target]
    if not features:
        raise CommandError(
            f"{path!r} has only the target column {target!r}; expected at least one feature column"
        )
    if len(rows) < MIN_ROWS:
        raise CommandError(
            f"{path!r} has {len(rows)} data row(s); fastnn train needs at "
            f"least {MIN_ROWS} (80% to train, 20% to validate)"
        )
    t = header.index(target)
    columns = list(zip(*rows))
    # every feature must be a number
    bad = []
    for name in features:
        j = header.index(name)
        for cell, line in zip(columns[j], lines):
            if _number(cell) is None:
                bad.append(f"{name!r} (line {line}: {cell.strip()!r})")
                break
    if bad:
        raise CommandError(
            f"non-numeric feature column(s): {', '.join(bad)}. fastnn train "
            f"needs numeric features: encode these columns as numbers or "
            f"drop them"
        )
    x = np.array(
        [[_number(columns[header.index(n)][i]) for n in features] for i in range(len(rows))],
        dtype=np.float64,
    )
    bad = []
    for k, name in enumerate(features):
        where = [lines[i] for i in np.flatnonzero(~np.isfinite(x[:, k]))]
        if where:
            bad.append(f"{name!r} at line(s) {_lines(where)}")
    if bad:
        raise CommandError(
            f"missing, NaN or infinite values in feature column(s): "
            f"{'; '.join(bad)}. Fill or drop those rows"
        )
    cells = [c.strip() for c in columns[t]]
    missing = [line for c, line in zip(cells, lines) if c.lower() in MISSING]
    if missing:
        raise CommandError(
            f"the target column {target!r} has missing or NaN values at "
            f"line(s) {_lines(missing)}. Fill or drop those rows"
        )
    values = [_number(c) for c in cells]
    numeric = all(v is not None for v in values)
    if numeric:
        yv = np.array(values, dtype=np.float64)
        if not np.isfinite(yv).all():
            where = [lines[i] for i in np.flatnonzero(~np.isfinite(yv))]
            raise CommandError(
                f"the target column {target!r} has infinite values at line(s) {_lines(where)}"
            )
    if task is None:
        if not numeric:
            task = "classification"
        else:
            distinct = np.unique(yv)
            integral = bool(np.all(distinct == np.round(distinct)))
            few = len(distinct) <= min(MAX_CLASSES, max(2, len(rows) // 2))
            task = "classification" if integral and few else "regression"
    if task == "regression":
        if not numeric:
            example = next((c, line) for c, v, line in zip(cells, values, lines) if v is None)
            raise CommandError(
                f"--task regression needs a numeric target, but column "
                f"{target!r} holds {example[0]!r} (line {example[1]})"
            )
        return Table(x, yv.reshape(-1, 1), task, features, target, None)
    if task != "classification":
        raise CommandError(f"unknown task {task!r}; choose classification or regression")
    if numeric:
        keys = yv
        classes, codes = np.unique(keys, return_inverse=True)
        classes = [int(c) if c == round(c) else float(c) for c in classes]
    else:
        classes, codes = np.unique(np.array(cells), return_inverse=True)
        classes = [str(c) for c in classes]
    if len(classes) < 2:
        raise CommandError(
            f"the target column {target!r} holds a single class "
            f"({classes[0]!r}); classification needs at least two"
        )
    if len(classes) > len(rows) // 2 and len(classes) > MAX_CLASSES:
        raise CommandError(
            f"the target column {target!r} has {len(classes)} classes for "
            f"{len(rows)} rows; too many to learn. Use --task regression for "
            f"a numeric target"
        )
    return Table(x, codes.astype(np.int64), task, features, target, classes)


# ---------------------------------------------------------------------------
# training


def _fold_scaling(model, feature_mean, feature_scale, target_mean=0.0, target_scale=1.0):
    """Fold x -> (x - mean) / scale into the first Dense layer and y -> y * scale + mean
    into the last one (exact up to rounding: both are affine maps next to affine maps)."""
    weights = [w.astype(np.float64) for w in model.get_weights()]
    W, b = weights[0], weights[1]
    weights[0] = W / feature_scale[:, None]
    weights[1] = b - (feature_mean / feature_scale) @ W
    weights[-2] = weights[-2] * target_scale
    weights[-1] = weights[-1] * target_scale + target_mean
    model.set_weights([w.astype(model.dtype) for w in weights])


def train_table(
    table, hidden=(64, 32), epochs=50, batch_size=32, seed=0, out=DEFAULT_OUT, verbose=2
):
    """Train an MLP on a Table, print the validation metrics and save model and
    pictures into out. Returns a dict of the validation metrics."""
    import fastnn
    from fastnn.datasets import train_test_split
    from fastnn.layers import Dense, Input
    from fastnn.preprocessing import StandardScaler

    out_abs = output_folder(out)
    classify = table.task == "classification"
    n, n_features = table.x.shape
    x_tr, x_va, y_tr, y_va = train_test_split(
        table.x, table.y, test_size=0.2, seed=seed, stratify=classify
    )
    what = (
        f"classification of {table.target!r} into {len(table.classes)} classes"
        if classify
        else f"regression of {table.target!r}"
    )
    print(
        f"fastnn train: {what} from {n_features} feature(s); {n} rows "
        f"({len(x_tr)} train / {len(x_va)} validation)"
    )
    scaler = StandardScaler().fit(x_tr)
    xs_tr = scaler.transform(x_tr).astype(np.float32)
    xs_va = scaler.transform(x_va).astype(np.float32)
    fastnn.set_seed(seed)
    layers = [Input(shape=(n_features,))] + [Dense(h, activation="relu") for h in hidden]
    if classify:
        layers.append(Dense(len(table.classes), activation="softmax"))
        model = fastnn.Sequential(layers, name="csv_classifier")
        model.compile(
            optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        ys_tr, ys_va = y_tr, y_va
        y_mean, y_scale = 0.0, 1.0
    else:
        layers.append(Dense(1))
        model = fastnn.Sequential(layers, name="csv_regressor")
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        y_mean = float(y_tr.mean())
        y_scale = float(y_tr.std()) or 1.0
        ys_tr = ((y_tr - y_mean) / y_scale).astype(np.float32)
        ys_va = ((y_va - y_mean) / y_scale).astype(np.float32)
    t0 = time.perf_counter()
    history = model.fit(
        xs_tr,
        ys_tr,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=(xs_va, ys_va),
        verbose=verbose,
        seed=seed,
    )
    seconds = time.perf_counter() - t0
    _fold_scaling(model, scaler.mean_, scaler.scale_, y_mean, y_scale)
    # from here on the model reads raw features: the metrics describe the saved file
    x_va32 = x_va.astype(np.float32)
    pred = model.predict(x_va32, verbose=0)
    if classify:
        predicted = pred.argmax(axis=1)
        counts = np.bincount(y_tr, minlength=len(table.classes))
        metrics = {
            "accuracy": float(np.mean(predicted == y_va)),
            "loss": float(model.evaluate(x_va32, y_va, verbose=0)[0]),
            "majority_baseline_accuracy": float(np.mean(y_va == counts.argmax())),
        }
        print(
            f"validation accuracy {metrics['accuracy']:.4f} (always predicting the most "
            f"common class: {metrics['majority_baseline_accuracy']:.4f}), "
            f"loss {metrics['loss']:.4f}"
        )
    else:
        p = pred[:, 0].astype(np.float64)
        t = y_va[:, 0]
        mse = float(np.mean((p - t) ** 2))
        base = float(np.mean((y_mean - t) ** 2))
        ss = float(np.sum((t - t.mean()) ** 2))
        metrics = {
            "mse": mse,
            "rmse": math.sqrt(mse),
            "mae": float(np.mean(np.abs(p - t))),
            "r2": 1.0 - float(np.sum((p - t) ** 2)) / ss if ss > 0 else float("nan"),
            "baseline_mse": base,
        }
        print(
            f"validation RMSE {metrics['rmse']:.4g}, MAE {metrics['mae']:.4g}, "
            f"R^2 {metrics['r2']:.4f} (predicting the training mean: MSE "
            f"{base:.4g}, vs {mse:.4g})"
        )
    print(f"training took {seconds:.2f} s")

    model.save(os.path.join(out_abs, MODEL_FILE), include_optimizer=False)
    report = {
        "format": "fastnn-train-report",
        "version": 2,
        "model_file": MODEL_FILE,
        "task": table.task,
        "target": table.target,
        "features": table.features,
        "classes": table.classes,
        "layer_sizes": [n_features]
        + [int(h) for h in hidden]
        + [len(table.classes) if classify else 1],
        "activations": ["relu"] * len(hidden) + ["softmax" if classify else "linear"],
        "epochs": epochs,
        "seed": seed,
        "validation": metrics,
    }
    text = json.dumps(report, indent=2, allow_nan=True) + "\n"
    atomic_write(os.path.join(out_abs, REPORT_FILE), lambda fh: fh.write(text.encode()))
    files = [MODEL_FILE, REPORT_FILE]
    if importlib.util.find_spec("matplotlib") is not None:
        from fastnn import visualize

        visualize.plot_model(model, to_file=os.path.join(out_abs, "model.png")).clear()
        visualize.plot_history(history, to_file=os.path.join(out_abs, "history.png")).clear()
        visualize.plot_weights(model, to_file=os.path.join(out_abs, "weights.png")).clear()
        files += ["model.png", "history.png", "weights.png"]
        if classify and n_features == 2:
            visualize.plot_decision_boundary(
                model, x_va32, y_va, to_file=os.path.join(out_abs, "decision_boundary.png")
            ).clear()
            files.append("decision_boundary.png")
    else:
        print('matplotlib is not installed: no pictures (pip install "fastnn[viz]")')
    print(f"saved {', '.join(files)} in {out_abs}")
    return metrics


# ---------------------------------------------------------------------------
# command line


def add_parser(sub):
    """Register `train` on an argparse subparsers object."""
    p = sub.add_parser(
        "train",
        help="train an MLP on a CSV file of your own",
        description="Train an MLP on a CSV file with a header row and report validation metrics.",
    )
    p.add_argument("csv", help="CSV file with a header row")
    p.add_argument("--target", required=True, help="name of the column to predict")
    p.add_argument(
        "--task",
        choices=["classification", "regression"],
        default=None,
        help="default: guessed from the target column",
    )
    p.add_argument(
        "--hidden",
        type=layer_widths,
        default=(64, 32),
        help="hidden layer widths, comma-separated (default 64,32)",
    )
    p.add_argument("--epochs", type=positive_int, default=50, help="default 50")
    p.add_argument("--batch-size", type=positive_int, default=32, help="default 32")
    p.add_argument("--seed", type=int, default=0, help="default 0")
    p.add_argument("--delimiter", default=",", help="cell separator (default ',')")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default ./{DEFAULT_OUT})")
    p.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    return p


def run(args):
    """Run `fastnn train` for parsed arguments; returns the exit status."""
    if len(args.delimiter) != 1:
        raise CommandError(f"--delimiter must be one character. Received: {args.delimiter!r}")
    if args.seed < 0:
        raise CommandError(f"--seed must be >= 0. Received: {args.seed}")
    table = load_table(args.csv, args.target, args.task, args.delimiter)
    train_table(
        table,
        hidden=args.hidden,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        out=args.out,
        verbose=0 if args.quiet else 2,
    )
    return 0
