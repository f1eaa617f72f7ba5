"""Writing files so that a crash or a full disk never leaves half of one: the one
home of fastnn's atomic writes (model files, pictures, command outputs, benchmark logs)."""

import os


def atomic_write(path, write):
    """Call write(fileobj) on a new binary file beside `path`, flush it to disk, then
    rename it over `path`: readers see the old file or the new one, never part of one.
    On any error the temporary file is removed and the error propagates. The file gets
    the usual permissions (0o666 less the umask), as open() would give it."""
    path = os.fspath(path)
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
