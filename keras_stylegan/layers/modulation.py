"""Style modulation: AdaIN (StyleGAN 2019) and modulated convolution (StyleGAN2)."""
import math

import keras
import numpy as np  # noqa: F401 - the docstring examples use it
from keras import ops

from keras_stylegan.layers.equalized import EqualizedDense, conv2d_resample, transposed_conv_fir_padding
from keras_stylegan.layers.serialization import register
from keras_stylegan.layers.upfirdn import filter_taps, insert_zeros, setup_filter, upfirdn2d


def instance_norm(x, epsilon=1e-8):
    """Normalizes each channel of each sample to zero mean and unit variance (NHWC).

    The statistics are taken in float32 whatever the input's dtype (bfloat16 sums lose digits).
    """
    dtype = x.dtype
    x = ops.cast(x, "float32")
    x = x - ops.mean(x, axis=(1, 2), keepdims=True)
    return ops.cast(x * ops.rsqrt(ops.mean(ops.square(x), axis=(1, 2), keepdims=True) + epsilon), dtype)


@register
class AdaIN(keras.layers.Layer):
    """Adaptive instance normalization (Karras et al. 2019, eq. 1).

    Instance-normalizes `x`, then applies a per-channel scale and bias computed from `w`
    by an equalized affine layer (`style`, NVIDIA's `StyleMod`):
    `y = norm(x) * (1 + s) + b` with `[s, b] = style(w)`.

    Args:
        epsilon: added to the variance.

    Call arguments:
        inputs: `[x, w]` with `x` `[N, H, W, C]` and `w` `[N, w_dim]`.

    Example:
    >>> layer = AdaIN()
    >>> tuple(layer([np.ones([2, 4, 4, 8], "float32"), np.ones([2, 16], "float32")]).shape)
    (2, 4, 4, 8)
    """

    def __init__(self, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        x_shape, w_shape = input_shape
        self.channels = int(x_shape[-1])
        self.style = EqualizedDense(2 * self.channels, activation="linear", name="style")
        self.style.build(w_shape)

    def call(self, inputs):
        x, w = inputs
        style = ops.cast(self.style(w), x.dtype)
        scale = style[:, None, None, : self.channels] + 1.0
        bias = style[:, None, None, self.channels:]
        return instance_norm(x, self.epsilon) * scale + bias

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update(epsilon=self.epsilon)
        return config


def modulated_conv2d(x, weight, styles, demodulate=True, up=1, down=1, resample_filter=None,
                     padding=0, fused=False, compute_dtype=None):
    """Modulated (and demodulated) convolution of StyleGAN2 (Karras et al. 2020, eq. 1-3).

    The kernel of sample n is `w'[kh, kw, i, o] = w[kh, kw, i, o] * s[n, i]`, divided by
    `sqrt(sum_{kh,kw,i} w'^2 + 1e-8)` when demodulating. Two equivalent implementations:
    scaling the activations around one shared convolution (default; fast on CPUs and
    GPUs alike), or one grouped convolution with per-sample kernels (`fused=True`).

    Args:
        x: `[N, H, W, I]`.
        weight: `[kh, kw, I, O]`.
        styles: `[N, I]`.
        compute_dtype: dtype of the convolution itself (e.g. `"bfloat16"`; default: `x`'s).
            Everything else (modulation, demodulation coefficients, the output) stays in
            `x`'s dtype, so only the convolution's inputs and output are rounded.
    """
    dtype = x.dtype
    compute_dtype = compute_dtype or dtype
    dcoefs = None
    if demodulate:
        weight32, styles32 = ops.cast(weight, "float32"), ops.cast(styles, "float32")
        w2 = ops.sum(ops.square(weight32), axis=(0, 1))  # [I, O]
        dcoefs = ops.cast(ops.rsqrt(ops.matmul(ops.square(styles32), w2) + 1e-8), dtype)  # [N, O]
    styles = ops.cast(styles, dtype)
    if not fused:
        # float16 holds at most 65504: the raw N(0, 1) weights are scaled down by the fan-in for the
        # convolution and the result back up in x's dtype (NVIDIA pre-normalizes for the same reason).
        fan_in = int(weight.shape[0]) * int(weight.shape[1]) * int(weight.shape[2])
        gain = math.sqrt(fan_in) if keras.backend.standardize_dtype(compute_dtype) == "float16" else 1.0
        x = ops.cast(x * styles[:, None, None, :], compute_dtype)
        x = conv2d_resample(x, ops.cast(weight / gain, compute_dtype), f=resample_filter, up=up, down=down,
                            padding=padding)
        x = ops.cast(x, dtype) if gain == 1.0 else ops.cast(x, dtype) * gain
        if dcoefs is not None:
            x = x * dcoefs[:, None, None, :]
        return x
    weight = ops.cast(weight, dtype)
    if dcoefs is not None:  # the grouped kernels are built in x's dtype, then rounded once
        dcoefs = ops.cast(dcoefs, dtype)
    y = _grouped_modulated_conv2d(x, weight, styles, dcoefs, up, down, resample_filter, padding, compute_dtype)
    return ops.cast(y, dtype)


def _grouped_modulated_conv2d(x, weight, styles, dcoefs, up, down, resample_filter, padding, compute_dtype):
    """One convolution over all samples, with the batch folded into channel groups.

    Written with `keras.ops` only (`ops.conv` runs a grouped convolution when the input has a
    multiple of the kernel's input channels), so it runs on every Keras backend.
    """
    kh, kw, cin, cout = (int(v) for v in weight.shape)
    w = weight[None] * styles[:, None, None, :, None]  # [N, kh, kw, I, O]
    if dcoefs is not None:
        w = w * dcoefs[:, None, None, None, :]
    # [kh, kw, I, N*O]: group g uses input channels of sample g and produces its outputs.
    w = ops.cast(ops.reshape(ops.transpose(w, (1, 2, 3, 0, 4)), (kh, kw, cin, -1)), compute_dtype)
    height, width = int(x.shape[1]), int(x.shape[2])
    xg = ops.cast(ops.reshape(ops.transpose(x, (1, 2, 0, 3)), (1, height, width, -1)), compute_dtype)  # [1, H, W, N*I]
    if up > 1 and (kh > 1 or kw > 1):
        y = _grouped_upsampling_conv2d(xg, w, resample_filter, up, padding)
    else:
        y = conv2d_resample(xg, w, f=resample_filter, up=up, down=down, padding=padding)
    y = ops.reshape(y, (int(y.shape[1]), int(y.shape[2]), -1, cout))  # [H', W', N, O]
    return ops.transpose(y, (2, 0, 1, 3))


def _grouped_upsampling_conv2d(x, w, f, up, padding):
    """`conv2d_resample(x, w, f, up=up)` for a grouped kernel, without a transposed convolution.

    Keras has no grouped transposed convolution. A stride-`up` transposed convolution with the
    flipped kernel equals inserting `up - 1` zeros after each pixel, padding by `k - 1` and
    correlating with `w`; the FIR filter then runs on that output exactly as in `conv2d_resample`.
    """
    kh, kw = int(w.shape[0]), int(w.shape[1])
    height, width = int(x.shape[1]), int(x.shape[2])
    x = insert_zeros(x, up, up)
    x = x[:, : (height - 1) * up + 1, : (width - 1) * up + 1]  # no zeros after the last pixel
    x = ops.pad(x, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]])
    x = ops.conv(x, w, strides=1, padding="valid")
    pad = transposed_conv_fir_padding(f, up, kh, kw, padding)
    return upfirdn2d(x, f, padding=pad, gain=up * up)


