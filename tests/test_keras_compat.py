"""Keras tutorial code runs on fastnn by changing the imports.

Each script in keras_compat/ is written as a Keras user writes it; it differs from
its Keras original only in the import lines (each preceded by the line it replaces,
as a comment) and, where a dataset must be loaded, in lines marked as data lines.
Run as `python script.py` each one trains, prints its final metric, asserts it and
exits 0.
"""

import ast
import io
import os
import re
import subprocess
import sys
import tokenize

import pytest

pytestmark = pytest.mark.slow  # fresh processes / long loops: not in the fast lane

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_compat")
SCRIPTS = {
    "mlp_regression.py": r"test MAE: (\d+\.\d+)",
    "binary_classification.py": r"test accuracy: (\d+\.\d+)",
    "mnist_mlp.py": r"test accuracy: (\d+\.\d+)",
    "addition_rnn.py": r"validation per-character accuracy: (\d+\.\d+)",
    "imdb_bidirectional_lstm.py": r"test accuracy: (\d+\.\d+)",
    "imdb_lstm.py": r"test accuracy: (\d+\.\d+)",
}
# Whole trainings of minutes (addition_rnn: 29 epochs of 45,000 samples, about 2 min in a
# release build; imdb_bidirectional_lstm: 4 epochs of 25,000, about 2 min; imdb_lstm: 15
# epochs of 5,000 with recurrent dropout, about 1 min). The debug
# build's pass is for memory safety, and AddressSanitizer makes
# these several times slower; the kernels they run are covered there by the other tests.
LONG = {"addition_rnn.py", "imdb_bidirectional_lstm.py", "imdb_lstm.py"}


def _source(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return f.read()


def _import_lines(source):
    """Line numbers (1-based) covered by import statements."""
    lines = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            lines.update(range(node.lineno, node.end_lineno + 1))
    return lines


def _code_without_comments(source):
    """{line number: the line's code with comments removed}."""
    out = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (
            tokenize.COMMENT,
            tokenize.NL,
            tokenize.NEWLINE,
            tokenize.INDENT,
            tokenize.DEDENT,
            tokenize.ENDMARKER,
        ):
            continue
        for row in range(tok.start[0], tok.end[0] + 1):
            out.setdefault(row, []).append(tok.string)
    return {row: " ".join(parts) for row, parts in out.items()}


def test_every_script_is_listed():
    on_disk = sorted(f for f in os.listdir(HERE) if f.endswith(".py"))
    assert on_disk == sorted(SCRIPTS)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_only_import_lines_mention_fastnn(name):
    source = _source(name)
    imports = _import_lines(source)
    code = _code_without_comments(source)
    offending = [
        (row, text) for row, text in sorted(code.items()) if row not in imports and "fastnn" in text
    ]
    assert not offending, f"{name}: fastnn outside the import lines: {offending}"
    # the scripts use fastnn at all (else this check proves nothing)
    assert any("fastnn" in code[row] for row in imports if row in code)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_each_fastnn_import_keeps_the_line_it_replaces_as_a_comment(name):
    source = _source(name)
    lines = source.splitlines()
    tree = ast.parse(source)
    replaced = 0
    for node in tree.body:
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        modules = (
            [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        )
        if not any(m.split(".")[0] == "fastnn" for m in modules):
            assert not any("fastnn" in m for m in modules)
            continue
        above = lines[node.lineno - 2].strip()
        assert above.startswith("#"), (
            f"{name}:{node.lineno}: no comment above {lines[node.lineno - 1]!r}"
        )
        original = above.lstrip("#").strip()
        if original.startswith(("import ", "from ")):
            # the Keras (or scikit-learn) import, which must itself be valid Python
            parsed = ast.parse(original).body[0]
            assert isinstance(parsed, (ast.Import, ast.ImportFrom))
            assert "fastnn" not in original
            replaced += 1
        else:
            # a dataset import (fastnn downloads nothing): the comment block above
            # it says so, naming the Keras loader it replaces
            row, block = node.lineno - 2, []
            while row >= 0 and lines[row].strip().startswith("#"):
                block.append(lines[row])
                row -= 1
            text = " ".join(block)
            assert "data" in text and "keras.datasets" in text, f"{name}:{node.lineno}: {text!r}"
    assert replaced >= 2


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script_runs_and_meets_its_threshold(name, tmp_path):
    if name in LONG:
        from fastnn.backend.compiled import _config

        if _config.debug_build():
            pytest.skip("a minutes-long training; the debug build's pass checks memory safety")
    # a fresh process in an empty folder, with the environment of this test run
    # (so it imports the same fastnn the suite tests)
    result = subprocess.run(
        [sys.executable, os.path.join(HERE, name)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=600,
    )
    assert result.returncode == 0, (
        f"{name} exited with {result.returncode}\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    found = re.findall(SCRIPTS[name], result.stdout)
    assert found, f"{name} did not print its metric:\n{result.stdout}"
