"""PixelNormalization against x / sqrt(mean(x^2) + 1e-8)."""
import numpy as np

from keras_stylegan.layers import PixelNormalization, normalize_2nd_moment
from test_case import randn, run_layer_test


def test_pixel_normalization_formula():
    x = 3.0 * randn(4, 7)
    expected = x / np.sqrt(np.mean(x.astype(np.float64) ** 2, axis=-1, keepdims=True) + 1e-8)
    np.testing.assert_allclose(np.asarray(PixelNormalization()(x)), expected, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(normalize_2nd_moment(x)), expected, rtol=1e-5)


def test_pixel_normalization_of_zeros_is_zero_and_epsilon_is_used():
    np.testing.assert_array_equal(np.asarray(PixelNormalization()(np.zeros([2, 3], "float32"))), 0.0)
    x = np.full([1, 4], 1e-3, "float32")
    np.testing.assert_allclose(np.asarray(PixelNormalization(epsilon=1e-6)(x)), 1e-3 / np.sqrt(1e-6 + 1e-6), rtol=1e-5)


def test_normalize_2nd_moment_axis():
    x = randn(3, 4, 5)
    expected = x / np.sqrt(np.mean(x.astype(np.float64) ** 2, axis=1, keepdims=True) + 1e-8)
    np.testing.assert_allclose(np.asarray(normalize_2nd_moment(x, axis=1)), expected, rtol=1e-5)


def test_pixel_normalization_layer_contract():
    run_layer_test(PixelNormalization, {"epsilon": 1e-6}, randn(3, 8), (3, 8))
