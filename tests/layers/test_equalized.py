"""EqualizedDense / EqualizedConv2D against the equalized-lr formula and NVIDIA's resampling semantics."""
import numpy as np
import pytest

from keras_stylegan.layers import EqualizedConv2D, EqualizedDense
from test_case import np_bias_act, np_conv2d_resample, np_correlate, randn, run_layer_test

BILINEAR = np.array([1, 3, 3, 1]) / 8.0


def set_random_weights(layer, seed=1):
    """Stored weights ~ N(0, 1/lr_multiplier) like the initializer, and a non-zero bias."""
    layer.kernel.assign(randn(*layer.kernel.shape, seed=seed) / layer.lr_multiplier)
    if layer.bias is not None:
        layer.bias.assign(randn(*layer.bias.shape, seed=seed + 1))
    return layer.kernel.numpy().astype(np.float64), None if layer.bias is None else layer.bias.numpy()


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(activation="lrelu"),
    dict(activation="lrelu", lr_multiplier=0.01, weight_gain=1.5, activation_gain=0.7, clamp=0.5),
    dict(activation="linear", lr_multiplier=0.1, use_bias=False),
])
def test_equalized_dense_formula(kwargs):
    x = randn(3, 7)
    layer = EqualizedDense(5, **kwargs)
    layer.build(x.shape)
    kernel, bias = set_random_weights(layer)
    lr, wg = kwargs.get("lr_multiplier", 1.0), kwargs.get("weight_gain", 1.0)
    y = x @ (kernel * lr * wg / np.sqrt(7))
    expected = np_bias_act(y, None if bias is None else bias * lr, kwargs.get("activation", "linear"),
                           kwargs.get("activation_gain"), kwargs.get("clamp"))
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-5, atol=1e-5)


def test_equalized_dense_applies_to_the_last_axis():
    x = randn(2, 3, 4)
    layer = EqualizedDense(6)
    layer.build(x.shape)
    kernel, bias = set_random_weights(layer)
    np.testing.assert_allclose(np.asarray(layer(x)), x @ kernel / 2.0 + bias, rtol=1e-5, atol=1e-5)


def test_kernel_init_std_is_one_over_lr_multiplier():
    dense = EqualizedDense(256, lr_multiplier=0.01, bias_init=0.5)
    dense.build((None, 1024))
    kernel = dense.kernel.numpy()
    assert abs(kernel.std() / 100.0 - 1) < 0.02 and abs(kernel.mean()) < 2.0
    np.testing.assert_array_equal(dense.bias.numpy(), 0.5)
    conv = EqualizedConv2D(64, 3, lr_multiplier=0.5)
    conv.build((None, 8, 8, 64))
    assert abs(conv.kernel.numpy().std() / 2.0 - 1) < 0.02
    np.testing.assert_array_equal(conv.bias.numpy(), 0.0)


