"""Shared CLI plumbing: quiet TensorFlow, one-line errors with exit code 2, checked option types."""
import functools
import math
import os
import pickle
import re
import sys
import tempfile
import zipfile

import click

from keras_stylegan.cli import quiet_tensorflow
from keras_stylegan.utils.checks import MAX_PSI

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
quiet_tensorflow.install()

MAX_SEED = 2**32 - 1  # np.random.RandomState accepts seeds in [0, 2**32)
_KERAS_CALL_PREFIX = "Exception encountered when calling"
_BOLD = re.compile(r"\x1b\[1m(.*?)\x1b\[0m", re.DOTALL)
_TF_USER_CODE_ERROR = re.compile(r"^\s*(?:\w+\.)*\w*(?:Error|Exception): (.+)$", re.MULTILINE)


def _original_error(error):
    """The exception the user's input caused, under Keras' "Exception encountered when calling X" wrapper.

    Keras 3 re-raises an error from inside a layer's `call` as a new exception whose message starts
    with that phrase, keeps the original as `__context__` and quotes its message in bold.
    """
    seen = set()
    while str(error).startswith(_KERAS_CALL_PREFIX) and id(error) not in seen:
        seen.add(id(error))
        inner = error.__context__
        if inner is None:
            match = _BOLD.search(str(error))
            return match.group(1) if match else str(error)
        error = inner
    return error


def error_message(error):
    """One line that says what went wrong: the first line of the original error's message."""
    error = _original_error(error)
    text = str(error).strip()
    if text.startswith("in user code:"):  # tf.function errors: the real message is the last "XError: ..." line
        found = _TF_USER_CODE_ERROR.findall(text)
        text = found[-1] if found else text
    if isinstance(error, MemoryError):
        return f"out of memory{': ' + text.splitlines()[0] if text else ''} (ask for fewer or smaller outputs)"
    if isinstance(error, zipfile.BadZipFile):
        return f"not a readable zip file: {text}"
    if isinstance(error, EOFError):  # e.g. np.load of an empty file; click would print only "Aborted!"
        return f"a file ended too early (empty or truncated){': ' + text if text else ''}"
    return (text.splitlines()[0].strip() if text else "") or type(error).__name__


def one_line_errors(func):
    """Turns expected failures (bad input, missing files, network, unsafe pickles) into `Error: ...`, exit 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (ValueError, OSError, pickle.UnpicklingError, KeyError, OverflowError, MemoryError,
                zipfile.BadZipFile, EOFError) as e:
            click.echo(f"Error: {error_message(e)}", err=True)
            sys.exit(2)

    return wrapper


class OneLineCommand(click.Command):
    """Reports usage errors (missing option, `--psi abc`, bad choice) as one `Error: ...` line, exit code 2."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as e:
            click.echo(f"Error: {e.format_message()}", err=True)
            sys.exit(2)


class OneLineGroup(click.Group):
    """A group whose subcommands report usage errors in one line."""

    command_class = OneLineCommand


class FiniteFloat(click.FloatRange):
    """The project's type for float options: a finite number, optionally within bounds.

    `nan`, `inf`, `-inf` and numbers beyond float range (`1e400`) are refused with one line, so a
    NaN never reaches a model or a saved file.

    Example:
        @click.option("--lr", type=FiniteFloat(min=0, min_open=True), default=1e-3)
    """

    def convert(self, value, param, ctx):
        number = click.FLOAT.convert(value, param, ctx)  # finiteness first: range checks pass NaN through
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number (nan, inf and numbers beyond ±1.8e308 are refused)",
                      param, ctx)
        return super().convert(number, param, ctx)

    def _describe_range(self):
        # click would print "[x<=None]" in --help for an unbounded range.
        return "" if self.min is None and self.max is None else super()._describe_range()


# Truncation psi: beyond +-MAX_PSI the truncated w only overflows the network.
PSI = FiniteFloat(min=-MAX_PSI, max=MAX_PSI)


def count(maximum, minimum=1):
    """An int option type in `[minimum, maximum]`: the limit is checked before any list or array is built.

    Example:
        @click.option("--frames", type=count(10_000), default=60)
    """
    return click.IntRange(min=minimum, max=maximum)


SEED = click.IntRange(min=0, max=MAX_SEED)


def check_writable_dir(directory, what):
    """Creates `directory` if needed and proves it writable, before any slow work starts."""
    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as e:
        raise OSError(f"cannot write {what}: {e.strerror or e}") from None
    return directory
