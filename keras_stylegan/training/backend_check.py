"""Training needs the TensorFlow backend: a clear one-line error when Keras runs on another.

The StyleGAN model's `train_step` uses `tf.GradientTape`, `tf.distribute` and `tf.data`, so it
runs on TensorFlow only. Sampling, conversion, presets and export run on every Keras 3 backend
(JAX, PyTorch, TensorFlow).
"""
import os

TRAINING_BACKEND = "tensorflow"


class TrainingBackendError(ValueError):
    """Training was started while Keras runs on a backend other than TensorFlow."""


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
        import keras

        backend = keras.backend.backend()
    if backend != TRAINING_BACKEND:
        source = os.environ.get("KERAS_BACKEND")
        where = f" (KERAS_BACKEND={source})" if source else " (set in ~/.keras/keras.json)"
        raise TrainingBackendError(
            f"training runs on the TensorFlow backend only; Keras is running on {backend!r}{where}. "
            f"Unset KERAS_BACKEND or set KERAS_BACKEND=tensorflow to train "
            f"(sampling, conversion and export work on every backend)")
    return backend


__all__ = ["TrainingBackendError", "check_training_backend"]
