"""keras-stylegan: StyleGAN (2019) and StyleGAN2 for Keras 3.

Importing the package is cheap; TensorFlow loads when a network is first used.

Example:
>>> import keras_stylegan
>>> g = keras_stylegan.Generator(resolution=16, z_dim=32, w_dim=32, channel_base=256, channel_max=16)
>>> g.num_ws
6
"""
import importlib

from keras_stylegan import _registration
from keras_stylegan.version import __version__

_registration.install()  # `.keras` files of our classes load in any process that imported us

_LAZY = {
    "Generator": "keras_stylegan.networks",
    "Discriminator": "keras_stylegan.networks",
    "MappingNetwork": "keras_stylegan.networks",
    "SynthesisNetwork": "keras_stylegan.networks",
    "StyleGAN": "keras_stylegan.training",
    "train": "keras_stylegan.training",
    "generate_images": "keras_stylegan.sampling",
    "style_mixing_grid": "keras_stylegan.sampling",
    "interpolate": "keras_stylegan.sampling",
    "noise_variation": "keras_stylegan.sampling",
    "project": "keras_stylegan.projection",
    "zoo": "keras_stylegan.zoo",
    "editing": "keras_stylegan.editing",
    "export": "keras_stylegan.export",
    "layers": "keras_stylegan.layers",
    "networks": "keras_stylegan.networks",
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'keras_stylegan' has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name])
    value = module if module.__name__.endswith("." + name) else getattr(module, name)
    globals()[name] = value
    _registration.register_all()  # now that the import is complete, if it loaded Keras
    return value


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
