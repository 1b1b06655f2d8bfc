"""Equalized-learning-rate Dense and Conv2D (Karras et al. 2018, section 4.1).

Weights are stored unscaled, drawn from N(0, 1/lr_multiplier), and multiplied by
`lr_multiplier * weight_gain / sqrt(fan_in)` at run time, as NVIDIA stores them, so
official weights load without rescaling.
"""
import math

import keras
import numpy as np  # noqa: F401 - the docstring examples use it
from keras import ops

from keras_stylegan.layers.serialization import register
from keras_stylegan.layers.upfirdn import filter_size, filter_taps, setup_filter, upfirdn2d

ACTIVATIONS = ("linear", "lrelu")
DEFAULT_GAINS = {"linear": 1.0, "lrelu": math.sqrt(2.0)}


def check_activation(activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}. Received: {activation!r}")
    return activation


def bias_act(x, bias=None, activation="linear", gain=None, clamp=None):
    """NVIDIA's fused bias + activation: add bias, activate, scale by gain, clamp."""
    if bias is not None:
        x = x + ops.cast(bias, x.dtype)
    if activation == "lrelu":
        x = ops.leaky_relu(x, negative_slope=0.2)
    gain = DEFAULT_GAINS[activation] if gain is None else gain
    if gain != 1:
        x = x * gain
    if clamp is not None:
        x = ops.clip(x, -clamp, clamp)
    return x


