"""Tests for the sliced Wasserstein distance (ProGAN's SWD), against SciPy references."""
import numpy as np
import pytest
import scipy.ndimage
import scipy.stats

from keras_stylegan.metrics import swd
from keras_stylegan.metrics.swd import laplacian_pyramid, sliced_wasserstein_distance

FAST = dict(patches_per_image=32, num_directions=64, num_repeats=2)


def smooth_images(n, height, width, channels, seed=0):
    """Blobby float images in [-1, 1]: structure at several scales, unlike white noise."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((n, height, width, channels))
    blurred = scipy.ndimage.gaussian_filter(noise, sigma=(0, 2, 2, 0), mode="wrap")
    return np.tanh(blurred / blurred.std())


def scipy_pyramid_down(images):
    kernel = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256.0
    blurred = scipy.ndimage.convolve(images, kernel[None, :, :, None], mode="mirror")
    return blurred[:, ::2, ::2]


def scipy_pyramid_up(images):
    kernel = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 64.0
    spread = np.zeros((images.shape[0], 2 * images.shape[1], 2 * images.shape[2], images.shape[3]))
    spread[:, ::2, ::2] = images
    return scipy.ndimage.convolve(spread, kernel[None, :, :, None], mode="mirror")


def test_laplacian_pyramid_matches_scipy_and_reconstructs():
    images = np.random.default_rng(0).uniform(0, 255, (2, 16, 32, 3))
    pyramid = laplacian_pyramid(images, 3)
    assert [level.shape for level in pyramid] == [(2, 16, 32, 3), (2, 8, 16, 3), (2, 4, 8, 3)]
    low_1 = scipy_pyramid_down(images)
    low_2 = scipy_pyramid_down(low_1)
    np.testing.assert_allclose(pyramid[2], low_2, atol=1e-3)
    np.testing.assert_allclose(pyramid[1], low_1 - scipy_pyramid_up(low_2), atol=1e-3)
    np.testing.assert_allclose(pyramid[0], images - scipy_pyramid_up(low_1), atol=1e-3)
    constant = laplacian_pyramid(np.full((1, 16, 16, 1), 9.0), 3)
    assert np.allclose(constant[0], 0, atol=1e-5) and np.allclose(constant[2], 9, atol=1e-5)


def test_set_against_itself_is_zero_and_keys_follow_levels():
    images = smooth_images(16, 32, 32, 3)
    result = sliced_wasserstein_distance(images, images, **FAST)
    assert result == {"swd_32": 0.0, "swd_16": 0.0, "swd_avg": 0.0}
    # Reordered, the same images give other patches: only the finite-sample floor remains.
    uint8 = np.round((smooth_images(32, 32, 32, 3) + 1) * 127.5).astype(np.uint8)
    enough = dict(FAST, patches_per_image=128)
    shuffled = sliced_wasserstein_distance(uint8, uint8[::-1], **enough)
    noise = np.random.default_rng(1).integers(0, 256, uint8.shape, dtype=np.uint8)
    against_noise = sliced_wasserstein_distance(uint8, noise, **enough)
    assert 0 < shuffled["swd_avg"] < 0.5 * against_noise["swd_avg"]
    assert against_noise["swd_avg"] == pytest.approx(np.mean([against_noise["swd_32"], against_noise["swd_16"]]))


def test_distance_shrinks_as_b_approaches_a():
    images_a = smooth_images(24, 32, 32, 3, seed=0)
    noise = np.random.default_rng(2).standard_normal(images_a.shape)
    distances = [sliced_wasserstein_distance(images_a, images_a + t * noise, **FAST)
                 for t in (1.0, 0.5, 0.25, 0.1, 0.03, 0.0)]
    for key in ("swd_32", "swd_16", "swd_avg"):
        values = [d[key] for d in distances]
        assert all(later < earlier for earlier, later in zip(values, values[1:])), (key, values)
        assert values[-1] == 0.0


def test_direction_distances_equal_scipy_wasserstein(monkeypatch):
    rng = np.random.default_rng(3)
    desc_a = rng.standard_normal((300, 10)).astype(np.float32)
    desc_b = (rng.standard_normal((300, 10)) * 1.5 + 0.3).astype(np.float32)
    directions = swd._random_directions(rng, 10, 7)
    np.testing.assert_allclose(np.linalg.norm(directions, axis=0), 1, rtol=1e-5)
    monkeypatch.setattr(swd, "CHUNK_BYTES", 300 * 4 * 3)  # 3 directions per chunk: exercise chunking
    distances = swd._direction_distances(desc_a, desc_b, directions)
    expected = [scipy.stats.wasserstein_distance(desc_a @ d, desc_b @ d) for d in directions.T]
    np.testing.assert_allclose(distances, expected, rtol=1e-4)


def test_descriptors_are_normalized_per_channel():
    level = np.random.default_rng(4).uniform(0, 255, (5, 16, 16, 2)).astype(np.float32)
    level[..., 1] = level[..., 1] * 0.1 + 200
    rng = np.random.default_rng(0)
    desc = swd._descriptors(level, 7, 20, np.repeat(np.arange(5), 20), rng).reshape(100, 7, 7, 2)
    np.testing.assert_allclose(desc.mean(axis=(0, 1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(desc.std(axis=(0, 1, 2)), 1, atol=1e-4)


def test_rgba_non_square_and_mixed_dtypes():
    images_a = smooth_images(8, 32, 64, 4, seed=5)  # 64 wide, 32 high
    images_a[..., 3] = 1.0  # an opaque, constant alpha channel must not produce NaN
    images_b = smooth_images(12, 32, 64, 4, seed=6)  # different count: 8 of each are used
    result = sliced_wasserstein_distance(images_a, images_b, **FAST)
    assert list(result) == ["swd_64x32", "swd_32x16", "swd_16x8", "swd_avg"]
    assert all(np.isfinite(v) and v > 0 for v in result.values())
    as_uint8 = [np.round((x + 1) * 127.5).astype(np.uint8) for x in (images_a, images_b)]
    from_uint8 = sliced_wasserstein_distance(*as_uint8, **FAST)
    for key in result:
        assert from_uint8[key] == pytest.approx(result[key], rel=0.05)


def test_bad_inputs_raise():
    images = np.zeros((2, 16, 16, 3), np.uint8)
    with pytest.raises(ValueError, match="same"):
        sliced_wasserstein_distance(images, np.zeros((2, 16, 16, 4), np.uint8))
    with pytest.raises(ValueError, match="patch_size"):
        sliced_wasserstein_distance(images[:, :4, :4], images[:, :4, :4])
    with pytest.raises(ValueError, match=r"\[N, H, W, C\]"):
        sliced_wasserstein_distance(images[0], images[0])