@register
class ModulatedConv2D(keras.layers.Layer):
    """Convolution whose kernel is modulated per sample by styles (StyleGAN2).

    The kernel `[kh, kw, in, out]` is stored unscaled; demodulation makes its scale
    irrelevant, so no equalized-lr gain is applied (as in NVIDIA's code).

    Args:
        filters: output channels.
        kernel_size: odd kernel size.
        demodulate: divide by the per-sample kernel norm (off for ToRGB).
        up: 1 or 2 (FIR upsampling before the convolution).
        down: 1 or 2 (FIR downsampling after the convolution).
        resample_filter: FIR taps.
        fused: compute with one grouped convolution instead of activation scaling.

    Call arguments:
        inputs: `[x, styles]`, `x` `[N, H, W, in]`, `styles` `[N, in]`.

    Example:
    >>> layer = ModulatedConv2D(8, 3, up=2)
    >>> tuple(layer([np.ones([2, 4, 4, 6], "float32"), np.ones([2, 6], "float32")]).shape)
    (2, 8, 8, 8)
    """

    def __init__(self, filters, kernel_size, demodulate=True, up=1, down=1,
                 resample_filter=(1, 3, 3, 1), fused=False, **kwargs):
        super().__init__(**kwargs)
        if int(kernel_size) < 1 or int(kernel_size) % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd int. Received: {kernel_size}")
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.demodulate = bool(demodulate)
        self.up = int(up)
        self.down = int(down)
        self.resample_filter = filter_taps(resample_filter)
        self.fused = bool(fused)
        self._filter = setup_filter(self.resample_filter)

    def build(self, input_shape):
        x_shape, _ = input_shape
        k = self.kernel_size
        self.kernel = self.add_weight(
            name="kernel", shape=(k, k, int(x_shape[-1]), self.filters),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
        )
        self.fan_in = int(x_shape[-1]) * k * k

    def call(self, inputs):
        x, styles = inputs
        return modulated_conv2d(
            x, self.kernel, styles, demodulate=self.demodulate, up=self.up, down=self.down,
            resample_filter=self._filter, padding=self.kernel_size // 2, fused=self.fused,
            compute_dtype=self.compute_dtype,
        )

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape[0]
        scale = lambda v: None if v is None else v * self.up // self.down  # noqa: E731
        return (n, scale(h), scale(w), self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters, kernel_size=self.kernel_size, demodulate=self.demodulate,
            up=self.up, down=self.down, resample_filter=self.resample_filter, fused=self.fused,
        )
        return config


__all__ = ["AdaIN", "ModulatedConv2D", "instance_norm", "modulated_conv2d"]