@pytest.mark.parametrize("kernel_size, kwargs, call_gain", [
    (3, dict(), 1.0),
    (1, dict(activation="lrelu"), 1.0),
    (3, dict(activation="lrelu", clamp=0.8, lr_multiplier=0.5, weight_gain=2.0), np.sqrt(0.5)),
    (5, dict(use_bias=False, activation_gain=3.0), 1.0),
])
def test_equalized_conv_same_correlation(kernel_size, kwargs, call_gain):
    x = randn(2, 6, 5, 3)
    layer = EqualizedConv2D(4, kernel_size, **kwargs)
    layer.build(x.shape)
    kernel, bias = set_random_weights(layer)
    lr, wg = kwargs.get("lr_multiplier", 1.0), kwargs.get("weight_gain", 1.0)
    y = np_correlate(x, kernel * lr * wg / np.sqrt(3 * kernel_size ** 2), mode="same")
    act = kwargs.get("activation", "linear")
    act_gain = kwargs.get("activation_gain") or (np.sqrt(2.0) if act == "lrelu" else 1.0)
    clamp = kwargs.get("clamp")
    expected = np_bias_act(y, None if bias is None else bias * lr, act, act_gain * call_gain,
                           None if clamp is None else clamp * call_gain)
    np.testing.assert_allclose(np.asarray(layer(x, gain=call_gain)), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kernel_size, up, down, shape", [
    (3, 2, 1, (2, 4, 4, 3)),
    (3, 2, 1, (1, 3, 5, 2)),
    (1, 2, 1, (1, 4, 3, 3)),
    (3, 1, 2, (2, 8, 8, 3)),
    (3, 1, 2, (1, 6, 10, 2)),
    (1, 1, 2, (1, 8, 6, 3)),
])
def test_equalized_conv_resampling_matches_nvidia_semantics(kernel_size, up, down, shape):
    """up: zero-stuff, pad once, [1,3,3,1] filter (gain 4), valid correlation; down: the mirror image."""
    x = randn(*shape)
    layer = EqualizedConv2D(4, kernel_size, up=up, down=down)
    layer.build(x.shape)
    kernel, bias = set_random_weights(layer)
    w = kernel / np.sqrt(shape[-1] * kernel_size ** 2)
    expected = np_conv2d_resample(x, w, BILINEAR, up=up, down=down, padding=kernel_size // 2) + bias
    got = np.asarray(layer(x))
    assert got.shape == (shape[0], shape[1] * up // down, shape[2] * up // down, 4)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_box_filter_up_is_nearest_neighbour_then_conv():
    x = randn(2, 3, 4, 2)
    layer = EqualizedConv2D(3, 3, up=2, resample_filter=(1, 1))
    layer.build(x.shape)
    kernel, bias = set_random_weights(layer)
    nearest = x.repeat(2, axis=1).repeat(2, axis=2)
    expected = np_correlate(nearest, kernel / np.sqrt(2 * 9), mode="same") + bias
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-4, atol=1e-5)


def test_box_filter_down_is_conv_then_average_pool():
    """StyleGAN (2019): conv2d (SAME) followed by 2x2 average pooling."""
    x = randn(2, 6, 8, 2)
    layer = EqualizedConv2D(3, 3, down=2, resample_filter=(1, 1))
    layer.build(x.shape)
    kernel, bias = set_random_weights(layer)
    y = np_correlate(x, kernel / np.sqrt(2 * 9), mode="same")
    pooled = y.reshape(2, 3, 2, 4, 2, 3).mean(axis=(2, 4))
    np.testing.assert_allclose(np.asarray(layer(x)), pooled + bias, rtol=1e-4, atol=1e-5)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="Received: 4"):
        EqualizedConv2D(4, 4)
    with pytest.raises(ValueError, match="up=2, down=2"):
        EqualizedConv2D(4, 3, up=2, down=2)
    with pytest.raises(ValueError, match="'relu'"):
        EqualizedDense(4, activation="relu")
    with pytest.raises(ValueError, match="Received: 0"):
        EqualizedDense(0)


@pytest.mark.parametrize("kwargs, shape, expected", [
    (dict(units=3, activation="lrelu", lr_multiplier=0.01), (2, 5), (2, 3)),
    (dict(units=3, clamp=1.0, use_bias=False), (2, 4, 5), (2, 4, 3)),
])
def test_equalized_dense_layer_contract(kwargs, shape, expected):
    run_layer_test(EqualizedDense, kwargs, randn(*shape), expected)


@pytest.mark.parametrize("kwargs, shape, expected", [
    (dict(filters=3, kernel_size=3, activation="lrelu", clamp=256.0), (2, 4, 4, 2), (2, 4, 4, 3)),
    (dict(filters=3, kernel_size=3, up=2), (1, 4, 4, 2), (1, 8, 8, 3)),
    (dict(filters=3, kernel_size=1, down=2, use_bias=False), (1, 4, 6, 2), (1, 2, 3, 3)),
])
def test_equalized_conv_layer_contract(kwargs, shape, expected):
    run_layer_test(EqualizedConv2D, kwargs, randn(*shape), expected)


def test_conv_honours_or_rejects_a_2d_filter():
    """A 2-D resample_filter must not be silently flattened into a different separable filter."""
    f = np.array([[1.0, 2.0], [3.0, 4.0]])
    x = randn(1, 4, 4, 2)
    try:
        layer = EqualizedConv2D(3, 3, up=2, resample_filter=f)
    except ValueError:
        return
    layer.build(x.shape)
    kernel, bias = set_random_weights(layer)
    expected = np_conv2d_resample(x, kernel / np.sqrt(2 * 9), f / f.sum(), up=2, padding=1) + bias
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-4, atol=1e-5)
