"""The command line: `fastnn demo` end to end and `fastnn train` on CSV files the
tests write, including every bad-file error path (exit status 2, message on
stderr, no traceback)."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn.cli import main
from fastnn.cli import train as train_cli

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DIGITS_PICTURES = ["digits_model.png", "digits_history.png", "digits_weights.png"]
MOONS_PICTURES = [
    "moons_model.png",
    "moons_history.png",
    "moons_weights.png",
    "moons_decision_boundary.png",
]
SEQUENCE_PICTURES = [
    "sequence_model.png",
    "sequence_history.png",
    "sequence_weights.png",
    "sequence_hidden_states.png",
]
DEMO_PICTURES = DIGITS_PICTURES + MOONS_PICTURES + SEQUENCE_PICTURES


def is_png(path):
    with open(path, "rb") as fh:
        return fh.read(8) == PNG_SIGNATURE and os.path.getsize(path) > 2000


def run_module(args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "fastnn", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env=os.environ.copy(),
    )


# ---------------------------------------------------------------------------
# demo


@pytest.mark.slow
def test_demo_end_to_end(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "pictures"
    rc = main(["demo", "--epochs", "3", "--out", str(out), "--seed", "1"])
    text = capsys.readouterr().out
    assert rc == 0
    assert sorted(os.listdir(out)) == sorted(DEMO_PICTURES)
    for name in DEMO_PICTURES:
        assert is_png(out / name), name
    assert "Epoch 1/3" in text and "Epoch 3/3" in text  # verbose=2 progress lines
    assert "moons epoch 3/3" in text and "sequence epoch 3/3" in text
    assert str(out) in text
    assert re.search(r"digits: test accuracy 0\.\d{4}", text)
    assert re.search(r"moons: test accuracy [01]\.\d{4}", text)
    assert re.search(r"sequence: test MSE \d\.\d{5} vs 0\.\d{4} for predicting the mean", text)
    assert re.search(r"total time \d+\.\d s", text)
    assert "target" not in text  # non-default settings make no claim
    # the tasks run in the order of demo.TASKS
    assert text.index("== digits") < text.index("== moons") < text.index("== sequence")


@pytest.mark.slow
def test_demo_default_digits_reaches_95_percent(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "out"
    rc = main(["demo", "--task", "digits", "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 0
    acc = float(re.search(r"digits: test accuracy (\d\.\d+) \(target >= 95%: met\)", text).group(1))
    assert acc >= 0.95
    assert "Epoch 30/30" in text
    assert sorted(os.listdir(out)) == sorted(DIGITS_PICTURES)


@pytest.mark.slow
def test_demo_through_python_m_and_default_folder(tmp_path):
    pytest.importorskip("matplotlib")
    proc = run_module(["demo", "--task", "moons", "--epochs", "2", "--quiet"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "fastnn-demo-output"
    assert sorted(os.listdir(folder)) == sorted(MOONS_PICTURES)
    assert "moons epoch" not in proc.stdout  # --quiet
    assert str(folder) in proc.stdout


@pytest.mark.slow
def test_demo_sequence_task_end_to_end(tmp_path, capsys):
    """The LSTM on the adding problem with its default settings: it beats predicting
    the mean by far, says so, and draws its four pictures."""
    pytest.importorskip("matplotlib")
    import matplotlib.image

    out = tmp_path / "seq"
    rc = main(["demo", "--task", "sequence", "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 0
    assert "== sequence: LSTM(32) -> Dense(1) on the adding problem (50 steps), 40 epochs" in text
    assert "sequence epoch 4/40" in text and "sequence epoch 40/40" in text
    m = re.search(
        r"sequence: test MSE (\d\.\d+) \(predicting the mean: (\d\.\d+)\) on 400 "
        r"held-out sequences",
        text,
    )
    mse, baseline = float(m.group(1)), float(m.group(2))
    assert 0.14 < baseline < 0.2  # about 1/6, as make_adding_problem says
    assert mse < 0.01 < baseline
    assert re.search(
        r"sequence: test MSE \d\.\d{5} vs \d\.\d{4} for predicting the mean "
        r"\(target < 0\.01: met\)",
        text,
    )
    assert "digits" not in text and "moons" not in text
    assert sorted(os.listdir(out)) == sorted(SEQUENCE_PICTURES)
    for name in SEQUENCE_PICTURES:
        assert is_png(out / name), name
        img = matplotlib.image.imread(out / name)
        assert img.shape[0] > 250 and img.shape[1] > 400, name
    assert f"pictures (4) in {out}" in text
    assert re.search(r"total time \d+\.\d s", text)


def test_demo_task_choices_include_sequence(capsys):
    from fastnn.cli import build_parser, demo

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    task = next(a for a in sub.choices["demo"]._actions if a.dest == "task")
    assert task.choices == ["digits", "moons", "sequence", "all"]
    assert task.choices == list(demo.TASKS) + ["all"]  # every task can be chosen
    assert parser.parse_args(["demo", "--task", "sequence"]).task == "sequence"
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--help"])
    assert exc.value.code == 0
    help_text = capsys.readouterr().out
    assert "sequence" in help_text and "LSTM" in help_text


def test_demo_bad_arguments(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--task", "cats"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--epochs", "0"])
    assert exc.value.code == 2
    capsys.readouterr()
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["demo", "--out", str(blocker), "--epochs", "1"]) == 2
    assert "not a folder" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# train: CSV files


def write_csv(path, header, rows):
    with open(path, "w") as fh:
        fh.write(",".join(header) + "\n")
        for row in rows:
            fh.write(",".join(str(c) for c in row) + "\n")
    return str(path)


def blobs_csv(path, n=150, string_labels=True, seed=0):
    """Three well separated clusters in 3-D; labels as names or as 0/1/2."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0, 0], [4, 0, 0], [0, 4, 4]], dtype=float)
    y = np.arange(n) % 3
    x = centres[y] + 0.5 * rng.standard_normal((n, 3))
    names = np.array(["setosa", "versicolor", "virginica"])
    labels = names[y] if string_labels else y
    rows = [[f"{a:.4f}", f"{b:.4f}", f"{c:.4f}", lab] for (a, b, c), lab in zip(x, labels)]
    return write_csv(path, ["width", "length", "depth", "species"], rows)


