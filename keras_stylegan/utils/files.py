"""Safe file output: atomic writes, directories replaced only when they are ours, stale temporaries cleaned.

Every output is written under a temporary name in its own directory and renamed into place only
once complete, so a reader (or a run killed at any moment) sees the old version or the new one,
never half of one; an old version is removed only after the new one is in place. Temporary names
are hidden and carry the writer's process id, `.NAME.<pid>-XXXXXXXX.tmp[.ext]` for files and
`.NAME.<pid>-XXXXXXXX.tmpdir` / `.old` for directories, so `remove_stale_temporaries` can tell
the leftovers of a killed save from a save still running, and never touches anything else.
"""
import contextlib
import errno
import io
import os
import re
import shutil
import tempfile

# `.NAME.<pid>-XXXXXXXX.tmp[.ext]`, `.tmpdir`, `.old`; earlier versions wrote `.NAME.XXXXXXXX.tmp[.ext]`
# (no pid) and `.preset-XXXXXXXX` preset directories. XXXXXXXX is tempfile's random part.
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?:(?P<pid>\d+)-)?[a-z0-9_]{8}\.(?P<kind>tmp(?:\.[^./]+)?|tmpdir|old)$")
_LEGACY_PRESET_TEMPORARY = re.compile(r"^\.preset-[a-z0-9_]{8}$")
_LEGACY_PRESET_FILES = {"config.json", "metadata.json", "model.weights.h5", "discriminator.weights.h5"}
_DISK_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)  # no space, file size limit, quota
_CLEANED = set()  # directories this process has already cleaned
_ACTIVE = set()  # temporaries this process is writing right now (never stale, even if our pid was reused)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _process_alive(pid):
    if os.name != "posix":  # no harmless liveness probe here (os.kill would end the process): assume alive
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # no such process (or no such pid at all)
        return False
    except PermissionError:  # another user's process
        return True
    return pid > 0


def _is_stale(directory, entry, legacy):
    """Whether `entry` is a temporary of ours left behind by a save that can no longer finish."""
    path = os.path.join(directory, entry)
    if path in _ACTIVE:
        return False
    if _LEGACY_PRESET_TEMPORARY.match(entry):
        return (legacy and os.path.isdir(path) and not os.path.islink(path)
                and set(os.listdir(path)) <= _LEGACY_PRESET_FILES)
    match = _TEMPORARY.match(entry)
    if not match:
        return False
    pid = match.group("pid")
    if pid is None:
        return legacy
    return int(pid) == os.getpid() or not _process_alive(int(pid))


def remove_stale_temporaries(directory, name=None, legacy=True):
    """Removes the temporaries of killed saves in `directory` (only those of output `name`, if given).

    Only names of our own pattern are touched, and only when the process that wrote them is gone
    (`legacy=True` also removes the names of earlier versions, which carry no process id: use it
    in directories that are ours, such as a run directory). An old directory version
    (`.NAME.*.old`) whose replacement never got renamed into place is renamed back to `NAME`
    instead of being deleted. Call it when resuming work in a directory; every save also calls
    it (without `legacy`) once per process and directory.

    Returns:
        The paths removed or restored.

    Example:
    >>> import tempfile
    >>> remove_stale_temporaries(tempfile.mkdtemp())
    []
    """
    directory = os.path.abspath(os.fspath(directory) or ".")
    try:
        entries = sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    cleaned = []
    for entry in entries:
        match = _TEMPORARY.match(entry)
        if name is not None and not (match and match.group("name") == name):
            continue
        if not _is_stale(directory, entry, legacy):
            continue
        path = os.path.join(directory, entry)
        try:
            if match and match.group("kind") == "old" and not os.path.lexists(os.path.join(directory, match["name"])):
                os.replace(path, os.path.join(directory, match.group("name")))  # killed between the two renames
            elif os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
        except OSError:
            continue  # best effort: a leftover we cannot remove must not stop the save that follows
        cleaned.append(path)
    return cleaned


def _clean_once(directory):
    """Stale temporaries are removed before the first save of this process in `directory` (listing a
    directory per save would make writing many files quadratic)."""
    if directory not in _CLEANED:
        remove_stale_temporaries(directory, legacy=False)
        _CLEANED.add(directory)


