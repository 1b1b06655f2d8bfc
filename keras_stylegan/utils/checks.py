"""Argument checks shared by the library; free of Keras so the CLI can check input before TensorFlow loads."""
import warnings

import numpy as np


def check_positive_int(name, value, minimum=1):
    """`value` as a Python int (NumPy integers accepted) if it is an int >= `minimum`, else a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}. Received: {value!r}")
    return int(value)


def check_finite_number(name, value, minimum=None, minimum_open=False):
    """`value` as a float if it is a finite number (and `> minimum` or `>= minimum`), else a clear error.

    NaN, inf and bools are refused: a NaN learning rate or psi would silently produce NaN weights or images.

    Example:
    >>> check_finite_number("learning_rate", 1e-3, minimum=0, minimum_open=True)
    0.001
    """
    number = None
    if not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating)):
        try:
            number = float(value)
        except OverflowError:  # a Python int beyond float range
            number = None
    if number is None or not np.isfinite(number) or (minimum is not None and (
            number <= minimum if minimum_open else number < minimum)):
        bound = "" if minimum is None else f" {'>' if minimum_open else '>='} {minimum}"
        raise ValueError(f"`{name}` must be a finite number{bound}. Received: {value!r}")
    return number


NOISE_MODES = ("const", "random", "none")  # the stored maps, fresh draws, or no noise (NVIDIA's names)


def check_noise_mode(noise_mode):
    """`noise_mode` if it is one of `NOISE_MODES`, else a clear error.

    Example:
    >>> check_noise_mode("const")
    'const'
    """
    if noise_mode not in NOISE_MODES:
        raise ValueError(f"`noise_mode` must be one of {NOISE_MODES}. Received: {noise_mode!r}")
    return noise_mode


def check_truncation_cutoff(truncation_cutoff):
    """`None` or a style-layer index >= 0 (as an int): the layers below it are truncated.

    Example:
    >>> check_truncation_cutoff(8)
    8
    """
    if truncation_cutoff is None:
        return None
    if isinstance(truncation_cutoff, bool) or not isinstance(truncation_cutoff, (int, np.integer)) \
            or truncation_cutoff < 0:
        raise ValueError(f"`truncation_cutoff` must be None or a style-layer index >= 0. "
                         f"Received: {truncation_cutoff!r}")
    return int(truncation_cutoff)


MAX_PSI = 100.0  # |psi| beyond this only overflows: w_avg + psi * (w - w_avg) leaves any useful range


def check_psi(psi):
    """A truncation `psi` as a float: finite and within +-MAX_PSI (tensors pass through, for serving).

    Example:
    >>> check_psi(0.7)
    0.7
    """
    if hasattr(psi, "dtype") and not isinstance(psi, (np.floating, np.integer)):
        return psi  # a tensor (serving, symbolic, per-sample psi): checked in-graph by its producer
    try:
        number = float(psi)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"`psi` must be a number. Received: {psi!r}") from None
    if isinstance(psi, bool) or not np.isfinite(number) or abs(number) > MAX_PSI:
        raise ValueError(f"`psi` must be a finite number within [-{MAX_PSI:g}, {MAX_PSI:g}]. Received: {psi!r}")
    return number


# Keywords renamed for one vocabulary (issue 20): `architecture` is stylegan/stylegan2/stylegan3 and
# `block_architecture` the layout of the blocks (orig/skip/resnet; StyleGAN3: t/r), in every network.
GENERATOR_RENAMED_KEYWORDS = {"synthesis_architecture": "block_architecture"}
TRAINING_RENAMED_KEYWORDS = {"d_architecture": "d_block_architecture"}  # TrainingConfig fields


def with_renamed_keys(config, renames):
    """A copy of a saved `config` dict with old key names replaced by the new ones, silently.

    For files written before a rename (`.keras` files, presets, `training_options.json`): the user
    wrote no old keyword, so there is nothing to warn about.

    Example:
    >>> with_renamed_keys({"synthesis_architecture": "orig"}, GENERATOR_RENAMED_KEYWORDS)
    {'block_architecture': 'orig'}
    """
    config = dict(config)
    for old, new in renames.items():
        if old in config:
            value = config.pop(old)
            config.setdefault(new, value)
    return config


def renamed_keyword(kwargs, old, new, value, where, stacklevel=3):
    """The value of keyword `new`, taking the deprecated spelling `old` out of `kwargs` if it is there.

    `old` still works, with a `DeprecationWarning` naming the new keyword; giving both with different
    values is an error. `value` is what the caller received for `new` (`None`: not given).

    Example:
    >>> import warnings
    >>> options = {"synthesis_architecture": "orig"}
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     renamed_keyword(options, "synthesis_architecture", "block_architecture", None, "Generator")
    'orig'
    >>> options
    {}
    """
    if old not in kwargs:
        return value
    old_value = kwargs.pop(old)
    warnings.warn(f"{where}: `{old}` is deprecated; use `{new}`.", DeprecationWarning, stacklevel=stacklevel)
    if value is not None and value != old_value:
        raise ValueError(f"{where}: `{old}` is the old name of `{new}`; pass one of them. Received: {old}="
                         f"{old_value!r}, {new}={value!r}")
    return old_value
