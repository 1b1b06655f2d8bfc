"""Modulated convolution (StyleGAN2 eq. 1-3) and AdaIN (StyleGAN eq. 1) against NumPy."""
import numpy as np
import pytest

from keras_stylegan.layers import AdaIN, ModulatedConv2D, instance_norm, modulated_conv2d, setup_filter
from test_case import np_conv2d_resample, randn, run_layer_test

BILINEAR = np.array([1, 3, 3, 1]) / 8.0


def np_modulated_conv2d(x, weight, styles, demodulate=True, up=1, down=1, padding=0):
    """Per sample: kernel w[kh,kw,i,o] * s[n,i], divided by sqrt(sum_{kh,kw,i} (w*s)^2 + 1e-8)."""
    out = []
    for n in range(x.shape[0]):
        w = weight.astype(np.float64) * styles[n].astype(np.float64)[None, None, :, None]
        if demodulate:
            w = w / np.sqrt(np.sum(w ** 2, axis=(0, 1, 2)) + 1e-8)
        out.append(np_conv2d_resample(x[n:n + 1], w, BILINEAR, up=up, down=down, padding=padding)[0])
    return np.stack(out)


CASES = [
    (3, dict()),
    (3, dict(demodulate=False)),
    (1, dict()),
    (3, dict(up=2)),
    (3, dict(down=2)),
    (1, dict(up=2, demodulate=False)),
]


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("kernel_size, kwargs", CASES)
def test_modulated_conv2d_matches_per_sample_reference(kernel_size, kwargs, fused):
    x = randn(3, 4, 6, 5)
    weight = randn(kernel_size, kernel_size, 5, 4, seed=1)
    styles = 1.0 + 0.7 * randn(3, 5, seed=2)  # distinct per sample and per channel
    expected = np_modulated_conv2d(x, weight, styles, padding=kernel_size // 2, **kwargs)
    got = np.asarray(modulated_conv2d(x, weight, styles, resample_filter=setup_filter([1, 3, 3, 1]),
                                      padding=kernel_size // 2, fused=fused, **kwargs))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kernel_size, kwargs", CASES)
def test_modulated_conv_layer_fused_equals_default(kernel_size, kwargs):
    x, styles = randn(2, 4, 4, 3), 1.0 + randn(2, 3, seed=3)
    layer = ModulatedConv2D(4, kernel_size, **kwargs)
    fused = ModulatedConv2D(4, kernel_size, fused=True, **kwargs)
    layer([x, styles])
    fused([x, styles])
    fused.set_weights(layer.get_weights())
    expected = np_modulated_conv2d(x, layer.kernel.numpy(), styles, padding=kernel_size // 2, **kwargs)
    np.testing.assert_allclose(np.asarray(layer([x, styles])), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(fused([x, styles])), np.asarray(layer([x, styles])), rtol=1e-4, atol=1e-5)


def test_demodulated_output_has_unit_scale_for_unit_input():
    """Demodulation makes the output std independent of the kernel and style magnitudes."""
    x = randn(2, 16, 16, 32)
    weight = 50.0 * randn(3, 3, 32, 8, seed=1)
    styles = 20.0 * np.abs(randn(2, 32, seed=2))
    y = np.asarray(modulated_conv2d(x, weight, styles, padding=1))[:, 1:-1, 1:-1]
    assert 0.8 < y.std() < 1.2


def test_modulated_conv_rejects_even_kernel():
    with pytest.raises(ValueError, match="Received: 2"):
        ModulatedConv2D(4, 2)


@pytest.mark.parametrize("kwargs, expected", [
    (dict(filters=3, kernel_size=3), (2, 4, 4, 3)),
    (dict(filters=3, kernel_size=3, fused=True), (2, 4, 4, 3)),
    (dict(filters=3, kernel_size=3, up=2), (2, 8, 8, 3)),
    (dict(filters=3, kernel_size=1, demodulate=False), (2, 4, 4, 3)),
])
def test_modulated_conv_layer_contract(kwargs, expected):
    run_layer_test(ModulatedConv2D, kwargs, [randn(2, 4, 4, 2), 1.0 + randn(2, 2, seed=1)], expected,
                   rtol=1e-5, atol=1e-5)


def np_instance_norm(x, eps=1e-8):
    x = x.astype(np.float64)
    x = x - x.mean(axis=(1, 2), keepdims=True)
    return x / np.sqrt((x ** 2).mean(axis=(1, 2), keepdims=True) + eps)


def test_instance_norm():
    x = 3.0 + 2.0 * randn(2, 5, 4, 3)
    np.testing.assert_allclose(np.asarray(instance_norm(x)), np_instance_norm(x), rtol=1e-4, atol=1e-5)


def test_adain_formula():
    """y = norm(x) * (1 + s) + b with [s, b] = w @ (A / sqrt(w_dim)) + bias (2C units)."""
    x, w = 1.0 + 2.0 * randn(2, 4, 3, 5), randn(2, 6, seed=1)
    layer = AdaIN()
    layer([x, w])
    layer.style.kernel.assign(randn(6, 10, seed=2))
    layer.style.bias.assign(randn(10, seed=3))
    style = w @ layer.style.kernel.numpy().astype(np.float64) / np.sqrt(6) + layer.style.bias.numpy()
    scale, bias = style[:, None, None, :5], style[:, None, None, 5:]
    expected = np_instance_norm(x) * (1.0 + scale) + bias
    np.testing.assert_allclose(np.asarray(layer([x, w])), expected, rtol=1e-4, atol=1e-5)


def test_adain_layer_contract():
    run_layer_test(AdaIN, {}, [randn(2, 4, 4, 3), randn(2, 5, seed=1)], (2, 4, 4, 3), rtol=1e-5, atol=1e-5)
