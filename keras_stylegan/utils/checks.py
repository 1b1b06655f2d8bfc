"""Argument checks shared by the library; free of Keras so the CLI can check input before TensorFlow loads."""
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
