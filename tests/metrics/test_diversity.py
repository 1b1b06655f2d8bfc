"""Pixel diversity (mean L1 between two images), overall and within classes, against a direct loop."""
import itertools

import numpy as np
import pytest

from keras_stylegan.metrics import pixel_diversity


def loop_reference(images):
    pairs = list(itertools.combinations(range(len(images)), 2))
    return np.mean([np.abs(images[i] / 255.0 - images[j] / 255.0).mean() for i, j in pairs])


def test_overall_matches_all_pairs_and_floats_equal_uint8():
    images = np.random.default_rng(0).integers(0, 256, (9, 5, 4, 3)).astype(np.uint8)
    assert pixel_diversity(images) == pytest.approx(loop_reference(images.astype(np.float64)), rel=1e-5)
    assert pixel_diversity(images / 255.0) == pytest.approx(pixel_diversity(images), rel=1e-5)


def test_within_class_ignores_differences_between_classes():
    rng = np.random.default_rng(1)
    # Two classes, each a few noisy copies of its own very different template.
    templates = np.array([20, 230])[:, None, None, None] * np.ones((2, 6, 6, 1))
    labels = np.array([0, 1, 0, 1, 0, 1, 1])
    images = np.clip(templates[labels] + rng.integers(-5, 6, (7, 6, 6, 1)), 0, 255).astype(np.uint8)
    within = pixel_diversity(images, labels=labels)
    expected = np.mean([loop_reference(images[labels == c].astype(np.float64)) for c in (0, 1)])
    assert within == pytest.approx(expected, rel=1e-5)
    assert within < 0.05 < 0.4 < pixel_diversity(images)  # near-copies per class, very different overall


def test_max_images_and_singleton_classes():
    images = np.arange(0, 250, 10, dtype=np.uint8).reshape(25, 1, 1, 1)
    assert pixel_diversity(images, max_images=3) == pytest.approx(loop_reference(images[:3].astype(float)))
    # A class with one image has no pair: left out, not counted as 0.
    labels = np.array([0] * 24 + [1])
    assert pixel_diversity(images, labels=labels) == pytest.approx(loop_reference(images[:24].astype(float)))


@pytest.mark.parametrize("images, labels, message", [
    (np.zeros((1, 2, 2, 1)), None, "at least 2 images"),
    (np.zeros((4, 2, 2)), None, "NHWC"),
    (np.zeros((3, 2, 2, 1)), [0, 1], "one class per image"),
    (np.zeros((3, 2, 2, 1)), [0, 1, 2], "at least 2 images"),
])
def test_bad_input_is_named(images, labels, message):
    with pytest.raises(ValueError, match=message):
        pixel_diversity(images, labels=labels)