def _fsync_file(path):
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


@contextlib.contextmanager
def atomic_path(path, suffix=None):
    """Yields a temporary path beside `path`; on success it is flushed and renamed to `path`.

    The temporary name is `.NAME.<pid>-XXXXXXXX.tmp` (plus `suffix`, for writers that pick a
    format by extension), so it is never mistaken for the real file. On error it is removed and
    `path` is untouched. Stale temporaries left in that directory by killed saves are removed
    first (once per process). The file gets the usual permissions (umask).

    Example:
    >>> with atomic_path("/tmp/example.txt") as tmp:
    ...     _ = open(tmp, "w").write("done")
    >>> open("/tmp/example.txt").read()
    'done'
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "cannot replace a directory with a file", path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    name = os.path.basename(path)
    _clean_once(directory)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.{os.getpid()}-", suffix=".tmp" + (suffix or ""), dir=directory)
    os.close(fd)
    _ACTIVE.add(tmp)
    try:
        yield tmp
        _fsync_file(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as error:
        if os.path.lexists(tmp):
            os.remove(tmp)
        if isinstance(error, OSError) and error.errno in _DISK_FULL:
            raise _named_error(error, path) from None
        raise
    finally:
        _ACTIVE.discard(tmp)


def write_bytes(path, data):
    """Writes `data` to `path` atomically with plain file I/O; a full disk is an ordinary `OSError`.

    Returns:
        `path`.

    Example:
    >>> write_bytes("/tmp/example.bin", b"abc")
    '/tmp/example.bin'
    """
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
    return path


def _named_error(error, path):
    """The OSError of a failed write, worded with the output's name (not the temporary's) in one line."""
    reason = getattr(error, "reason", None) or error.strerror or str(error)
    named = OSError(f"cannot write {path}: {reason}")
    named.errno, named.reason = error.errno, reason
    return named


def hdf5_bytes(datasets, attrs=None):
    """An HDF5 file holding `datasets` (`{path: array}`) and root `attrs`, built in memory.

    Building in memory and writing with `write_bytes` turns a full disk into an ordinary `OSError`:
    h5py's own file driver fails inside its close (a RuntimeError, or a crash).

    Example:
    >>> data = hdf5_bytes({"a/b": [0.0, 1.0]})
    >>> data[:4]
    b'\\x89HDF'
    """
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        for name, value in datasets.items():
            f.create_dataset(name, data=value)
        for name, value in (attrs or {}).items():
            f.attrs[name] = value
    return buffer.getvalue()


def check_directory_target(path, overwrite=False, own_entries=(), required=(), what="directory"):
    """Checks that writing the directory `path` would destroy nothing of the user's; returns its absolute path.

    A directory is ours when it holds one of the `required` names and nothing but `own_entries`
    (and temporaries of our own naming); `what` names that kind of output in the messages.
    Refused, whatever `overwrite` says: `""`, the working directory and its parents, a file, a
    symbolic link, and any non-empty directory that is not ours. An empty directory may be
    replaced; one of ours only with `overwrite=True`.

    Example:
    >>> import tempfile
    >>> check_directory_target(os.path.join(tempfile.mkdtemp(), "new")).endswith("new")
    True
    """
    raw = os.fspath(path)
    if raw.strip() == "":
        raise ValueError(f"the output path for the {what} is empty: name a new directory")
    path = os.path.abspath(raw)
    real, cwd = os.path.realpath(path), os.path.realpath(os.getcwd())
    if real == cwd or cwd.startswith(real.rstrip(os.sep) + os.sep):
        raise ValueError(f"refusing to write the {what} to {raw}: it is the working directory or one of its "
                         "parents; name a new directory")
    if os.path.islink(path):
        raise ValueError(f"refusing to replace {raw}: it is a symbolic link")
    if not os.path.lexists(path):
        return path
    if not os.path.isdir(path):
        raise ValueError(f"refusing to replace {raw}: it is a file, not a {what}")
    entries = sorted(os.listdir(path))
    if not entries:
        return path
    foreign = [entry for entry in entries if entry not in own_entries and not _TEMPORARY.match(entry)]
    if foreign or not any(entry in required for entry in entries):
        reason = f"it holds {foreign[0]!r}" if foreign else f"it has no {required[0] if required else 'files of ours'}"
        raise ValueError(f"refusing to replace {raw}: it is not empty and not a {what} ({reason}); "
                         "name a new directory")
    if not overwrite:
        raise ValueError(f"{raw} already holds a {what}: pass --overwrite (overwrite=True) to replace it")
    return path


def _fsync_tree(directory):
    for root, _, files in os.walk(directory):
        for file in files:
            if not os.path.islink(os.path.join(root, file)):
                _fsync_file(os.path.join(root, file))


@contextlib.contextmanager
def atomic_directory(path, overwrite=False, own_entries=(), required=(), what="directory"):
    """Yields a temporary directory beside `path`; on success it replaces `path` in one rename.

    `path` is checked first with `check_directory_target` (and again just before the rename),
    which says what `own_entries` and `required` mean:
    nothing that is not ours is ever replaced. An existing version is renamed aside, the new one
    renamed into place, and only then is the old one deleted. On error the temporary directory is
    removed and `path` is untouched.

    Example:
    >>> import tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "out")
    >>> with atomic_directory(target) as tmp:
    ...     _ = open(os.path.join(tmp, "a.txt"), "w").write("done")
    >>> os.listdir(target)
    ['a.txt']
    """
    path = check_directory_target(path, overwrite, own_entries, required, what)
    parent, name = os.path.dirname(path), os.path.basename(path)
    os.makedirs(parent, exist_ok=True)
    _clean_once(parent)
    tmp = tempfile.mkdtemp(prefix=f".{name}.{os.getpid()}-", suffix=".tmpdir", dir=parent)
    old = tmp[: -len(".tmpdir")] + ".old"
    _ACTIVE.update((tmp, old))
    try:
        yield tmp
        _fsync_tree(tmp)
        os.chmod(tmp, 0o777 & ~_umask())
        check_directory_target(path, overwrite, own_entries, required, what)  # it may have changed meanwhile
        if os.path.lexists(path):
            os.replace(path, old)
            try:
                os.replace(tmp, path)
            except BaseException:
                os.replace(old, path)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException as error:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(error, OSError) and error.errno in _DISK_FULL:
            raise _named_error(error, path) from None
        raise
    finally:
        _ACTIVE.difference_update((tmp, old))


def load_hdf5_variables(path, variables, error=ValueError, what="weights file"):
    """Assigns `variables` (`{dataset path: variable}`) from the HDF5 file `path`; returns its root attributes.

    The reader of `hdf5_bytes`' files (training checkpoints, presets of the earlier layout). Every
    value is read and checked (present, same shape) before any variable is assigned, so a file
    that does not match changes nothing; values are cast to each variable's dtype (float16
    storage loads into float32 variables). Failures raise `error` with a one-line message.

    Example:
    >>> import keras
    >>> _ = write_bytes("/tmp/example.h5", hdf5_bytes({"a/b": [1.0, 2.0]}, {"note": "hi"}))
    >>> variable = keras.Variable([0.0, 0.0])
    >>> load_hdf5_variables("/tmp/example.h5", {"a/b": variable})["note"]
    'hi'
    >>> variable.numpy().tolist()
    [1.0, 2.0]
    """
    import h5py
    import numpy as np

    try:
        with h5py.File(os.fspath(path), "r") as f:
            stored = set()
            f.visititems(lambda name, item: stored.add(name) if isinstance(item, h5py.Dataset) else None)
            missing = sorted(set(variables) - stored)
            if missing:
                raise error(f"{path} does not match this model: no value for {missing[0]} ({len(missing)} missing)")
            values = {}
            for name, variable in variables.items():
                value = f[name][()]
                if tuple(np.shape(value)) != tuple(variable.shape):
                    raise error(f"{path}: {name} has shape {np.shape(value)}, the model has {tuple(variable.shape)}")
                values[name] = value
            attrs = dict(f.attrs)
    except OSError as failure:
        raise error(f"cannot read {what} {path}: {failure}") from None
    for name, variable in variables.items():
        variable.assign(np.asarray(values[name]).astype(variable.dtype))
    return attrs
