"""Presets: KerasHub's layout (read by Keras itself), the earlier layout still read, atomic writes, float16."""
import json
import os

import h5py
import keras
import numpy as np
import pytest

from keras_stylegan import Discriminator, Generator, zoo
from keras_stylegan.zoo.presets import has_discriminator, load_preset, preset_layout, save_preset

TINY = dict(resolution=(8, 16), channels=4, z_dim=16, w_dim=16, channel_base=128, channel_max=16, mapping_layers=2)
TINY_D = dict(resolution=(8, 16), channels=4, channel_base=128, channel_max=16, mbstd_group_size=2)


def networks():
    g, d = Generator(**TINY), Discriminator(**TINY_D)
    g.mapping.w_avg.assign(np.full([16], 0.25, "float32"))  # not the initial value: a stored one must arrive
    return g, d


def assert_same_networks(g, d, g2, d2, tol):
    z = np.random.RandomState(0).randn(2, 16).astype("float32")
    img = g(z, psi=0.5, noise_mode="const")
    np.testing.assert_allclose(g2(z, psi=0.5, noise_mode="const"), img, atol=tol, rtol=tol)
    if d is not None:
        np.testing.assert_allclose(d2(img), d(img), atol=tol, rtol=tol)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_preset_round_trip(tmp_path, dtype):
    g, d = networks()
    out = save_preset(tmp_path / "p", g, d, metadata={"source": "test"}, weights_dtype=dtype)
    assert sorted(os.listdir(out)) == ["config.json", "discriminator.json", "discriminator.weights.h5",
                                       "metadata.json", "model.weights.h5"]
    g2, d2, meta = load_preset(out, discriminator=True)
    assert meta["source"] == "test" and meta["weights_dtype"] == dtype
    assert meta["parameter_count"] == g.count_params() + d.count_params() and meta["keras_version"] == keras.__version__
    assert_same_networks(g, d, g2, d2, 0 if dtype == "float32" else 5e-2)
    assert all(v.dtype == "float32" for v in g2.weights if "seed" not in v.path)
    stored = []
    with h5py.File(os.path.join(out, "model.weights.h5")) as f:
        f.visititems(lambda name, item: stored.append(item.dtype) if isinstance(item, h5py.Dataset) else None)
    assert np.dtype(dtype) in stored  # float16 storage really halves the file


def test_keras_reads_the_preset_without_our_helpers(tmp_path):
    """KerasHub's layout: config.json is Keras' serialized config, the weights Keras' own format."""
    g, d = networks()
    out = g.save_to_preset(tmp_path / "p", discriminator=d)
    config = json.load(open(os.path.join(out, "config.json")))
    assert config["registered_name"] == "keras_stylegan>Generator" and config["config"]["resolution"] == [8, 16]
    g2 = keras.saving.deserialize_keras_object(config)
    g2.load_weights(os.path.join(out, "model.weights.h5"))
    d2 = keras.saving.deserialize_keras_object(json.load(open(os.path.join(out, "discriminator.json"))))
    d2.load_weights(os.path.join(out, "discriminator.weights.h5"))
    assert type(g2) is Generator and type(d2) is Discriminator
    assert_same_networks(g, d, g2, d2, 0)
    # and the other way round: a file Keras' own `save_weights` wrote is a valid preset weights file
    g.save_weights(tmp_path / "keras.weights.h5")
    os.replace(tmp_path / "keras.weights.h5", os.path.join(out, "model.weights.h5"))
    g3 = zoo.load(out)
    assert_same_networks(g, None, g3, None, 0)


def write_earlier_layout(directory, g, d=None, dtype="float32"):
    """A preset as versions before KerasHub's layout wrote it: constructor arguments, weights by variable path."""
    os.makedirs(directory)
    config = {"generator": {k: v for k, v in g.get_config().items() if k not in ("name", "trainable", "dtype")}}
    models = {"model.weights.h5": g}
    if d is not None:
        config["discriminator"] = {k: v for k, v in d.get_config().items() if k not in ("name", "trainable", "dtype")}
        models["discriminator.weights.h5"] = d
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f)
    with open(os.path.join(directory, "metadata.json"), "w") as f:
        json.dump({"source": "old", "weights_dtype": dtype}, f)
    for name, model in models.items():
        with h5py.File(os.path.join(directory, name), "w") as f:
            for variable in model.weights:
                value = np.asarray(variable.numpy())
                f.create_dataset(variable.path.split("/", 1)[1], data=value.astype(dtype) if value.dtype == "float32"
                                 else value)
    return directory


def test_presets_in_the_earlier_layout_still_load(tmp_path):
    g, d = networks()
    old = write_earlier_layout(tmp_path / "old", g, d)
    assert preset_layout(old) == "legacy" and has_discriminator(old)
    g2, d2, meta = load_preset(old, discriminator=True)
    assert meta["source"] == "old"
    assert_same_networks(g, d, g2, d2, 0)
    g3, d3 = zoo.load(old, discriminator=True)
    assert_same_networks(g, d, g3, d3, 0)
    # re-saved, it is in KerasHub's layout
    new = g3.save_to_preset(tmp_path / "new", discriminator=d3)
    assert preset_layout(new) == "keras" and has_discriminator(new)
    assert not has_discriminator(write_earlier_layout(tmp_path / "g_only", g))


def test_preset_errors_are_one_line(tmp_path):
    g, d = networks()
    out = save_preset(tmp_path / "p", g)
    with pytest.raises(ValueError, match="has no discriminator"):
        load_preset(out, discriminator=True)
    other = save_preset(tmp_path / "other", Generator(**dict(TINY, channel_max=8)))
    os.replace(os.path.join(other, "model.weights.h5"), os.path.join(out, "model.weights.h5"))
    with pytest.raises(ValueError, match="model.weights.h5 does not match config.json") as error:
        load_preset(out)
    assert "\n" not in str(error.value)
    config = json.load(open(os.path.join(out, "config.json")))
    config["class_name"] = "Sequential"
    json.dump(config, open(os.path.join(out, "config.json"), "w"))
    with pytest.raises(ValueError, match="describes a Sequential, not a keras_stylegan Generator"):
        load_preset(out)
    json.dump({"nothing": 1}, open(os.path.join(out, "config.json"), "w"))
    with pytest.raises(ValueError, match="describes no generator"):
        load_preset(out)
    open(os.path.join(out, "config.json"), "w").write("{not json")
    with pytest.raises(ValueError, match="not a valid JSON config"):
        load_preset(out)


def test_huge_settings_are_refused_before_building(tmp_path):
    """A config asking for a far larger network than its weights file is refused before Keras allocates it."""
    out = save_preset(tmp_path / "p", Generator(**TINY))
    config = json.load(open(os.path.join(out, "config.json")))
    config["config"].update(resolution=[1024, 1024], channel_base=2**20, channel_max=4096)
    json.dump(config, open(os.path.join(out, "config.json"), "w"))
    with pytest.raises(ValueError, match="describe at least"):
        load_preset(out)


def test_failed_save_leaves_no_half_written_preset(tmp_path):
    g = Generator(**TINY)
    save_preset(tmp_path / "p", g)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(TypeError):  # fails midway (the generator written), after the temporary directory exists
        save_preset(tmp_path / "p", g, discriminator=object(), overwrite=True)
    assert sorted(os.listdir(tmp_path)) == before  # the old preset is intact, no temp dir left
    load_preset(tmp_path / "p")


def test_not_a_preset(tmp_path):
    with pytest.raises(ValueError, match="not a keras_stylegan preset"):
        load_preset(tmp_path)
