"""ToRGB and FromRGB: 1x1 convolutions between feature maps and images."""
import math

import keras

from keras_stylegan.layers.equalized import EqualizedConv2D, EqualizedDense, bias_act
from keras_stylegan.layers.modulation import modulated_conv2d
from keras_stylegan.layers.serialization import register


@register
class ToRGB(keras.layers.Layer):
    """Features -> image channels.

    StyleGAN2 (`modulated=True`): a 1x1 modulated convolution without demodulation, its
    styles from an affine of `w` scaled by `1/sqrt(fan_in)`, plus a bias (NVIDIA's
    ToRGBLayer). StyleGAN 2019 (`modulated=False`): a plain equalized 1x1 convolution.

    Args:
        channels: image channels (1 gray, 3 RGB, 4 RGBA).
        modulated: StyleGAN2's modulated form.
        clamp: optional output clamp (NVIDIA's `conv_clamp`).

    Call arguments:
        inputs: `[x, w]` when modulated, else `x`.

    Example:
    >>> layer = ToRGB(4)
    >>> tuple(layer([np.ones([2, 8, 8, 16], "float32"), np.ones([2, 32], "float32")]).shape)
    (2, 8, 8, 4)
    """

    def __init__(self, channels, modulated=True, clamp=None, **kwargs):
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.modulated = bool(modulated)
        self.clamp = None if clamp is None else float(clamp)

    def build(self, input_shape):
        x_shape = input_shape[0] if self.modulated else input_shape
        in_channels = int(x_shape[-1])
        if self.modulated:
            self.affine = EqualizedDense(in_channels, bias_init=1.0, name="affine")
            self.affine.build(input_shape[1])
            self.kernel = self.add_weight(
                name="kernel", shape=(1, 1, in_channels, self.channels),
                initializer=keras.initializers.RandomNormal(stddev=1.0),
            )
            self.bias = self.add_weight(name="bias", shape=(self.channels,), initializer="zeros")
            self.weight_gain = 1.0 / math.sqrt(in_channels)
        else:
            self.conv = EqualizedConv2D(self.channels, 1, clamp=self.clamp, name="conv")
            self.conv.build(x_shape)

    def call(self, inputs):
        if not self.modulated:
            return self.conv(inputs)
        x, w = inputs
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.kernel, styles, demodulate=False)
        return bias_act(x, self.bias, clamp=self.clamp)

    def compute_output_shape(self, input_shape):
        x_shape = input_shape[0] if self.modulated else input_shape
        return tuple(x_shape[:-1]) + (self.channels,)

    def get_config(self):
        config = super().get_config()
        config.update(channels=self.channels, modulated=self.modulated, clamp=self.clamp)
        return config


@register
class FromRGB(EqualizedConv2D):
    """Image channels -> features: an equalized 1x1 convolution with leaky ReLU.

    Args:
        filters: output channels.
        **kwargs: `EqualizedConv2D` arguments (`weight_gain`, `activation_gain`, `clamp`).

    Example:
    >>> tuple(FromRGB(16)(np.ones([1, 8, 8, 4], "float32")).shape)
    (1, 8, 8, 16)
    """

    def __init__(self, filters, kernel_size=1, activation="lrelu", **kwargs):
        super().__init__(filters, kernel_size, activation=activation, **kwargs)


__all__ = ["ToRGB", "FromRGB"]
