"""recipes/emoji/cluster_labels.py: k-means labels written as NVIDIA's dataset.json, read back by the loader."""
import io
import sys
import zipfile

import numpy as np
from PIL import Image

from keras_stylegan.data.images import read_images

from .helpers import load_recipe_script


def load_script():
    return load_recipe_script("emoji", "cluster_labels")


def write_zip(path, kinds):
    """Three kinds of 32x32 RGBA picture (red square, blue disc, transparent with a green bar)."""
    rng = np.random.RandomState(0)
    yy, xx = np.mgrid[:32, :32]
    with zipfile.ZipFile(path, "w") as archive:
        for i, kind in enumerate(kinds):
            pixels = np.zeros([32, 32, 4], np.uint8)
            if kind == 0:
                pixels[4:28, 4:28] = (220, 30, 30, 255)
            elif kind == 1:
                pixels[(yy - 16) ** 2 + (xx - 16) ** 2 < 144] = (30, 30, 220, 255)
            else:
                pixels[14:18, :] = (30, 200, 30, 255)
            pixels[..., :3] = np.clip(pixels[..., :3] + rng.randint(-10, 10, [32, 32, 3]), 0, 255)
            buffer = io.BytesIO()
            Image.fromarray(pixels, "RGBA").save(buffer, "PNG")
            archive.writestr(f"img{i:02d}.png", buffer.getvalue())


def test_clusters_separate_the_kinds_and_the_loader_reads_them(tmp_path, monkeypatch):
    kinds = [0, 1, 2] * 5
    write_zip(tmp_path / "data.zip", kinds)
    out = tmp_path / "labelled.zip"
    monkeypatch.setattr(sys, "argv", ["cluster_labels.py", "--data", str(tmp_path / "data.zip"), "--out", str(out),
                                      "--clusters", "3", "--size", "8"])
    load_script().main()
    images, info = read_images(str(out), 16, channels=4)
    assert info.num_classes == 3 and len(images) == 15
    # One cluster per kind: the same label within a kind, different labels across kinds.
    by_kind = {kind: set(info.labels[np.array(kinds) == kind]) for kind in (0, 1, 2)}
    assert all(len(labels) == 1 for labels in by_kind.values())
    assert len(set.union(*by_kind.values())) == 3
    assert (tmp_path / "labelled.png").exists() and not (tmp_path / "labelled.zip.partial").exists()


def test_kmeans_is_deterministic_and_uses_every_cluster():
    kmeans = load_script().kmeans
    points = np.concatenate([np.random.RandomState(1).randn(30, 4) + offset for offset in (0, 10, 20)])
    first, second = kmeans(points, 3, seed=5), kmeans(points, 3, seed=5)
    np.testing.assert_array_equal(first, second)
    assert sorted(np.bincount(first).tolist()) == [30, 30, 30]
