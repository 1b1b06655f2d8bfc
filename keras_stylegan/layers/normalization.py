"""Pixel normalization of latent vectors (Karras et al. 2018, section 4.2)."""
import keras
from keras import ops

from keras_stylegan.layers.serialization import register


def normalize_2nd_moment(x, axis=-1, epsilon=1e-8):
    """`x / sqrt(mean(x^2) + eps)` along `axis`."""
    return x * ops.rsqrt(ops.mean(ops.square(x), axis=axis, keepdims=True) + epsilon)


@register
class PixelNormalization(keras.layers.Layer):
    """Scales each vector to unit root-mean-square (normalizes z before mapping).

    Args:
        epsilon: added to the mean square.

    Example:
    >>> y = PixelNormalization()(np.full([1, 4], 3.0, "float32"))
    >>> np.allclose(y, 1.0)
    True
    """

    def __init__(self, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, inputs):
        return normalize_2nd_moment(inputs, epsilon=self.epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(epsilon=self.epsilon)
        return config
