"""Filtered leaky ReLU of StyleGAN3 (Karras et al. 2021, "Alias-Free GANs", section 3.2).

A nonlinearity applied at a higher sampling rate, between an upsampling and a downsampling
low-pass filter, so the aliases it creates are removed before resampling:

    bias -> upsample (zero insertion, pad/crop, FIR filter, gain up**2)
         -> leaky ReLU x gain -> clamp -> FIR filter -> keep every `down`-th sample.

NHWC, `keras.ops` only. Filters are 1-D (applied separably, one axis at a time, which is
cheaper than the 2-D outer product) or 2-D (the radially symmetric filters of StyleGAN3-R).
`design_lowpass_filter` designs both kinds in NumPy (Kaiser-windowed sinc / jinc), for
networks built from scratch; converted networks use the filters stored in the pickle.
"""
import math

import numpy as np
from keras import ops

from keras_stylegan.layers.upfirdn import parse_padding


def kaiser_beta(attenuation):
    """Kaiser window beta for a stop-band attenuation in dB (Kaiser's empirical formula)."""
    if attenuation > 50:
        return 0.1102 * (attenuation - 8.7)
    if attenuation > 21:
        return 0.5842 * (attenuation - 21) ** 0.4 + 0.07886 * (attenuation - 21)
    return 0.0


def kaiser_attenuation(numtaps, width):
    """Attenuation (dB) of a Kaiser FIR filter with `numtaps` taps and transition `width` (fraction of Nyquist)."""
    return 2.285 * (numtaps - 1) * math.pi * width + 7.95


def bessel_j1(x):
    """J1(x) from its integral form, `mean over tau of cos(tau - x sin tau)` on a full period.

    The integrand is smooth and 2*pi-periodic, so equispaced sampling converges exponentially:
    512 samples give float64 accuracy for |x| < 200 (far beyond the filters' range).
    """
    tau = np.linspace(-np.pi, np.pi, 512, endpoint=False)
    x = np.asarray(x, dtype=np.float64)
    return np.cos(tau - x[..., None] * np.sin(tau)).mean(axis=-1)


def design_lowpass_filter(numtaps, cutoff, width, fs, radial=False):
    """A low-pass FIR filter with unit DC gain, or `None` for a single tap (identity).

    Args:
        numtaps: number of taps per axis.
        cutoff: cutoff frequency (same unit as `fs`).
        width: transition band width.
        fs: sampling rate.
        radial: a 2-D radially symmetric (jinc) filter instead of a 1-D Kaiser-windowed sinc.

    Example:
    >>> f = design_lowpass_filter(12, cutoff=4, width=2, fs=32)
    >>> f.shape, round(float(f.sum()), 6)
    ((12,), 1.0)
    """
    if numtaps < 1:
        raise ValueError(f"numtaps must be >= 1. Received: {numtaps}")
    if numtaps == 1:
        return None
    beta = kaiser_beta(kaiser_attenuation(numtaps, width / (fs / 2)))
    window = np.kaiser(numtaps, beta)
    if not radial:
        band = 2 * cutoff / fs  # cutoff as a fraction of Nyquist
        taps = band * np.sinc(band * (np.arange(numtaps) - (numtaps - 1) / 2)) * window
        return (taps / taps.sum()).astype(np.float32)
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    safe_r = np.where(r == 0, 1.0, r)
    f = np.where(r == 0, cutoff, bessel_j1(2 * np.pi * cutoff * safe_r) / (np.pi * safe_r))  # jinc, limit at 0
    f = f * np.outer(window, window)
    return (f / f.sum()).astype(np.float32)


_ONE_HOT_LIMIT = 1 << 22  # elements of the one-hot tensor that builds a resampling matrix in one op


