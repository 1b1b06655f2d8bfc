"""FIR resampling with upfirdn2d semantics (StyleGAN's "bilinear" sampling).

`upfirdn2d` upsamples by zero insertion, pads (or crops, for negative padding),
convolves with a 2-D or separable FIR filter, and keeps every `down`-th sample,
exactly as NVIDIA's `upfirdn2d` does, on NHWC tensors with `keras.ops`.
"""
import numpy as np
from keras import ops

import keras

from keras_stylegan.layers.serialization import register


def _pair(value):
    if isinstance(value, (list, tuple)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


def parse_padding(padding):
    """`int`, `(px, py)` or `(px0, px1, py0, py1)` -> `(px0, px1, py0, py1)`."""
    if isinstance(padding, int):
        return padding, padding, padding, padding
    padding = tuple(int(p) for p in padding)
    if len(padding) == 2:
        return padding[0], padding[0], padding[1], padding[1]
    if len(padding) != 4:
        raise ValueError(f"padding must have 1, 2 or 4 values. Received: {padding}")
    return padding


def setup_filter(f, normalize=True):
    """A 1-D (separable) or 2-D FIR filter as float32, normalized to unit sum."""
    f = np.asarray(f if f is not None else [1], dtype=np.float32)
    if f.ndim not in (1, 2) or f.size == 0:
        raise ValueError(f"resample_filter must be a non-empty 1-D or 2-D array. Received shape {f.shape}")
    if normalize:
        f = f / f.sum()
    return f


def filter_taps(resample_filter, name="resample_filter"):
    """Validates 1-D filter taps (applied separably) and returns them as a list of floats."""
    taps = np.asarray(resample_filter, dtype=np.float64)
    if taps.ndim != 1 or taps.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D list of taps. Received shape {taps.shape}")
    return [float(v) for v in taps]


def filter_size(f):
    f = np.asarray(f)
    if f.ndim == 1:
        return f.shape[0], f.shape[0]
    return f.shape[1], f.shape[0]  # (fw, fh)


def _depthwise(x, kernel_2d, strides):
    channels = x.shape[-1]
    kernel = np.tile(kernel_2d[:, :, None, None], [1, 1, channels, 1]).astype(np.float32)
    kernel = ops.cast(kernel, x.dtype)
    if strides[0] != strides[1]:  # TensorFlow's depthwise kernel takes equal strides only: stride 1, then slice
        return ops.depthwise_conv(x, kernel, strides=1, padding="valid")[:, ::strides[0], ::strides[1], :]
    return ops.depthwise_conv(x, kernel, strides=strides, padding="valid")



def insert_zeros(x, upx, upy):
    """NHWC `x` with `upx - 1` zero columns after each column and `upy - 1` zero rows after each row.

    Two 4-D pads rather than one 6-D pad: LiteRT's built-in Pad takes at most 5 dimensions, so a
    6-D pad would need TensorFlow's kernels (Flex) on the device.
    """
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    x = ops.reshape(x, [-1, height, 1, width * channels])
    x = ops.pad(x, [[0, 0], [0, 0], [0, upy - 1], [0, 0]])  # zero rows
    x = ops.reshape(x, [-1, width, 1, channels])
    x = ops.pad(x, [[0, 0], [0, 0], [0, upx - 1], [0, 0]])  # zero columns
    return ops.reshape(x, [-1, height * upy, width * upx, channels])

def upfirdn2d(x, f, up=1, down=1, padding=0, gain=1.0, flip_filter=False):
    """Pad, upsample, filter and downsample an NHWC batch.

    Args:
        x: tensor `[N, H, W, C]`.
        f: FIR filter, 1-D (applied separably) or 2-D `[fh, fw]`, as a NumPy array.
        up: integer upsampling factor (int or `(ux, uy)`).
        down: integer downsampling factor (int or `(dx, dy)`).
        padding: `int`, `(px, py)` or `(px0, px1, py0, py1)`; negative values crop.
        gain: overall scaling of the signal magnitude.
        flip_filter: `False` convolves (NVIDIA's default), `True` correlates.

    Example:
    >>> y = upfirdn2d(np.ones([1, 4, 4, 1], "float32"), setup_filter([1, 3, 3, 1]), up=2, padding=(2, 1, 2, 1), gain=4)
    >>> tuple(y.shape)
    (1, 8, 8, 1)
    """
    upx, upy = _pair(up)
    downx, downy = _pair(down)
    px0, px1, py0, py1 = parse_padding(padding)
    f = np.asarray(f, dtype=np.float32)
    height, width = x.shape[1], x.shape[2]

    if upx > 1 or upy > 1:
        x = insert_zeros(x, upx, upy)
        height, width = height * upy, width * upx

    x = ops.pad(x, [[0, 0], [max(py0, 0), max(py1, 0)], [max(px0, 0), max(px1, 0)], [0, 0]])
    if min(px0, px1, py0, py1) < 0:
        h, w = x.shape[1], x.shape[2]
        x = x[:, max(-py0, 0): h - max(-py1, 0), max(-px0, 0): w - max(-px1, 0), :]

    if f.ndim == 1:
        f = np.outer(f, f)  # one 2-D pass is faster here than two 1-D passes
    f = f * np.float32(gain)
    if not flip_filter:
        f = np.flip(f, axis=(0, 1)).copy()
    return _depthwise(x, f, strides=(downy, downx))


def upsample2d(x, f, up=2, padding=0, gain=1.0):
    """Upsample with a FIR filter, padding chosen so the size is multiplied by `up`."""
    px0, px1, py0, py1 = parse_padding(padding)
    fw, fh = filter_size(f)
    p = (px0 + (fw + up - 1) // 2, px1 + (fw - up) // 2, py0 + (fh + up - 1) // 2, py1 + (fh - up) // 2)
    return upfirdn2d(x, f, up=up, padding=p, gain=gain * up * up)


def downsample2d(x, f, down=2, padding=0, gain=1.0):
    """Downsample with a FIR filter, padding chosen so the size is divided by `down`."""
    px0, px1, py0, py1 = parse_padding(padding)
    fw, fh = filter_size(f)
    p = (px0 + (fw - down + 1) // 2, px1 + (fw - down) // 2, py0 + (fh - down + 1) // 2, py1 + (fh - down) // 2)
    return upfirdn2d(x, f, down=down, padding=p, gain=gain)


@register
class FirResample(keras.layers.Layer):
    """Resamples NHWC images with a FIR filter (StyleGAN's [1, 3, 3, 1] "bilinear").

    Args:
        up: upsampling factor (1 for none).
        down: downsampling factor (1 for none).
        resample_filter: 1-D filter taps, applied separably and normalized to unit sum.
        padding: extra padding `(px0, px1, py0, py1)` before filtering; 0 keeps the
            size an exact multiple (`H * up / down`).
        gain: signal gain.

    Example:
    >>> layer = FirResample(up=2)
    >>> tuple(layer(np.zeros([2, 8, 4, 3], "float32")).shape)
    (2, 16, 8, 3)
    """

    def __init__(self, up=1, down=1, resample_filter=(1, 3, 3, 1), padding=0, gain=1.0, **kwargs):
        super().__init__(**kwargs)
        if int(up) < 1 or int(down) < 1 or (int(up) > 1 and int(down) > 1):
            raise ValueError(f"Use up or down (each >= 1), not both. Received: up={up}, down={down}")
        self.up = int(up)
        self.down = int(down)
        self.resample_filter = filter_taps(resample_filter)
        self.padding = padding if isinstance(padding, int) else tuple(padding)
        self.gain = float(gain)
        self._filter = setup_filter(self.resample_filter)

    def call(self, inputs):
        x = inputs
        if self.up > 1:
            x = upsample2d(x, self._filter, up=self.up, padding=self.padding, gain=self.gain)
        elif self.down > 1:
            x = downsample2d(x, self._filter, down=self.down, padding=self.padding, gain=self.gain)
        else:
            fw, fh = filter_size(self._filter)
            px0, px1, py0, py1 = parse_padding(self.padding)
            pad = (px0 + fw // 2, px1 + (fw - 1) // 2, py0 + fh // 2, py1 + (fh - 1) // 2)  # NVIDIA's filter2d
            x = upfirdn2d(x, self._filter, padding=pad, gain=self.gain)
        return x

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        px0, px1, py0, py1 = parse_padding(self.padding)
        h = None if h is None else (h * self.up + py0 + py1) // self.down
        w = None if w is None else (w * self.up + px0 + px1) // self.down
        return (n, h, w, c)

    def get_config(self):
        config = super().get_config()
        config.update(
            up=self.up, down=self.down, resample_filter=list(self.resample_filter),
            padding=self.padding, gain=self.gain,
        )
        return config
