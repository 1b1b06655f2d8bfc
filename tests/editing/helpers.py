"""Tiny fixtures made by code for the editing tests."""
import keras

from keras_stylegan import Generator

TINY = dict(resolution=16, channels=3, z_dim=16, w_dim=16, channel_base=64, channel_max=16, mapping_layers=2)


def make_generator(**overrides):
    """A tiny generator whose images stay inside [-1, 1], so uint8 targets are not clipped."""
    keras.utils.set_random_seed(3)
    generator = Generator(**dict(TINY, **overrides))
    for variable in generator.weights:
        if "torgb" in variable.path and variable.path.endswith("kernel"):
            variable.assign(variable.numpy() * 0.3)
    return generator
