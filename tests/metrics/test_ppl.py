"""Perceptual path length: a linear generator against its analytic value; crop, downsampling, the VGG distance."""
import numpy as np
import pytest
import scipy.integrate
import scipy.stats
import tensorflow as tf

from keras_stylegan.metrics.ppl import box_downsample, face_crop, perceptual_pair_distance, perceptual_path_length
from keras_stylegan.projection import PerceptualDistance
from test_sampling import make_generator

DIMS, SCALE = 8, 3.0


class LinearGenerator:
    """w = z M (M orthogonal), image = s * w Q (Q orthonormal rows): distances scale by s exactly."""
    z_dim, num_classes = DIMS, 0

    def __init__(self):
        rng = np.random.default_rng(0)
        self.mapping_matrix = np.linalg.qr(rng.standard_normal([DIMS, DIMS]))[0]
        self.image_matrix = SCALE * np.linalg.qr(rng.standard_normal([16, 16]))[0][:DIMS]

    def mapping(self, z, labels=None):
        return (np.asarray(z, np.float64) @ self.mapping_matrix)[:, None, :]  # num_ws = 1

    def synthesis(self, ws, noise_mode="const"):
        return (np.asarray(ws, np.float64)[:, 0] @ self.image_matrix).reshape(-1, 4, 4, 1)


def squared_distance(a, b):
    return np.sum((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2, axis=(1, 2, 3))


def trimmed_mean(ppf, mean_between):
    """The mean of a distribution between its 1st and 99th percentiles."""
    return mean_between(ppf(0.01), ppf(0.99)) / 0.98


def test_linear_generator_matches_the_analytic_value():
    g = LinearGenerator()
    run = dict(num_samples=4000, distance=squared_distance, batch_size=500, randomize_noise=False)
    # W: d = s^2 |w1 - w0|^2 = 2 s^2 chi2_k; E[X; a < X < b] = k (F_{k+2}(b) - F_{k+2}(a)) for chi2_k.
    chi2 = trimmed_mean(scipy.stats.chi2(DIMS).ppf,
                        lambda a, b: DIMS * (scipy.stats.chi2(DIMS + 2).cdf(b) - scipy.stats.chi2(DIMS + 2).cdf(a)))
    expected_w = 2 * SCALE**2 * chi2
    # Z: slerp of unit latents moves at speed theta (their angle): d = s^2 theta^2, with
    # cos(theta) = 2B - 1, B ~ Beta((k-1)/2, (k-1)/2); theta^2 falls as B rises.
    beta = scipy.stats.beta((DIMS - 1) / 2, (DIMS - 1) / 2)
    theta2 = trimmed_mean(beta.ppf, lambda a, b: scipy.integrate.quad(
        lambda x: np.arccos(2 * x - 1) ** 2 * beta.pdf(x), a, b)[0])
    expected_z = SCALE**2 * theta2
    for sampling in ("end", "full"):  # a linear path has the same speed everywhere
        assert perceptual_path_length(g, space="w", sampling=sampling, **run) == pytest.approx(expected_w, rel=0.03)
        assert perceptual_path_length(g, space="z", sampling=sampling, **run) == pytest.approx(expected_z, rel=0.03)
    # A larger epsilon reaches the same slope; the value is d / epsilon^2, not d.
    assert perceptual_path_length(g, space="w", epsilon=1e-2, **run) == pytest.approx(expected_w, rel=0.03)
    with pytest.raises(ValueError, match="`space` must be one of"):
        perceptual_path_length(g, space="x", **run)


def test_face_crop_and_box_downsample():
    images = np.arange(2 * 16 * 16 * 3, dtype=np.float32).reshape(2, 16, 16, 3)
    np.testing.assert_array_equal(face_crop(images), images[:, 6:14, 4:12])
    with pytest.raises(ValueError, match="square"):
        face_crop(images[:, :8])
    large = np.random.default_rng(0).standard_normal([1, 512, 1024, 2])
    small = box_downsample(large)
    assert small.shape == (1, 128, 256, 2)  # long side to 256: 4x4 blocks
    np.testing.assert_allclose(small[0, 5, 7], large[0, 20:24, 28:32].mean(axis=(0, 1)))
    assert box_downsample(images) is images


def test_vgg_distance_and_a_real_generator():
    distance = perceptual_pair_distance((32, 32, 4), vgg_weights=None)
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, [2, 32, 32, 4]).astype(np.uint8)
    b = rng.integers(0, 256, [2, 32, 32, 4]).astype(np.uint8)
    values = distance(a / 127.5 - 1, b / 127.5 - 1)
    for i in range(2):  # per pair, the projector's distance (with both alpha composites)
        single = PerceptualDistance(b[i], vgg_weights=None)(tf.constant(a[i: i + 1] / 127.5 - 1, tf.float32))
        assert values[i] == pytest.approx(float(single), rel=1e-4)
    assert distance(a / 127.5 - 1, a / 127.5 - 1).tolist() == [0.0, 0.0]
    g = make_generator(resolution=32, channels=3)
    stored = [v.numpy().copy() for v in g.weights if "noise_const" in v.path]
    value = perceptual_path_length(g, num_samples=6, batch_size=3, vgg_weights=None, crop=True)
    assert np.isfinite(value) and value > 0
    for before, after in zip(stored, [v.numpy() for v in g.weights if "noise_const" in v.path]):
        np.testing.assert_array_equal(before, after)  # noise randomized per batch, then restored