def _resampling_matrix(taps, size, up, down, pad0, pad1, gain):
    """upfirdn along one axis of length `size` as a matrix `[out, size]` built from the taps (a tensor).

    Output o is `sum_j g[j] * u[o * down + j]`, where `u` is the input with `up - 1` zeros after each
    sample, padded by `pad0`/`pad1` (negative crops) and `g` the flipped taps times `gain` (a
    convolution, as NVIDIA's flip_filter=False). Input i sits at `u[i * up + pad0]`, so the matrix
    holds `g[i * up + pad0 - o * down]` where that index is a tap, else 0. One small dense matmul
    per axis replaces zero insertion, padding, filtering and decimation.
    """
    numtaps = 1 if taps is None else int(taps.shape[0])
    out = (size * up + pad0 + pad1 - numtaps) // down + 1
    index = np.arange(size)[None, :] * up + pad0 - np.arange(out)[:, None] * down
    inside = (index >= 0) & (index < numtaps)
    if taps is None:
        return ops.convert_to_tensor(inside.astype(np.float32) * np.float32(gain))
    flipped = np.where(inside, numtaps - 1 - index, -1)  # the tap of f (not of g) at each entry
    if out * size * numtaps <= _ONE_HOT_LIMIT:  # one einsum with a constant one-hot: fewest ops
        one_hot = (flipped[:, :, None] == np.arange(numtaps)).astype(np.float32) * np.float32(gain)
        return ops.einsum("oij,j->oi", one_hot, ops.cast(taps, "float32"))
    gathered = ops.take(ops.cast(taps, "float32"), np.clip(flipped, 0, numtaps - 1)) * gain
    return ops.where(inside, gathered, 0.0)


def _filter_2d(x, f, stride, gain):
    channels = x.shape[-1]
    # one axis per flip: OpenVINO's TensorFlow front end converts only single-axis reverses
    f = ops.flip(ops.flip(ops.cast(f, x.dtype), axis=0), axis=1) * gain
    kernel = ops.tile(f[:, :, None, None], [1, 1, channels, 1])
    return ops.depthwise_conv(x, kernel, strides=stride, padding="valid")


def upfirdn2d_tensor(x, f, up=1, down=1, padding=0, gain=1.0):
    """NVIDIA's upfirdn2d on NHWC `x` with a filter given as a tensor (1-D separable, 2-D, or `None`).

    Zero insertion by `up`, padding `(px0, px1, py0, py1)` (negative crops), convolution with `f`
    scaled so the total gain is `gain`, then every `down`-th sample.
    """
    px0, px1, py0, py1 = parse_padding(padding)
    if f is None or len(f.shape) == 1:
        rows = _resampling_matrix(f, x.shape[1], up, down, py0, py1, math.sqrt(gain))
        cols = _resampling_matrix(f, x.shape[2], up, down, px0, px1, math.sqrt(gain))
        x = ops.einsum("oh,nhwc->nowc", ops.cast(rows, x.dtype), x)
        return ops.einsum("pw,nowc->nopc", ops.cast(cols, x.dtype), x)
    if up > 1 or min(px0, px1, py0, py1) < 0:
        raise ValueError("2-D filters are supported for downsampling with non-negative padding only")
    x = ops.pad(x, [[0, 0], [py0, py1], [px0, px1], [0, 0]])
    return _filter_2d(x, f, down, gain)


def filtered_lrelu(x, up_filter=None, down_filter=None, bias=None, up=1, down=1, padding=0, gain=math.sqrt(2),
                   slope=0.2, clamp=None):
    """Bias, upsampling, leaky ReLU, clamp and downsampling, as NVIDIA's `filtered_lrelu` (NHWC).

    Args:
        x: `[N, H, W, C]`.
        up_filter: 1-D taps (separable) or `None`.
        down_filter: 1-D taps (separable), 2-D `[k, k]` (radial), or `None`.
        bias: `[C]` or `None`.
        up: upsampling factor.
        down: downsampling factor.
        padding: `(px0, px1, py0, py1)` of the upsampled image (negative values crop).
        gain: scale after the activation (sqrt(2) keeps the magnitude of leaky ReLU).
        slope: negative slope (1 makes the activation linear, as in ToRGB).
        clamp: clamp the activation to `[-clamp, clamp]` (`None`: no clamp).

    Example:
    >>> f = design_lowpass_filter(12, cutoff=4, width=2, fs=32)
    >>> y = filtered_lrelu(np.ones([1, 8, 8, 2], "float32"), f, f, up=2, down=2, padding=(11, 10, 11, 10))
    >>> tuple(y.shape)
    (1, 8, 8, 2)
    """
    if bias is not None:
        x = x + ops.cast(bias, x.dtype)
    x = upfirdn2d_tensor(x, up_filter, up=up, padding=padding, gain=up * up)
    if slope != 1:
        x = ops.leaky_relu(x, negative_slope=slope)
    if gain != 1:
        x = x * gain
    if clamp is not None:
        x = ops.clip(x, -clamp, clamp)
    return upfirdn2d_tensor(x, down_filter, down=down)


__all__ = ["bessel_j1", "design_lowpass_filter", "filtered_lrelu", "upfirdn2d_tensor"]