def regression_csv(path, n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2))
    y = 50 + 10 * x[:, 0] - 5 * x[:, 1] + 0.2 * rng.standard_normal(n)
    rows = [[f"{a:.4f}", f"{b:.4f}", f"{v:.4f}"] for (a, b), v in zip(x, y)]
    return write_csv(path, ["size", "age", "price"], rows)


@pytest.mark.slow
def test_train_classification(tmp_path, capsys):
    csv_path = blobs_csv(tmp_path / "flowers.csv")
    out = tmp_path / "model"
    rc = main(
        [
            "train",
            csv_path,
            "--target",
            "species",
            "--epochs",
            "40",
            "--out",
            str(out),
            "--hidden",
            "16,8",
        ]
    )
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "classification of 'species' into 3 classes" in captured.out
    assert "(120 train / 30 validation)" in captured.out
    acc = float(re.search(r"validation accuracy (\d\.\d+)", captured.out).group(1))
    assert acc >= 0.9
    config = json.loads((out / "training.json").read_text())
    assert config["task"] == "classification" and config["model_file"] == "model.fastnn"
    assert config["classes"] == ["setosa", "versicolor", "virginica"]
    assert config["features"] == ["width", "length", "depth"]
    assert config["layer_sizes"] == [3, 16, 8, 3]
    assert config["validation"]["accuracy"] == pytest.approx(acc, abs=1e-4)
    # the saved model is a fastnn model file that reads the table's raw columns
    model = fastnn.load_model(out / "model.fastnn")
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(3, 16), (16,), (16, 8), (8,), (8, 3), (3,)]
    table = train_cli.load_table(csv_path, "species")
    _, x_va, _, y_va = fastnn.datasets.train_test_split(
        table.x, table.y, test_size=0.2, seed=0, stratify=True
    )
    got = float(np.mean(model.predict(x_va.astype(np.float32), verbose=0).argmax(1) == y_va))
    assert got == pytest.approx(config["validation"]["accuracy"], abs=1e-9)
    for name in ("model.png", "history.png", "weights.png"):
        assert is_png(out / name)
    assert not (out / "decision_boundary.png").exists()  # three features
    assert not [f for f in os.listdir(out) if f.startswith(".")]