def transposed_conv_fir_padding(f, up, kh, kw, padding):
    """Padding `(x0, x1, y0, y1)` of the FIR filter after a stride-`up` transposed convolution."""
    fw, fh = filter_size(f)
    px = (fw - up) - (kw - 1)
    py = (fh - up) - (kh - 1)
    pad = ((px + 1) // 2 + up - 1, px // 2 + 1, (py + 1) // 2 + up - 1, py // 2 + 1)
    return tuple(v + padding - (kw // 2 if i < 2 else kh // 2) for i, v in enumerate(pad))


def conv2d_resample(x, w, f=None, up=1, down=1, padding=0):
    """Correlates NHWC `x` with an HWIO kernel `w`, with FIR up- or down-sampling.

    Semantics (NVIDIA's TF): up = FIR-upsample `x`, then convolve; down = convolve,
    then FIR-downsample. Implemented with one transposed or strided convolution.
    """
    kh, kw = int(w.shape[0]), int(w.shape[1])
    if up > 1 and down > 1:
        raise ValueError("conv2d_resample takes up or down, not both")
    if up > 1:
        fw, fh = filter_size(f)
        if kh == 1 and kw == 1:  # 1x1: convolve first, then upsample (cheaper)
            x = ops.conv(x, w, strides=1, padding="valid")
            p = ((fw + up - 1) // 2, (fw - up) // 2, (fh + up - 1) // 2, (fh - up) // 2)
            return upfirdn2d(x, f, up=up, padding=tuple(v + padding for v in p), gain=up * up)
        # Transposed conv = zero insertion + convolution with the flipped kernel.
        # one axis per flip: OpenVINO's TensorFlow front end converts only single-axis reverses
        w_t = ops.transpose(ops.flip(ops.flip(w, axis=0), axis=1), (0, 1, 3, 2))
        x = ops.conv_transpose(x, w_t, strides=up, padding="valid")
        return upfirdn2d(x, f, padding=transposed_conv_fir_padding(f, up, kh, kw, padding), gain=up * up)
    if down > 1:
        fw, fh = filter_size(f)
        if kh == 1 and kw == 1:  # 1x1: downsample first, then convolve (cheaper)
            p = ((fw - down + 1) // 2, (fw - down) // 2, (fh - down + 1) // 2, (fh - down) // 2)
            x = upfirdn2d(x, f, down=down, padding=tuple(v + padding for v in p))
            return ops.conv(x, w, strides=1, padding="valid")
        px = (fw - down) + (kw - 1)
        py = (fh - down) + (kh - 1)
        pad = ((px + 1) // 2, px // 2, (py + 1) // 2, py // 2)
        pad = tuple(v + padding - (kw // 2 if i < 2 else kh // 2) for i, v in enumerate(pad))
        x = upfirdn2d(x, f, padding=pad)
        return ops.conv(x, w, strides=down, padding="valid")
    if padding:
        x = ops.pad(x, [[0, 0], [padding, padding], [padding, padding], [0, 0]])
    return ops.conv(x, w, strides=1, padding="valid")


@register
class EqualizedDense(keras.layers.Layer):
    """Fully connected layer with equalized learning rate (NVIDIA's FullyConnectedLayer).

    Computes `act(x @ (W * lr_multiplier * weight_gain / sqrt(fan_in)) + b * lr_multiplier)
    * activation_gain`, clamped to `[-clamp, clamp]` when `clamp` is set.

    Args:
        units: output width.
        activation: `"linear"` or `"lrelu"` (slope 0.2).
        lr_multiplier: learning-rate multiplier (0.01 in the mapping network).
        bias_init: initial stored bias value.
        use_bias: whether to add a bias.
        weight_gain: extra factor folded into the weight scale (StyleGAN 2019 folds the
            activation's sqrt(2) here; StyleGAN2 applies it after the activation).
        activation_gain: gain after the activation; `None` means sqrt(2) for lrelu
            and 1 for linear (NVIDIA's defaults).
        clamp: optional clamp of the output.

    Example:
    >>> layer = EqualizedDense(8, activation="lrelu", lr_multiplier=0.01)
    >>> tuple(layer(np.ones([2, 4], "float32")).shape)
    (2, 8)
    """

    def __init__(self, units, activation="linear", lr_multiplier=1.0, bias_init=0.0, use_bias=True,
                 weight_gain=1.0, activation_gain=None, clamp=None, **kwargs):
        super().__init__(**kwargs)
        if int(units) < 1:
            raise ValueError(f"units must be >= 1. Received: {units}")
        self.units = int(units)
        self.activation = check_activation(activation)
        self.lr_multiplier = float(lr_multiplier)
        self.bias_init = float(bias_init)
        self.use_bias = bool(use_bias)
        self.weight_gain = float(weight_gain)
        self.activation_gain = None if activation_gain is None else float(activation_gain)
        self.clamp = None if clamp is None else float(clamp)

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.kernel = self.add_weight(
            name="kernel", shape=(fan_in, self.units),
            initializer=keras.initializers.RandomNormal(stddev=1.0 / self.lr_multiplier),
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.units,), initializer=keras.initializers.Constant(self.bias_init)
            )
        self._scale = self.lr_multiplier * self.weight_gain / math.sqrt(fan_in)

    def call(self, inputs):
        x = ops.matmul(inputs, ops.cast(self.kernel, inputs.dtype) * self._scale)
        bias = None if self.bias is None else self.bias * self.lr_multiplier
        return bias_act(x, bias, self.activation, self.activation_gain, self.clamp)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units, activation=self.activation, lr_multiplier=self.lr_multiplier,
            bias_init=self.bias_init, use_bias=self.use_bias, weight_gain=self.weight_gain,
            activation_gain=self.activation_gain, clamp=self.clamp,
        )
        return config


@register
class EqualizedConv2D(keras.layers.Layer):
    """2-D convolution with equalized learning rate and FIR resampling (NVIDIA's Conv2dLayer).

    The kernel is stored `[kh, kw, in, out]` (TF layout). `up=2` upsamples with the FIR
    filter before convolving, `down=2` convolves and then downsamples, as in StyleGAN2.
    A box filter `(1, 1)` gives StyleGAN (2019)'s nearest-neighbour upscale and 2x2
    average-pool downscale.

    Args:
        filters: output channels.
        kernel_size: odd kernel size.
        activation: `"linear"` or `"lrelu"`.
        use_bias: whether to add a bias.
        up: 1 or 2.
        down: 1 or 2.
        resample_filter: FIR taps for up/down sampling.
        lr_multiplier: learning-rate multiplier.
        weight_gain: extra factor folded into the weight scale (see `EqualizedDense`).
        activation_gain: gain after the activation (`None`: NVIDIA's default).
        clamp: optional clamp of the output (NVIDIA's `conv_clamp`).

    Call arguments:
        inputs: `[N, H, W, C]`.
        gain: extra output gain (e.g. sqrt(0.5) on residual branches).

    Example:
    >>> layer = EqualizedConv2D(8, 3, activation="lrelu", down=2)
    >>> tuple(layer(np.ones([1, 8, 8, 3], "float32")).shape)
    (1, 4, 4, 8)
    """

    def __init__(self, filters, kernel_size, activation="linear", use_bias=True, up=1, down=1,
                 resample_filter=(1, 3, 3, 1), lr_multiplier=1.0, weight_gain=1.0,
                 activation_gain=None, clamp=None, **kwargs):
        super().__init__(**kwargs)
        if int(kernel_size) < 1 or int(kernel_size) % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd int. Received: {kernel_size}")
        if int(up) not in (1, 2) or int(down) not in (1, 2) or (int(up) == 2 and int(down) == 2):
            raise ValueError(f"up and down must be 1 or 2, not both 2. Received: up={up}, down={down}")
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.activation = check_activation(activation)
        self.use_bias = bool(use_bias)
        self.up = int(up)
        self.down = int(down)
        self.resample_filter = filter_taps(resample_filter)
        self.lr_multiplier = float(lr_multiplier)
        self.weight_gain = float(weight_gain)
        self.activation_gain = None if activation_gain is None else float(activation_gain)
        self.clamp = None if clamp is None else float(clamp)
        self._filter = setup_filter(self.resample_filter)

    def build(self, input_shape):
        in_channels = int(input_shape[-1])
        k = self.kernel_size
        self.kernel = self.add_weight(
            name="kernel", shape=(k, k, in_channels, self.filters),
            initializer=keras.initializers.RandomNormal(stddev=1.0 / self.lr_multiplier),
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
        self._scale = self.lr_multiplier * self.weight_gain / math.sqrt(in_channels * k * k)

    def call(self, inputs, gain=1.0):
        # The convolution runs in the compute dtype; bias, activation and clamp in the input's
        # (float32 features of a mixed-precision generator are rounded only around the conv).
        w = ops.cast(ops.cast(self.kernel, "float32") * self._scale, self.compute_dtype)
        x = conv2d_resample(ops.cast(inputs, self.compute_dtype), w, f=self._filter, up=self.up, down=self.down,
                            padding=self.kernel_size // 2)
        x = ops.cast(x, inputs.dtype)
        bias = None if self.bias is None else self.bias * self.lr_multiplier
        act_gain = DEFAULT_GAINS[self.activation] if self.activation_gain is None else self.activation_gain
        clamp = None if self.clamp is None else self.clamp * gain
        return bias_act(x, bias, self.activation, act_gain * gain, clamp)

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        scale = lambda v: None if v is None else v * self.up // self.down  # noqa: E731
        return (n, scale(h), scale(w), self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters, kernel_size=self.kernel_size, activation=self.activation,
            use_bias=self.use_bias, up=self.up, down=self.down, resample_filter=self.resample_filter,
            lr_multiplier=self.lr_multiplier, weight_gain=self.weight_gain,
            activation_gain=self.activation_gain, clamp=self.clamp,
        )
        return config
