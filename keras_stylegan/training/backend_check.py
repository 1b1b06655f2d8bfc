"""Training needs the TensorFlow backend: a clear one-line error when Keras runs on another.

The StyleGAN model's `train_step` uses `tf.GradientTape`, `tf.distribute` and `tf.data`, so it
runs on TensorFlow only. Sampling, conversion, presets and export run on every Keras 3 backend
(JAX, PyTorch, TensorFlow).
"""
import json
import os
import sys

TRAINING_BACKEND = "tensorflow"


class TrainingBackendError(ValueError):
    """Training was started while Keras runs on a backend other than TensorFlow."""


def configured_backend():
    """The backend Keras runs on, read as Keras reads it, without importing Keras when not loaded yet.

    (Importing Keras with a backend whose package is missing fails with a traceback; the check must
    come first.) `KERAS_BACKEND`, else `backend` in `$KERAS_HOME/keras.json` (default `~/.keras`),
    else TensorFlow.
    """
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "backend"):
        return keras.backend.backend()
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json")) as f:
            return str(json.load(f).get("backend", TRAINING_BACKEND))
    except (OSError, ValueError, AttributeError):
        return TRAINING_BACKEND


def check_training_backend(backend=None):
    """Raises `TrainingBackendError` (one line) unless Keras runs on TensorFlow.

    Args:
        backend: the backend name to check (default: the one Keras is running on).

    Returns:
        `"tensorflow"` when training can run.

    Raises:
        TrainingBackendError: on any other backend, e.g. `"training runs on the TensorFlow
            backend only; Keras is running on 'jax' (KERAS_BACKEND=jax). Unset ..."`.

    Example:
    >>> check_training_backend("tensorflow")
    'tensorflow'
    """
    if backend is None:
        backend = configured_backend()
    if backend != TRAINING_BACKEND:
        source = os.environ.get("KERAS_BACKEND")
        where = f" (KERAS_BACKEND={source})" if source else " (set in ~/.keras/keras.json)"
        raise TrainingBackendError(
            f"training runs on the TensorFlow backend only; Keras is running on {backend!r}{where}. "
            f"Unset KERAS_BACKEND or set KERAS_BACKEND=tensorflow to train "
            f"(sampling, conversion and export work on every backend)")
    return backend


__all__ = ["TrainingBackendError", "check_training_backend"]
