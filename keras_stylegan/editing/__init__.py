"""Latent editing: an image -> w encoder, semantic directions (SeFa, InterFaceGAN) and layer-wise edits.

Names load lazily, so reading directions or parsing arguments does not start TensorFlow.

Example:
>>> directions, eigenvalues = sefa_directions(generator, layers="0-3")  # doctest: +SKIP
>>> strip = edit(generator, w, directions[0], strengths=[-3, 0, 3], layers="0-3")  # doctest: +SKIP
"""
import importlib

_LAZY = {
    "attribute_direction": "directions", "parse_layers": "directions", "read_labelled_ws": "directions",
    "sefa_directions": "directions", "style_weights": "directions",
    "edit": "edits", "load_direction": "edits", "parse_strengths": "edits",
    "Encoder": "encoder", "default_encoder_path": "encoder", "load_encoder": "encoder", "train_encoder": "encoder",
}
__all__ = sorted(_LAZY)


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'keras_stylegan.editing' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"keras_stylegan.editing.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
