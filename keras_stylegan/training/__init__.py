"""Training: the StyleGAN keras.Model, losses, augmentation, runs (TensorFlow code lives here).

`train` and `StyleGAN` load lazily, so `keras_stylegan.training.backend_check` can refuse another
Keras backend before TensorFlow or Keras is imported.
"""
import importlib

_LAZY = {"train": "keras_stylegan.training.run", "StyleGAN": "keras_stylegan.training.stylegan"}

__all__ = ["StyleGAN", "train"]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'keras_stylegan.training' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
