"""Writing files so that a crash or a full disk never leaves half of one: the one
home of fastnn's atomic writes (model files, pictures, command outputs, benchmark logs)."""

import os
import stat


def atomic_write(path, write):
    """Call write(fileobj) on a new binary file beside `path`, flush it to disk, then
    rename it over `path`: readers see the old file or the new one, never part of one.
    On any error the temporary file is removed and the error propagates. The file gets
    the usual permissions (0o666 less the umask), as open() would give it. A symlink is
    written through (it survives, its target is replaced); a dangling symlink, a directory
    or a device node, FIFO or socket at `path` is refused before anything is written."""
    path = _target(os.fspath(path))
    folder, base = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f".{base}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _target(path):
    # the file the rename will replace: checked before writing, so a bad target is left
    # as it was (a rename over /dev/null, as root, would replace the device)
    if os.path.islink(path):
        real = os.path.realpath(path)
        if not os.path.exists(real):
            raise FileNotFoundError(
                f"{path} is a symlink to {real}, which does not exist: not writing through it"
            )
        path = real
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return path
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"{path} is a directory: expected a file path to write")
    if not stat.S_ISREG(mode):
        raise FileExistsError(
            f"{path} exists and is not a regular file (a device, FIFO or socket): refusing "
            "to replace it"
        )
    return path
