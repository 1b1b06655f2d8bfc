"""Local presets: atomic write, float16 storage, exact reload."""
import json
import os

import numpy as np
import pytest

from keras_stylegan import Discriminator, Generator
from keras_stylegan.zoo.presets import load_preset, save_preset

TINY = dict(resolution=(8, 16), channels=4, z_dim=16, w_dim=16, channel_base=128, channel_max=16, mapping_layers=2)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_preset_round_trip(tmp_path, dtype):
    g = Generator(**TINY)
    d = Discriminator(resolution=(8, 16), channels=4, channel_base=128, channel_max=16, mbstd_group_size=2)
    g.mapping.w_avg.assign(np.full([16], 0.25, "float32"))
    z = np.random.RandomState(0).randn(2, 16).astype("float32")
    out = save_preset(tmp_path / "p", g, d, metadata={"source": "test"}, weights_dtype=dtype)
    assert sorted(os.listdir(out)) == ["config.json", "discriminator.weights.h5", "metadata.json", "model.weights.h5"]
    g2, d2, meta = load_preset(out, discriminator=True)
    assert meta["source"] == "test" and meta["weights_dtype"] == dtype
    tol = 1e-6 if dtype == "float32" else 5e-2
    img = g(z, psi=0.5, noise_mode="const")
    np.testing.assert_allclose(g2(z, psi=0.5, noise_mode="const"), img, atol=tol, rtol=tol)
    np.testing.assert_allclose(d2(img), d(img), atol=tol, rtol=tol)
    assert all(v.dtype == "float32" for v in g2.weights if "seed" not in v.path)
    assert json.load(open(os.path.join(out, "config.json")))["generator"]["resolution"] == [8, 16]


def test_failed_save_leaves_no_half_written_preset(tmp_path):
    g = Generator(**TINY)
    save_preset(tmp_path / "p", g)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(AttributeError):  # fails midway, after the temporary directory exists
        save_preset(tmp_path / "p", g, discriminator=object())
    assert sorted(os.listdir(tmp_path)) == before  # the old preset is intact, no temp dir left
    load_preset(tmp_path / "p")


def test_not_a_preset(tmp_path):
    with pytest.raises(ValueError, match="not a keras_stylegan preset"):
        load_preset(tmp_path)
