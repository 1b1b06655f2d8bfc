"""k-means self-conditioning labels: the clustering, the thumbnails and the `cpu` preset's choice."""
import numpy as np
import pytest

from keras_stylegan.data.clusters import cluster_labels, kmeans, thumbnails
from keras_stylegan.training.config import ConfigError, TrainingConfig


def test_kmeans_finds_separated_groups_and_is_deterministic():
    rng = np.random.RandomState(0)
    centres = rng.randn(5, 6) * 10
    truth = rng.randint(5, size=500)
    points = centres[truth] + rng.randn(500, 6) * 0.1
    labels = kmeans(points, 5, seed=3)
    # The same partition as the truth, up to renaming: each found cluster is one true group.
    pairs = set(zip(labels.tolist(), truth.tolist()))
    assert len(pairs) == 5 and len({a for a, _ in pairs}) == 5
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(kmeans(points, 5, seed=3), labels)


def test_kmeans_handles_duplicates_and_refuses_too_many_clusters():
    points = np.zeros((10, 3))
    assert kmeans(points, 4).shape == (10,)  # every point equal: no division by zero in the seeding
    assert np.bincount(kmeans(points, 4, balanced=True)).tolist() == [3, 3, 2, 2]
    with pytest.raises(ValueError, match="num_clusters"):
        kmeans(points, 11)


def test_thumbnails_box_filter_and_premultiplied_alpha():
    images = np.zeros((2, 16, 32, 4), np.uint8)
    images[0, :, :16] = (255, 0, 0, 255)  # left half opaque red
    images[1, ..., :3] = 255  # white but fully transparent: counts as empty
    rows = thumbnails(images, side=4).reshape(2, 4, 4, 4)
    np.testing.assert_allclose(rows[0, :, :2], np.tile([1, 0, 0, 1], (4, 2, 1)))
    np.testing.assert_allclose(rows[0, :, 2:], 0)
    np.testing.assert_allclose(rows[1], 0)
    gray = thumbnails(np.full((3, 8, 8, 1), 51, np.uint8), side=2)
    assert gray.shape == (3, 4) and np.allclose(gray, 0.2)
    with pytest.raises(ValueError, match="images"):
        thumbnails(np.zeros((3, 8, 8), np.uint8))


def test_cluster_labels_separate_kinds_of_images():
    rng = np.random.RandomState(1)
    images = np.zeros((60, 16, 16, 3), np.uint8)
    images[20:40, :, :8] = 255  # three kinds: black, left half white, bottom half white
    images[40:, 8:] = 255
    images = np.clip(images.astype(int) + rng.randint(-20, 20, images.shape), 0, 255).astype(np.uint8)
    labels = cluster_labels(images, 3)
    assert [len(set(labels[i:i + 20].tolist())) for i in (0, 20, 40)] == [1, 1, 1]
    assert len(set(labels.tolist())) == 3
    # Balanced: 6 clusters of 60 images are 10 each, and the three kinds are never mixed in one.
    labels = cluster_labels(images, 6)
    assert np.bincount(labels).tolist() == [10] * 6
    assert all(len({i // 20 for i in np.flatnonzero(labels == k)}) == 1 for k in range(6))


def test_clusters_make_the_run_conditional_and_only_the_cpu_preset_turns_them_on():
    # cpu: 32 clusters for an unconditional StyleGAN2 from scratch, fewer on small data, none below two.
    assert [TrainingConfig(cfg="cpu").resolve((32, 32), num_images=n).clusters
            for n in (23436, 3926, 2048, 300, 191, 127, None)] == [32, 32, 32, 4, 2, 0, 32]
    cpu = TrainingConfig(cfg="cpu").resolve((32, 32), num_images=3926)
    assert cpu.num_classes == 32 and "clusters=32" in cpu.describe()
    for options in (dict(cfg="auto"), dict(cfg="stylegan2"), dict(cfg="cpu", clusters=0),
                    dict(cfg="cpu", architecture="stylegan"), dict(cfg="cpu", architecture="stylegan3"),
                    dict(cfg="cpu", resume="emoji")):
        assert TrainingConfig(**options).resolve((32, 32), num_images=3926).clusters == 0, options
    assert TrainingConfig(cfg="cpu", conditional=True).resolve((32, 32), 3, num_classes=5,
                                                                num_images=3926).num_classes == 5
    config = TrainingConfig(cfg="cpu", clusters=7).resolve((32, 32), num_classes=5, num_images=3926)
    assert (config.clusters, config.num_classes) == (7, 7)  # the clusters, not the data's labels
    labelled = TrainingConfig(cfg="cpu", conditional=True).resolve((32, 32), num_classes=5, num_images=3926)
    assert (labelled.clusters, labelled.num_classes) == (0, 5)
    assert "clusters=7" in config.describe()
    # Runs written before the option trained without it.
    stored = {k: v for k, v in config.to_json().items() if k != "clusters"}
    assert TrainingConfig.from_json(dict(stored, num_classes=0)).clusters == 0


@pytest.mark.parametrize("options, match", [
    (dict(clusters=4, conditional=True), "choose one"),
    (dict(clusters=4, resume="emoji"), "resume"),
    (dict(clusters=-1), "clusters"),
    (dict(clusters=2.5), "clusters"),
])
def test_bad_clusters_are_refused(options, match):
    with pytest.raises(ConfigError, match=match) as info:
        TrainingConfig(**options)
    assert info.value.field == "clusters"


def test_more_clusters_than_images_is_refused():
    with pytest.raises(ConfigError, match="more than the 10 images"):
        TrainingConfig(clusters=11).resolve((32, 32), num_images=10)


def _pair_by_pair_fill(distances, num_clusters):
    """The balanced assignment's definition, one (point, cluster) pair at a time from the closest."""
    count = len(distances)
    room = [count // num_clusters + (k < count % num_clusters) for k in range(num_clusters)]
    labels = [-1] * count
    for flat in np.argsort(distances, axis=None, kind="stable"):
        point, cluster = divmod(int(flat), num_clusters)
        if labels[point] < 0 and room[cluster]:
            labels[point], room[cluster] = cluster, room[cluster] - 1
    return np.array(labels)


@pytest.mark.parametrize("count, num_clusters, levels", [(200, 7, 0), (97, 5, 3), (64, 64, 0), (50, 1, 0)])
def test_balanced_assignment_equals_the_pair_by_pair_greedy(count, num_clusters, levels):
    from keras_stylegan.data.clusters import _fill

    rng = np.random.RandomState(count)
    distances = rng.rand(count, num_clusters)
    if levels:  # many equal distances: ties must break as the pair order does
        distances = np.floor(distances * levels)
    labels = _fill(distances, num_clusters)
    np.testing.assert_array_equal(labels, _pair_by_pair_fill(distances, num_clusters))
    assert np.bincount(labels, minlength=num_clusters).max() - np.bincount(labels).min() <= 1
