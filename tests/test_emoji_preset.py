"""The packaged `emoji` preset: loads and samples offline, small on disk, float32 at run time."""
import json
import os

import numpy as np
from click.testing import CliRunner
from PIL import Image

import keras_stylegan
from keras_stylegan.cli.main import cli
from keras_stylegan.zoo import get_card, load

PRESET = os.path.join(os.path.dirname(keras_stylegan.__file__), "presets", "emoji")


def test_emoji_preset_is_small_float16_and_documented():
    size = sum(os.path.getsize(os.path.join(PRESET, f)) for f in os.listdir(PRESET))
    assert size <= 15e6
    import h5py

    with h5py.File(os.path.join(PRESET, "model.weights.h5")) as f:
        stored = []  # every weight array, whichever layout the preset was saved in
        f.visititems(lambda name, obj: stored.append(obj.dtype) if isinstance(obj, h5py.Dataset) else None)
    assert len(stored) > 50 and all(dtype == np.float16 for dtype in stored)
    metadata = json.load(open(os.path.join(PRESET, "metadata.json")))
    assert metadata["kimg"] > 0 and metadata["swd_x1e3_vs_data"]["swd_avg"] > 0
    card = get_card("emoji")
    assert card.channels == 4 and card.resolution == "32x32" and card.source_format == "preset"
    # The card describes the networks actually shipped (make_preset.py keeps them in step).
    config = {part: json.load(open(os.path.join(PRESET, name)))["config"]  # Keras' serialized networks
              for part, name in (("generator", "config.json"), ("discriminator", "discriminator.json"))}
    assert card.num_classes == config["generator"]["num_classes"] and card.conditional == bool(card.num_classes)
    for part in ("generator", "discriminator"):
        for key, value in getattr(card, part).items():
            shipped = config[part][key]
            assert value == (shipped[0] if key == "resolution" else shipped), (part, key)


def test_emoji_loads_offline_and_samples_varied_rgba(monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket, "create_connection", no_network)
    g = load("emoji")
    assert g.channels == 4 and tuple(g.resolution) == (32, 32)
    assert all(v.dtype == "float32" for v in g.weights if "seed" not in v.path)
    z = np.random.RandomState(0).randn(8, g.z_dim).astype("float32")
    labels = np.arange(8) % g.num_classes if g.num_classes else None  # self-conditioned on clusters
    images = np.asarray(g(z, labels=labels, noise_mode="const"))
    assert np.isfinite(images).all() and images.shape == (8, 32, 32, 4)
    # Different seeds give different pictures, with real transparency (alpha spans both ends).
    assert np.abs(images[0] - images[1]).mean() > 0.05
    alpha = images[..., 3]
    assert (alpha < -0.5).mean() > 0.05 and (alpha > 0.5).mean() > 0.05


def test_kstylegan_sample_n16_uses_the_emoji_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["sample", "--n", "16"])
    assert result.exit_code == 0, result.output
    image = Image.open(tmp_path / "samples.png")
    assert image.mode == "RGBA" and image.size == (4 * 32, 4 * 32)
