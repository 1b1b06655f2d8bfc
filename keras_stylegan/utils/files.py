"""Atomic file writes: a reader sees the old file or the new one, never half of one."""
import contextlib
import os
import tempfile


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path, suffix=None):
    """Yields a temporary path beside `path`; on success it is flushed and renamed to `path`.

    The temporary name starts with a dot and ends with `.tmp` (plus `suffix`, for writers
    that pick a format by extension), so it is never mistaken for the real file. On error
    it is removed and `path` is untouched. The file gets the usual permissions (umask).

    Example:
    >>> with atomic_path("/tmp/example.txt") as tmp:
    ...     _ = open(tmp, "w").write("done")
    >>> open("/tmp/example.txt").read()
    'done'
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp" + (suffix or ""), dir=directory)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
