"""The convolution path of StyleGAN3's resampling against NumPy and against the dense matrices."""
import itertools

import numpy as np
import pytest
import tensorflow as tf

from keras_stylegan.layers import filtered_lrelu as filtered_lrelu_module
from keras_stylegan.layers.filtered_lrelu import design_lowpass_filter, filtered_lrelu, upfirdn2d_tensor


def numpy_upfirdn_separable(x, taps, up, down, padding, gain):
    """float64, one axis at a time: zero insertion, pad or crop, `np.convolve` ("valid"), decimation."""
    px0, px1, py0, py1 = padding
    axis_gain = np.sqrt(gain)
    for axis, (pad0, pad1) in ((2, (px0, px1)), (1, (py0, py1))):
        moved = np.moveaxis(x, axis, -1)
        inserted = np.zeros(moved.shape[:-1] + (moved.shape[-1] * up,))
        inserted[..., ::up] = moved
        inserted = np.pad(inserted, [(0, 0)] * 3 + [(max(pad0, 0), max(pad1, 0))])
        inserted = inserted[..., max(-pad0, 0): inserted.shape[-1] - max(-pad1, 0)]
        filtered = np.apply_along_axis(lambda row: np.convolve(row, taps, mode="valid"), -1, inserted)
        x = np.moveaxis(filtered[..., ::down] * axis_gain, -1, axis)
    return x


HEIGHT, WIDTH = 9, 7


def _has_output(numtaps, up, padding):
    px0, px1, py0, py1 = padding
    return min(WIDTH * up + px0 + px1, HEIGHT * up + py0 + py1) >= numtaps


CASES = [  # numtaps, up, down, padding (px0, px1, py0, py1); crops that leave no output are left out
    (numtaps, up, 1, padding)
    for numtaps, up, padding in itertools.product(
        (2, 5, 12, 24), (1, 2, 4), ((11, 10, 11, 10), (3, -2, 5, 1), (-3, 4, 0, -1), (0, 0, 0, 0)))
    if _has_output(numtaps, up, padding)
] + [(numtaps, 1, down, padding) for numtaps, down, padding in itertools.product(
    (3, 6), (2, 3), ((0, 0, 0, 0), (2, 1, -1, 3))) if _has_output(numtaps, 1, padding)]


@pytest.mark.parametrize("numtaps,up,down,padding", CASES)
def test_convolution_path_matches_numpy_and_dense(numtaps, up, down, padding):
    rng = np.random.RandomState(numtaps * 100 + up * 10 + down)
    taps = rng.randn(numtaps)
    x = rng.randn(2, HEIGHT, WIDTH, 3)
    want = numpy_upfirdn_separable(x, taps, up, down, padding, gain=up * up)
    args = dict(up=up, down=down, padding=padding, gain=up * up)
    conv = np.asarray(upfirdn2d_tensor(x.astype("float32"), taps.astype("float32"), method="conv", **args))
    dense = np.asarray(upfirdn2d_tensor(x.astype("float32"), taps.astype("float32"), method="dense", **args))
    assert conv.shape == want.shape
    scale = np.abs(want).max()
    np.testing.assert_allclose(conv, want, atol=1e-5 * scale)
    np.testing.assert_allclose(conv, dense, atol=1e-5 * scale)


def test_default_path_builds_no_dense_matrix(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the dense resampling matrix was built")

    monkeypatch.setattr(filtered_lrelu_module, "_resampling_matrix", refuse)
    taps = design_lowpass_filter(12, cutoff=4, width=2, fs=32)
    x = np.random.RandomState(0).randn(1, 10, 10, 2).astype("float32")
    y = filtered_lrelu(x, taps, taps, up=2, down=2, padding=(11, 10, 11, 10), clamp=256.0)
    assert tuple(y.shape) == (1, 10, 10, 2)


@pytest.mark.parametrize("radial", [False, True])
def test_gradients_of_both_paths_agree(radial):
    """The convolution path is differentiable and its gradient is the dense path's (same linear map)."""
    up_taps = design_lowpass_filter(24, cutoff=5, width=3, fs=48)
    down_taps = design_lowpass_filter(12, cutoff=5, width=3, fs=48, radial=radial)
    rng = np.random.RandomState(1)
    x = tf.constant(rng.randn(2, 8, 8, 3).astype("float32"))
    bias = tf.Variable(rng.randn(3).astype("float32"))
    weights = None
    grads = {}
    for method in ("conv", "dense"):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = filtered_lrelu(x, up_taps, down_taps, bias, up=4, down=2, padding=(23, 22, 23, 22),
                               clamp=1.5, method=method)
            if weights is None:
                weights = tf.constant(rng.randn(*y.shape).astype("float32"))
            loss = tf.reduce_sum(y * weights)
        grads[method] = [np.asarray(g) for g in tape.gradient(loss, [x, bias])]
    assert np.abs(grads["conv"][0]).max() > 0
    for got, want in zip(grads["conv"], grads["dense"]):
        np.testing.assert_allclose(got, want, atol=1e-4 * np.abs(want).max())


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="method must be 'auto', 'conv' or 'dense'"):
        upfirdn2d_tensor(np.zeros([1, 4, 4, 1], "float32"), np.ones([2], "float32"), method="fft")
