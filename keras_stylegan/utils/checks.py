"""Argument checks shared by the library; free of Keras so the CLI can check input before TensorFlow loads."""
import numpy as np


def check_positive_int(name, value, minimum=1):
    """`value` as a Python int (NumPy integers accepted) if it is an int >= `minimum`, else a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}. Received: {value!r}")
    return int(value)
