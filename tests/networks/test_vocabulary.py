"""One vocabulary (issue 20): `architecture` = stylegan/stylegan2/stylegan3, `block_architecture` = the
blocks' layout (orig/skip/resnet; StyleGAN3 t/r) on every network. The old `Generator` keyword
`synthesis_architecture` still works with a DeprecationWarning, and files written before the rename load."""
import json
import os
import warnings
import zipfile

import keras
import numpy as np
import pytest

from keras_stylegan import Generator
from keras_stylegan.training.config import TrainingConfig
from keras_stylegan.utils.checks import NOISE_MODES

TINY = dict(resolution=16, z_dim=8, w_dim=8, channel_base=64, channel_max=8, mapping_layers=1)


def _no_deprecation():
    """A context in which any DeprecationWarning is an error (the project's pytest config ignores them)."""
    context = warnings.catch_warnings()
    context.__enter__()
    warnings.simplefilter("error", DeprecationWarning)
    return context


def test_block_architecture_is_the_keyword_and_the_config_key():
    context = _no_deprecation()
    try:
        g = Generator(block_architecture="orig", **TINY)
    finally:
        context.__exit__(None, None, None)
    assert g.block_architecture == "orig" == g.synthesis.block_architecture
    assert g.get_config()["block_architecture"] == "orig" and "synthesis_architecture" not in g.get_config()
    assert not [b for b in g.synthesis.blocks[:-1] if b.torgb is not None]  # orig: only the last block has ToRGB


def test_the_old_keyword_warns_and_still_works():
    with pytest.warns(DeprecationWarning, match="`synthesis_architecture` is deprecated; use `block_architecture`"):
        g = Generator(synthesis_architecture="orig", **TINY)
    assert g.block_architecture == "orig" and g.synthesis.block_architecture == "orig"
    with pytest.warns(DeprecationWarning, match="block_architecture"):
        assert g.synthesis_architecture == "orig"


def test_the_old_keyword_works_for_stylegan3():
    with pytest.warns(DeprecationWarning):
        g = Generator(architecture="stylegan3", synthesis_architecture="r", resolution=16, z_dim=8, w_dim=8,
                      channel_base=64, channel_max=8, mapping_layers=1)
    assert g.block_architecture == "r" and g.synthesis.conv_kernel == 1


def test_old_and_new_keyword_together_must_agree():
    with pytest.warns(DeprecationWarning):
        g = Generator(synthesis_architecture="resnet", block_architecture="resnet", **TINY)
    assert g.block_architecture == "resnet"
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="pass one of them"):
        Generator(synthesis_architecture="orig", block_architecture="skip", **TINY)


def test_a_config_with_the_old_key_loads_silently():
    config = Generator(block_architecture="resnet", **TINY).get_config()
    config["synthesis_architecture"] = config.pop("block_architecture")
    context = _no_deprecation()
    try:
        g = Generator.from_config(config)
    finally:
        context.__exit__(None, None, None)
    assert g.block_architecture == "resnet"


def _with_old_key(path):
    """Rewrites a `.keras` file as the code before the rename wrote it: `synthesis_architecture` in config.json."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    config["config"]["synthesis_architecture"] = config["config"].pop("block_architecture")
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_an_old_keras_file_loads(tmp_path):
    g = Generator(block_architecture="orig", **TINY)
    path = str(tmp_path / "old.keras")
    g.save(path)
    _with_old_key(path)
    with zipfile.ZipFile(path) as archive:
        assert "synthesis_architecture" in json.loads(archive.read("config.json"))["config"]
    loaded = keras.saving.load_model(path)
    assert loaded.block_architecture == "orig"
    z = np.random.RandomState(0).randn(2, 8).astype("float32")
    np.testing.assert_array_equal(np.asarray(loaded(z, noise_mode="const")), np.asarray(g(z, noise_mode="const")))

    from keras_stylegan.zoo import load

    assert load(path).block_architecture == "orig"  # the zoo's checked .keras reader too


def test_an_old_preset_loads(tmp_path):
    from keras_stylegan.zoo import load
    from keras_stylegan.zoo.presets import save_preset

    g = Generator(block_architecture="orig", **TINY)
    path = save_preset(tmp_path / "old", g)  # generator only: the discriminator's key is (and was) block_architecture
    config_path = os.path.join(path, "config.json")
    with open(config_path) as f:
        text = f.read()
    assert text.count('"block_architecture"') == 1
    with open(config_path, "w") as f:
        f.write(text.replace('"block_architecture"', '"synthesis_architecture"'))
    loaded = load(path)
    assert loaded.block_architecture == "orig"
    z = np.random.RandomState(1).randn(1, 8).astype("float32")
    np.testing.assert_array_equal(np.asarray(loaded(z, noise_mode="const")), np.asarray(g(z, noise_mode="const")))


def test_old_training_options_read_the_new_key():
    options = TrainingConfig(resolution=16).to_json()
    options["network_kwargs"] = {"generator": {"synthesis_architecture": "orig"}, "discriminator": {}}
    config = TrainingConfig.from_json(options)
    assert config.network_kwargs == {"generator": {"block_architecture": "orig"}, "discriminator": {}}


def test_noise_modes_have_one_spelling():
    from keras_stylegan import sampling
    from keras_stylegan.layers import noise

    assert sampling.NOISE_MODES is NOISE_MODES is noise.NOISE_MODES
    for check in (sampling.check_noise_mode, noise.check_noise_mode):
        with pytest.raises(ValueError, match="`noise_mode` must be one of"):
            check("fixed")
