"""MinibatchStdDev against a loop over NVIDIA's grouping (sample i joins group i % (N / G))."""
import numpy as np
import pytest

from keras_stylegan.layers import MinibatchStdDev
from test_case import randn, run_layer_test


def np_minibatch_stddev(x, group_size, num_channels):
    x = x.astype(np.float64)
    n, h, w, c = x.shape
    g = min(group_size, n)
    groups = n // g
    part = c // num_channels
    features = np.zeros([n, num_channels])
    for m in range(groups):
        members = [i for i in range(n) if i % groups == m]
        for f in range(num_channels):
            values = x[members][..., f * part:(f + 1) * part]
            std = np.sqrt(np.mean((values - values.mean(axis=0)) ** 2, axis=0) + 1e-8)
            features[members, f] = std.mean()
    return np.concatenate([x, np.broadcast_to(features[:, None, None, :], (n, h, w, num_channels))], -1)


@pytest.mark.parametrize("n, group_size, num_channels", [(4, 2, 1), (8, 4, 2), (1, 4, 1), (6, 3, 3), (3, 4, 1)])
def test_minibatch_stddev_matches_nvidia_formula(n, group_size, num_channels):
    # Per-sample scales make every group's statistic different, so a wrong grouping shows.
    x = randn(n, 3, 2, 6) * (1.0 + np.arange(n, dtype="float32"))[:, None, None, None] ** 2
    expected = np_minibatch_stddev(x, group_size, num_channels)
    got = np.asarray(MinibatchStdDev(group_size=group_size, num_channels=num_channels)(x))
    assert got.shape == (n, 3, 2, 6 + num_channels)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_single_sample_gets_sqrt_epsilon():
    got = np.asarray(MinibatchStdDev()(randn(1, 2, 2, 3)))
    np.testing.assert_allclose(got[..., 3], 1e-4, rtol=1e-3)


@pytest.mark.parametrize("kwargs, shape", [(dict(group_size=2), (4, 4, 4, 3)), (dict(group_size=4, num_channels=2), (8, 2, 2, 4))])
def test_minibatch_stddev_layer_contract(kwargs, shape):
    expected = shape[:3] + (shape[3] + kwargs.get("num_channels", 1),)
    run_layer_test(MinibatchStdDev, kwargs, randn(*shape), expected, rtol=1e-5, atol=1e-6)


def test_indivisible_sizes_raise_a_clear_error():
    """NVIDIA asserts these; a raw reshape error does not say which argument is wrong."""
    with pytest.raises(ValueError, match="num_channels"):
        MinibatchStdDev(group_size=2, num_channels=2)(randn(4, 2, 2, 5))
    with pytest.raises(ValueError, match="group_size"):
        MinibatchStdDev(group_size=4)(randn(6, 2, 2, 4))
