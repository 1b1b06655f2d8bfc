"""`training_stream`: the trainer's endless, position-indexed batches."""
import numpy as np
import pytest

from keras_stylegan.data.dataset import training_stream


def distinct_images(n, size=4):
    """uint8 images whose top-left pixel (red) is the image's index, the rest left-right asymmetric."""
    images = np.zeros([n, size, size, 3], np.uint8)
    images[:, :, 0, 0] = np.arange(n)[:, None]
    images[:, :, -1, 1] = 255
    return images


def first_batches(stream, count):
    return [tuple(np.asarray(x) for x in b) if isinstance(b, tuple) else np.asarray(b)
            for b, _ in zip(iter(stream), range(count))]


def indices(batch):
    """Image index per batch item (from the red channel of whichever side the marker is on)."""
    x = np.round((batch + 1) * 127.5).astype(int)
    flipped = x[:, 0, 0, 1] == 255
    return np.where(flipped, x[:, 0, -1, 0], x[:, 0, 0, 0]), flipped


def test_each_pass_is_a_permutation_and_passes_differ():
    stream = training_stream(distinct_images(10), batch_size=5, seed=3)
    order = np.concatenate([indices(b)[0] for b in first_batches(stream, 6)])
    passes = order.reshape(3, 10)
    for p in passes:
        assert sorted(p) == list(range(10))
    assert not (passes[0] == passes[1]).all()
    assert not (order[:10] == np.arange(10)).all()


def test_resuming_at_any_batch_boundary_continues_the_same_stream():
    images = distinct_images(10)
    full = first_batches(training_stream(images, batch_size=4, xflip=True, seed=7), 8)
    resumed = first_batches(training_stream(images, batch_size=4, first_image=12, xflip=True, seed=7), 5)
    for a, b in zip(full[3:], resumed):
        np.testing.assert_array_equal(a, b)
    other_seed = first_batches(training_stream(images, batch_size=4, xflip=True, seed=8), 8)
    assert any((a != b).any() for a, b in zip(full, other_seed))


def test_flips_are_about_half_and_only_with_xflip():
    images = distinct_images(16)
    flips = np.concatenate([indices(b)[1] for b in first_batches(training_stream(images, 16, xflip=True), 16)])
    assert 0.35 < flips.mean() < 0.65
    no_flips = np.concatenate([indices(b)[1] for b in first_batches(training_stream(images, 16), 4)])
    assert not no_flips.any()


def test_labels_follow_their_images():
    images = distinct_images(6)
    labels = np.arange(6) * 10
    for batch, batch_labels in first_batches(training_stream(images, 3, labels=labels, seed=1), 4):
        np.testing.assert_array_equal(batch_labels, indices(batch)[0] * 10)


def test_bad_batch_size_or_empty_images_name_the_problem():
    with pytest.raises(ValueError, match="batch_size"):
        training_stream(distinct_images(4), batch_size=0)
    with pytest.raises(ValueError, match="empty"):
        training_stream(np.zeros([0, 4, 4, 3], np.uint8), batch_size=2)
