"""upfirdn2d and FirResample against an explicit NumPy zero-stuff / pad / convolve / decimate."""
import numpy as np
import pytest

from keras_stylegan.layers import FirResample, downsample2d, setup_filter, upfirdn2d, upsample2d
from test_case import np_upfirdn2d, randn, run_layer_test

BILINEAR = np.array([1, 3, 3, 1], np.float64) / 8.0
ASYMMETRIC_1D = np.array([1.0, 2.0, 4.0])  # odd, unnormalized, asymmetric: exposes flips and shifts
ASYMMETRIC_2D = np.array([[1.0, 2.0], [3.0, -4.0], [5.0, 6.0]])  # fh=3, fw=2: exposes transposes


@pytest.mark.parametrize("shape, f, kwargs", [
    ((1, 4, 4, 2), BILINEAR, dict(up=2, padding=(2, 1, 2, 1), gain=4.0)),
    ((2, 6, 6, 1), BILINEAR, dict(down=2, padding=(1, 1, 1, 1))),
    ((1, 3, 5, 2), ASYMMETRIC_1D, dict(up=2, padding=(2, 1, 0, 3))),  # non-square input
    ((1, 5, 6, 1), ASYMMETRIC_2D, dict(padding=(-1, 2, 1, -2))),  # negative padding crops
    ((2, 4, 3, 2), ASYMMETRIC_2D, dict(flip_filter=True, gain=0.5, padding=(1, 0, 2, 1))),
    ((1, 4, 5, 1), ASYMMETRIC_2D, dict(up=2, down=2, padding=1)),
    ((1, 4, 6, 1), ASYMMETRIC_1D, dict(up=(2, 1), down=(1, 2), padding=(2, 1))),  # per-axis (x, y)
    ((1, 7, 5, 3), ASYMMETRIC_1D, dict(down=3, padding=(0, 2, 1, 1), gain=2.0)),
])
def test_upfirdn2d_matches_numpy(shape, f, kwargs):
    x = randn(*shape)
    expected = np_upfirdn2d(x, f, **kwargs)
    got = np.asarray(upfirdn2d(x, f.astype("float32"), **kwargs))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_setup_filter_normalizes_to_unit_sum():
    np.testing.assert_allclose(setup_filter([1, 3, 3, 1]), BILINEAR)
    np.testing.assert_allclose(setup_filter([[1, 1], [1, 1]]), np.full([2, 2], 0.25))
    with pytest.raises(ValueError, match="resample_filter"):
        setup_filter(np.zeros([1, 1, 2]))


@pytest.mark.parametrize("shape", [(2, 4, 4, 3), (1, 3, 6, 2)])
def test_upsample2d_and_downsample2d_keep_a_multiple_of_the_size(shape):
    """NVIDIA's upsample2d pads ((fw+up-1)//2, (fw-up)//2) with gain up^2; downsample2d ((fw-down+1)//2, ...)."""
    x = randn(*shape)
    n, h, w, c = shape
    up = np.asarray(upsample2d(x, setup_filter([1, 3, 3, 1]), up=2))
    np.testing.assert_allclose(up, np_upfirdn2d(x, BILINEAR, up=2, padding=(2, 1, 2, 1), gain=4), rtol=1e-5, atol=1e-5)
    assert up.shape == (n, 2 * h, 2 * w, c)
    x2 = randn(n, 2 * h, 2 * w, c)
    down = np.asarray(downsample2d(x2, setup_filter([1, 3, 3, 1]), down=2))
    np.testing.assert_allclose(down, np_upfirdn2d(x2, BILINEAR, down=2, padding=1), rtol=1e-5, atol=1e-5)
    assert down.shape == (n, h, w, c)


def test_upsampling_a_constant_keeps_its_level_inside():
    """Gain up^2 compensates the zero-stuffing: a constant image stays constant away from borders."""
    y = np.asarray(FirResample(up=2)(np.full([1, 6, 6, 1], 2.0, "float32")))
    np.testing.assert_allclose(y[0, 2:-2, 2:-2, 0], 2.0, rtol=1e-6)


@pytest.mark.parametrize("kwargs, shape, expected_shape, reference", [
    (dict(up=2), (2, 4, 6, 3), (2, 8, 12, 3), dict(up=2, padding=(2, 1, 2, 1), gain=4.0)),
    (dict(down=2), (2, 8, 6, 3), (2, 4, 3, 3), dict(down=2, padding=(1, 1, 1, 1))),
    (dict(down=2), (1, 5, 7, 1), (1, 2, 3, 1), dict(down=2, padding=(1, 1, 1, 1))),
    (dict(up=2, padding=(1, 0, -1, 2), gain=0.5), (1, 3, 4, 2), (1, 7, 9, 2),
     dict(up=2, padding=(3, 1, 1, 3), gain=2.0)),
    # NVIDIA's filter2d (no resampling) pads (fw // 2, (fw - 1) // 2): (2, 1) for 4 taps.
    (dict(), (1, 5, 6, 2), (1, 5, 6, 2), dict(padding=(2, 1, 2, 1))),
])
def test_fir_resample_layer(kwargs, shape, expected_shape, reference):
    x = randn(*shape)
    layer = run_layer_test(FirResample, kwargs, x, expected_shape)
    np.testing.assert_allclose(np.asarray(layer(x)), np_upfirdn2d(x, BILINEAR, **reference), rtol=1e-5, atol=1e-5)


def test_fir_resample_honours_or_rejects_a_2d_filter():
    """A 2-D filter must not be silently flattened into a different separable filter."""
    f = np.array([[1.0, 2.0], [3.0, 4.0]])
    x = randn(1, 4, 4, 1)
    try:
        layer = FirResample(up=2, resample_filter=f)
    except ValueError:
        return
    expected = np_upfirdn2d(x, f / f.sum(), up=2, padding=(1, 0, 1, 0), gain=4)
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-5, atol=1e-5)


def test_fir_resample_rejects_bad_arguments():
    with pytest.raises(ValueError, match="up=2, down=2"):
        FirResample(up=2, down=2)
    with pytest.raises(ValueError, match="up=0"):
        FirResample(up=0)
    with pytest.raises(ValueError, match=r"\(1, 2, 3\)"):
        upfirdn2d(randn(1, 4, 4, 1), BILINEAR, padding=(1, 2, 3))