@pytest.mark.slow
def test_train_infers_classification_from_few_integer_labels(tmp_path, capsys):
    csv_path = blobs_csv(tmp_path / "codes.csv", string_labels=False)
    out = tmp_path / "m"
    assert (
        main(
            [
                "train",
                csv_path,
                "--target",
                "species",
                "--epochs",
                "5",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    config = json.loads((out / "training.json").read_text())
    assert config["task"] == "classification" and config["classes"] == [0, 1, 2]
    assert "Epoch" not in capsys.readouterr().out  # --quiet


@pytest.mark.slow
def test_train_two_feature_classification_draws_decision_boundary(tmp_path):
    pytest.importorskip("matplotlib")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((80, 2))
    rows = [[f"{a:.3f}", f"{b:.3f}", int(a + b > 0)] for a, b in x]
    csv_path = write_csv(tmp_path / "two.csv", ["a", "b", "label"], rows)
    out = tmp_path / "m"
    assert (
        main(
            ["train", csv_path, "--target", "label", "--epochs", "5", "--out", str(out), "--quiet"]
        )
        == 0
    )
    assert is_png(out / "decision_boundary.png")


@pytest.mark.slow
def test_train_regression(tmp_path, capsys):
    csv_path = regression_csv(tmp_path / "houses.csv")
    out = tmp_path / "model"
    rc = main(
        ["train", csv_path, "--target", "price", "--epochs", "60", "--out", str(out), "--quiet"]
    )
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "regression of 'price'" in captured.out
    config = json.loads((out / "training.json").read_text())
    assert config["task"] == "regression" and config["classes"] is None
    assert config["layer_sizes"] == [2, 64, 32, 1]
    metrics = config["validation"]
    assert metrics["r2"] > 0.9
    assert metrics["mse"] < 0.1 * metrics["baseline_mse"]
    assert f"R^2 {metrics['r2']:.4f}" in captured.out
    # the target scaling is folded into the last layer: predictions in the table's units
    model = fastnn.load_model(out / "model.fastnn")
    table = train_cli.load_table(csv_path, "price")
    pred = model.predict(table.x.astype(np.float32), verbose=0)[:, 0]
    assert abs(pred.mean() - table.y.mean()) < 3 and np.corrcoef(pred, table.y[:, 0])[0, 1] > 0.9
    assert is_png(out / "history.png")


@pytest.mark.slow
def test_train_task_can_be_forced(tmp_path, capsys):
    csv_path = blobs_csv(tmp_path / "codes.csv", string_labels=False)
    out = tmp_path / "m"
    assert (
        main(
            [
                "train",
                csv_path,
                "--target",
                "species",
                "--task",
                "regression",
                "--epochs",
                "2",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    assert json.loads((out / "training.json").read_text())["task"] == "regression"


# ---------------------------------------------------------------------------
# train: bad files and arguments


def good_rows(n=20):
    return [[i, i % 3, (i * 7) % 5, "a" if i % 2 else "b"] for i in range(n)]


HEADER = ["x1", "x2", "x3", "y"]


def bad_case(tmp_path, name):
    """(csv path, extra args, expected message fragment) for each bad input."""
    p = tmp_path / "data.csv"
    if name == "missing file":
        return str(tmp_path / "nope.csv"), [], "no such file"
    if name == "folder":
        return str(tmp_path), [], "is a folder"
    if name == "empty file":
        p.write_text("")
        return str(p), [], "is empty"
    if name == "no header":
        return write_csv(p, ["1", "2", "3", "0"], [[1, 2, 3, 0]] * 20), [], "no header row"
    if name == "unknown target":
        return (
            write_csv(p, HEADER, good_rows()),
            ["--target", "Y"],
            "unknown target column 'Y'. The columns of",
        )
    if name == "non-numeric feature":
        rows = good_rows()
        rows[4][1] = "blue"
        return (
            write_csv(p, HEADER, rows),
            [],
            "non-numeric feature column(s): 'x2' (line 6: 'blue')",
        )
    if name == "too few rows":
        return write_csv(p, HEADER, good_rows(4)), [], "has 4 data row(s)"
    if name == "NaN feature":
        rows = good_rows()
        rows[2][0] = "nan"
        rows[7][2] = ""
        return write_csv(p, HEADER, rows), [], "'x1' at line(s) 4; 'x3' at line(s) 9"
    if name == "missing target":
        rows = good_rows()
        rows[3][3] = "NA"
        return (
            write_csv(p, HEADER, rows),
            [],
            "target column 'y' has missing or NaN values at line(s) 5",
        )
    if name == "ragged row":
        rows = good_rows()
        rows[5] = rows[5][:3]
        return write_csv(p, HEADER, rows), [], "line 7 has 3 cell(s); the header has 4 columns"
    if name == "single class":
        rows = [r[:3] + ["a"] for r in good_rows()]
        return write_csv(p, HEADER, rows), [], "single class"
    if name == "regression of labels":
        return write_csv(p, HEADER, good_rows()), ["--task", "regression"], "needs a numeric target"
    if name == "duplicate column":
        return write_csv(p, ["x1", "x1", "x3", "y"], good_rows()), [], "more than once"
    if name == "only the target":
        return (
            write_csv(p, ["y"], [[i % 2] for i in range(20)]),
            [],
            "expected at least one feature column",
        )
    if name == "binary file":
        p.write_bytes(b"\xff\xfe\x00\x81" * 100)
        return str(p), [], "not a UTF-8 text file"
    raise AssertionError(name)


BAD = [
    "missing file",
    "folder",
    "empty file",
    "no header",
    "unknown target",
    "non-numeric feature",
    "too few rows",
    "NaN feature",
    "missing target",
    "ragged row",
    "single class",
    "regression of labels",
    "duplicate column",
    "only the target",
    "binary file",
]


@pytest.mark.parametrize("case", BAD)
def test_train_bad_file(tmp_path, capsys, case):
    path, extra, message = bad_case(tmp_path, case)
    args = ["train", path, "--target", "y", "--epochs", "1", "--out", str(tmp_path / "out")]
    rc = main(args + extra)
    captured = capsys.readouterr()
    assert rc == 2
    assert captured.err.startswith("fastnn train: error: ")
    assert message in captured.err
    assert "Traceback" not in captured.err
    assert not (tmp_path / "out").exists()  # nothing written for a bad file


@pytest.mark.slow
def test_train_bad_file_through_python_m(tmp_path):
    path, _, _ = bad_case(tmp_path, "non-numeric feature")
    proc = run_module(["train", path, "--target", "y"], cwd=tmp_path)
    assert proc.returncode == 2
    assert "non-numeric feature column(s): 'x2'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "fastnn-train-output").exists()


@pytest.mark.parametrize(
    "args",
    [["--hidden", "64,x"], ["--hidden", "0"], ["--epochs", "-3"], ["--task", "clustering"], []],
)
def test_train_bad_arguments_exit_2(tmp_path, capsys, args):
    path = write_csv(tmp_path / "d.csv", HEADER, good_rows())
    argv = ["train", path] + (args + ["--target", "y"] if args else [])  # [] lacks --target
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.slow
def test_train_semicolon_file_gets_a_delimiter_hint(tmp_path, capsys):
    p = tmp_path / "semi.csv"
    p.write_text("a;b;y\n" + "".join(f"{i};{i % 3};{i % 2}\n" for i in range(20)))
    assert main(["train", str(p), "--target", "y", "--out", str(tmp_path / "o")]) == 2
    assert "--delimiter" in capsys.readouterr().err
    assert (
        main(
            [
                "train",
                str(p),
                "--target",
                "y",
                "--delimiter",
                ";",
                "--epochs",
                "2",
                "--quiet",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 0
    )


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "demo" in capsys.readouterr().out


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"fastnn {fastnn.__version__}"
