"""save() onto odd targets: a clear error with the target untouched (a directory, a
device node or FIFO, a dangling symlink), a symlink written through, the umask honoured."""

import os
import stat

import numpy as np
import pytest

import fastnn
from fastnn.layers import Dense, Input


@pytest.fixture
def model():
    m = fastnn.Sequential([Input((2,)), Dense(1)])
    m.predict(np.ones((1, 2)), verbose=0)
    return m


def test_a_directory_is_refused(model, tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory"):
        model.save(tmp_path)
    assert list(tmp_path.iterdir()) == []  # no temporary file left


def test_a_fifo_is_refused_and_kept(model, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(FileExistsError, match="not a regular file"):
        model.save(fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and len(list(tmp_path.iterdir())) == 1


def test_a_device_node_is_refused(model):
    with pytest.raises(FileExistsError, match="not a regular file"):
        model.save("/dev/null")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_dangling_symlink_is_refused_and_a_live_one_written_through(model, tmp_path):
    link = tmp_path / "link.fastnn"
    link.symlink_to(tmp_path / "missing.fastnn")
    with pytest.raises(FileNotFoundError, match="which does not exist"):
        model.save(link)
    assert link.is_symlink() and not (tmp_path / "missing.fastnn").exists()
    target = tmp_path / "real.fastnn"
    target.write_bytes(b"old")
    link.unlink()
    link.symlink_to(target)
    model.save(link)
    assert link.is_symlink() and target.read_bytes() != b"old"
    assert fastnn.load_model(link).count_params() == model.count_params()


def test_saved_files_follow_the_umask(model, tmp_path):
    old = os.umask(0o027)
    try:
        model.save(tmp_path / "m.fastnn")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "m.fastnn").st_mode) == 0o640
