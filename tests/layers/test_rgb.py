"""ToRGB (StyleGAN2 modulated 1x1, no demodulation) and FromRGB against NumPy."""
import numpy as np
import pytest

from keras_stylegan.layers import FromRGB, ToRGB
from test_case import np_bias_act, randn, run_layer_test


@pytest.mark.parametrize("clamp", [None, 0.3])
def test_modulated_to_rgb_formula(clamp):
    """styles = affine(w) / sqrt(in); y = x @ (kernel * styles) + bias, without demodulation."""
    x, w = randn(2, 3, 4, 6), randn(2, 5, seed=1)
    layer = ToRGB(3, clamp=clamp)
    layer([x, w])
    layer.affine.kernel.assign(randn(5, 6, seed=2))
    layer.affine.bias.assign(1.0 + randn(6, seed=3))
    layer.kernel.assign(randn(1, 1, 6, 3, seed=4))
    layer.bias.assign(randn(3, seed=5))
    affine = w @ layer.affine.kernel.numpy().astype(np.float64) / np.sqrt(5) + layer.affine.bias.numpy()
    styles = affine / np.sqrt(6)
    y = np.einsum("nhwi,io,ni->nhwo", x.astype(np.float64), layer.kernel.numpy()[0, 0], styles)
    expected = np_bias_act(y, layer.bias.numpy(), clamp=clamp)
    np.testing.assert_allclose(np.asarray(layer([x, w])), expected, rtol=1e-4, atol=1e-5)


def test_affine_bias_starts_at_one():
    layer = ToRGB(3)
    layer([randn(1, 2, 2, 4), randn(1, 5)])
    np.testing.assert_array_equal(layer.affine.bias.numpy(), 1.0)


def test_plain_to_rgb_is_an_equalized_1x1_conv():
    x = randn(2, 3, 3, 4)
    layer = ToRGB(3, modulated=False)
    layer(x)
    layer.conv.kernel.assign(randn(1, 1, 4, 3, seed=1))
    layer.conv.bias.assign(randn(3, seed=2))
    expected = x @ layer.conv.kernel.numpy()[0, 0] / 2.0 + layer.conv.bias.numpy()
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-5, atol=1e-5)


def test_from_rgb_is_an_equalized_1x1_conv_with_lrelu():
    x = randn(2, 4, 4, 3)
    layer = FromRGB(8)
    layer(x)
    layer.kernel.assign(randn(1, 1, 3, 8, seed=1))
    layer.bias.assign(randn(8, seed=2))
    y = x @ layer.kernel.numpy()[0, 0] / np.sqrt(3)
    expected = np_bias_act(y, layer.bias.numpy(), "lrelu")
    assert expected.shape == (2, 4, 4, 8)
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kwargs, inputs, expected", [
    (dict(channels=3), [randn(2, 4, 4, 5), randn(2, 6, seed=1)], (2, 4, 4, 3)),
    (dict(channels=1, modulated=False, clamp=256.0), randn(2, 4, 4, 5), (2, 4, 4, 1)),
])
def test_to_rgb_layer_contract(kwargs, inputs, expected):
    run_layer_test(ToRGB, kwargs, inputs, expected, rtol=1e-5, atol=1e-5)


def test_from_rgb_layer_contract():
    run_layer_test(FromRGB, dict(filters=6), randn(2, 4, 4, 3), (2, 4, 4, 6))
