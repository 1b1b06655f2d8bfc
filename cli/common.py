"""Shared CLI plumbing: quiet TensorFlow, one-line errors with exit code 2."""
import functools
import os
import pickle
import sys
import tempfile

import click

from keras_stylegan.cli import quiet_tensorflow

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
quiet_tensorflow.install()


def one_line_errors(func):
    """Turns expected failures (bad input, missing files, network, unsafe pickles) into `Error: ...`, exit 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (ValueError, OSError, pickle.UnpicklingError, KeyError) as e:
            message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            click.echo(f"Error: {message}", err=True)
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


def check_writable_dir(directory, what):
    """Creates `directory` if needed and proves it writable, before any slow work starts."""
    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as e:
        raise OSError(f"cannot write {what}: {e.strerror or e}") from None
    return directory
