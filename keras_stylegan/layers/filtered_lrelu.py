"""Filtered leaky ReLU of StyleGAN3 (Karras et al. 2021, "Alias-Free GANs", section 3.2).

A nonlinearity applied at a higher sampling rate, between an upsampling and a downsampling
low-pass filter, so the aliases it creates are removed before resampling:

    bias -> upsample (zero insertion, pad/crop, FIR filter, gain up**2)
         -> leaky ReLU x gain -> clamp -> FIR filter -> keep every `down`-th sample.

NHWC, `keras.ops` only. Filters are 1-D (applied separably, one axis at a time, which is
cheaper than the 2-D outer product) or 2-D (the radially symmetric filters of StyleGAN3-R).
1-D upsampling is polyphase (`up` short convolutions of the low-resolution input, interleaved:
no zeros are inserted or multiplied) and downsampling a strided convolution, so the cost per
sample is the number of taps, not the image size.
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


def _conv_along_axis(x, axis, kernels, stride):
    """Depthwise 1-D correlations of NHWC `x` along `axis` (1: rows, 2: columns), one per kernel.

    The other spatial axis is folded into the batch (columns) or the channels (rows), so each pass
    is one 1-D depthwise convolution with no transpose. Returns the list of outputs, NHWC.
    """
    _, height, width, channels = x.shape
    if axis == 2:
        folded = ops.reshape(x, [-1, width, channels])
        fold_channels = channels
    else:
        folded = ops.reshape(x, [-1, height, width * channels])
        fold_channels = width * channels
    outputs = []
    for kernel in kernels:
        kernel = ops.tile(ops.reshape(ops.cast(kernel, x.dtype), [-1, 1, 1]), [1, fold_channels, 1])
        y = ops.depthwise_conv(folded, kernel, strides=stride, padding="valid")
        if axis == 2:
            outputs.append(ops.reshape(y, [-1, height, y.shape[1], channels]))
        else:
            outputs.append(ops.reshape(y, [-1, y.shape[1], width, channels]))
    return outputs


def _pad_axis(x, axis, before, after):
    """Zero-pads (positive) or crops (negative) `x` along one spatial axis."""
    if before > 0 or after > 0:
        pads = [[0, 0]] * 4
        pads[axis] = [max(before, 0), max(after, 0)]
        x = ops.pad(x, pads)
    if before < 0 or after < 0:
        size = x.shape[axis]
        index = [slice(None)] * 4
        index[axis] = slice(max(-before, 0), size - max(-after, 0))
        x = x[tuple(index)]
    return x


def _upsample_axis(x, taps, axis, up, pad0, pad1, gain):
    """upfirdn with `down=1` along one axis, polyphase: `up` short convolutions of the input, interleaved.

    Output o = q * up + r is `sum_m f[c_r + m * up] * x[q - m]` with `c_r = numtaps - 1 - pad0 + r`
    (the zero-inserted samples contribute nothing, so each phase r is a convolution of the
    low-resolution input with every `up`-th tap from `c_r`). All phases share one tap range
    `m` in `[m_first, m_last]` (missing taps are 0), so they read the same padded input.
    """
    size = x.shape[axis]
    numtaps = int(taps.shape[0])
    out = size * up + pad0 + pad1 - numtaps + 1
    starts = [numtaps - 1 - pad0 + r for r in range(up)]
    m_first = min(-(start // up) for start in starts)  # ceil(-start / up)
    m_last = max((numtaps - 1 - start) // up for start in starts)
    length = m_last - m_first + 1
    phases = -(-out // up)  # outputs per phase (the last few of the interleaving are cropped)
    kernels = []
    for start in starts:
        # correlation kernel: t-th tap multiplies x[q - m_last + t], i.e. m = m_last - t
        index = start + (m_last - np.arange(length)) * up
        inside = (index >= 0) & (index < numtaps)
        picked = ops.take(ops.cast(taps, "float32"), np.clip(index, 0, numtaps - 1))
        kernels.append(ops.where(inside, picked, 0.0) * np.float32(gain))
    x = _pad_axis(x, axis, m_last, phases + length - 1 - size - m_last)
    outputs = _conv_along_axis(x, axis, kernels, 1)
    if up == 1:
        y = outputs[0]
    else:
        y = ops.stack(outputs, axis=axis + 1)  # [.., phases, up, ..]: sample q * up + r
        shape = list(y.shape)
        shape[axis:axis + 2] = [phases * up]
        y = ops.reshape(y, [-1] + shape[1:])
    index = [slice(None)] * 4
    index[axis] = slice(0, out)
    return y[tuple(index)]


def _downsample_axis(x, taps, axis, down, pad0, pad1, gain):
    """upfirdn with `up=1` along one axis: pad, correlate with the flipped taps, stride `down`."""
    x = _pad_axis(x, axis, pad0, pad1)
    kernel = ops.flip(ops.cast(taps, "float32"), axis=0) * np.float32(gain)
    return _conv_along_axis(x, axis, [kernel], down)[0]


def _separable_upfirdn(x, taps, up, down, padding, gain):
    px0, px1, py0, py1 = padding
    axis_gain = math.sqrt(gain)
    if up > 1:
        if down != 1:
            raise ValueError("the convolution path resamples up or down, not both at once")
        x = _upsample_axis(x, taps, 2, up, px0, px1, axis_gain)
        return _upsample_axis(x, taps, 1, up, py0, py1, axis_gain)
    x = _downsample_axis(x, taps, 2, down, px0, px1, axis_gain)
    return _downsample_axis(x, taps, 1, down, py0, py1, axis_gain)


def upfirdn2d_tensor(x, f, up=1, down=1, padding=0, gain=1.0, method="auto"):
    """NVIDIA's upfirdn2d on NHWC `x` with a filter given as a tensor (1-D separable, 2-D, or `None`).

    Zero insertion by `up`, padding `(px0, px1, py0, py1)` (negative crops), convolution with `f`
    scaled so the total gain is `gain`, then every `down`-th sample.

    `method` for 1-D filters: `"conv"` (polyphase / strided 1-D convolutions, O(taps) per
    sample), `"dense"` (one `[out, in]` resampling matrix per axis, O(size) per sample), or
    `"auto"` (conv: faster at every size measured on CPU, 1.2-1.8x at 8-52 px inputs and 3-4x
    at 84-148 px, see benchmarks/filtered_lrelu_speed.py). Both give the same result to float
    round-off; the dense path stays as an independent check.
    """
    if method not in ("auto", "conv", "dense"):
        raise ValueError(f"method must be 'auto', 'conv' or 'dense'. Received: {method!r}")
    px0, px1, py0, py1 = parse_padding(padding)
    if f is None or len(f.shape) == 1:
        if f is not None and method != "dense":
            return _separable_upfirdn(x, f, up, down, (px0, px1, py0, py1), gain)
        rows = _resampling_matrix(f, x.shape[1], up, down, py0, py1, math.sqrt(gain))
        cols = _resampling_matrix(f, x.shape[2], up, down, px0, px1, math.sqrt(gain))
        x = ops.einsum("oh,nhwc->nowc", ops.cast(rows, x.dtype), x)
        return ops.einsum("pw,nowc->nopc", ops.cast(cols, x.dtype), x)
    if up > 1 or min(px0, px1, py0, py1) < 0:
        raise ValueError("2-D filters are supported for downsampling with non-negative padding only")
    x = ops.pad(x, [[0, 0], [py0, py1], [px0, px1], [0, 0]])
    return _filter_2d(x, f, down, gain)


def filtered_lrelu(x, up_filter=None, down_filter=None, bias=None, up=1, down=1, padding=0, gain=math.sqrt(2),
                   slope=0.2, clamp=None, method="auto"):
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
        method: how 1-D filters resample, `"auto"`, `"conv"` or `"dense"` (see `upfirdn2d_tensor`).

    Example:
    >>> f = design_lowpass_filter(12, cutoff=4, width=2, fs=32)
    >>> y = filtered_lrelu(np.ones([1, 8, 8, 2], "float32"), f, f, up=2, down=2, padding=(11, 10, 11, 10))
    >>> tuple(y.shape)
    (1, 8, 8, 2)
    """
    if bias is not None:
        x = x + ops.cast(bias, x.dtype)
    x = upfirdn2d_tensor(x, up_filter, up=up, padding=padding, gain=up * up, method=method)
    if slope != 1:
        x = ops.leaky_relu(x, negative_slope=slope)
    if gain != 1:
        x = x * gain
    if clamp is not None:
        x = ops.clip(x, -clamp, clamp)
    return upfirdn2d_tensor(x, down_filter, down=down, method=method)


__all__ = ["bessel_j1", "design_lowpass_filter", "filtered_lrelu", "upfirdn2d_tensor"]
