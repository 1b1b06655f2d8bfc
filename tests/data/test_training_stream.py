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


def grouped_batches(labels, batch_size, group, replicas=1, first_image=0, count=6, seed=0):
    images = distinct_images(len(labels))
    stream = training_stream(images, batch_size, first_image=first_image, labels=labels, seed=seed,
                             class_groups=group, replicas=replicas)
    return [(indices(x)[0], y) for x, y in first_batches(stream, count)]


@pytest.mark.parametrize("replicas", [1, 2])
def test_class_groups_fill_each_minibatch_stddev_group_with_one_class(replicas):
    labels = np.repeat(np.arange(5), [3, 10, 20, 40, 1])  # classes 0 and 4 are smaller than a group
    batch, group = 16, 4
    seen = []
    for index, batch_labels in grouped_batches(labels, batch, group, replicas, count=40):
        np.testing.assert_array_equal(batch_labels, labels[index])
        # MinibatchStdDev on each device: sample i of its batch joins group i % (n / G).
        for device in np.split(index, replicas):
            for members in device.reshape(group, -1).T:
                assert len(set(labels[members])) == 1 and len(set(members)) == group
        seen.append(batch_labels)
    drawn = np.bincount(np.concatenate(seen), minlength=5)
    assert drawn[0] == drawn[4] == 0
    assert drawn[3] > drawn[2] > drawn[1] > 0  # in proportion to the class sizes (40 : 20 : 10)


def test_class_groups_resume_at_a_batch_boundary_and_follow_the_seed():
    labels = np.arange(30) % 3
    full = grouped_batches(labels, 8, 4, count=6)
    resumed = grouped_batches(labels, 8, 4, first_image=24, count=3)
    for (a, _), (b, _) in zip(full[3:], resumed):
        np.testing.assert_array_equal(a, b)
    other = grouped_batches(labels, 8, 4, count=6, seed=1)
    assert any((a != b).any() for (a, _), (b, _) in zip(full, other))


def test_class_groups_let_minibatch_stddev_see_one_picture_per_class():
    from keras_stylegan.layers.minibatch_stddev import MinibatchStdDev

    rng = np.random.RandomState(0)
    labels = np.repeat(np.arange(8), 16)
    reals = rng.uniform(-1, 1, [len(labels), 4, 4, 2]).astype("float32")
    one_per_class = reals[np.searchsorted(labels, labels)]  # a generator that ignores z: one image per class
    stddev = MinibatchStdDev(group_size=4)

    def feature(images, index):
        return float(np.asarray(stddev(images[index]))[:, 0, 0, -1].mean())

    mixed = np.arange(len(labels))[rng.permutation(len(labels))[:16]]  # a shuffled batch: classes mixed
    assert feature(one_per_class, mixed) > 0.5 * feature(reals, mixed)  # the collapse hides among classes
    for index, _ in grouped_batches(labels, 16, 4, count=3):
        assert feature(reals, index) > 0.3 and feature(one_per_class, index) < 1e-3  # grouped, it shows


def test_class_groups_need_a_class_big_enough_for_a_group():
    with pytest.raises(ValueError, match="no class has 4 images"):
        training_stream(distinct_images(6), 8, labels=np.arange(6) % 3, class_groups=4)
    # Without labels, or with groups of one, the stream is the plain shuffled one.
    plain = first_batches(training_stream(distinct_images(8), 4, seed=2), 2)
    same = first_batches(training_stream(distinct_images(8), 4, seed=2, class_groups=4), 2)
    assert all((a == b).all() for a, b in zip(plain, same))
