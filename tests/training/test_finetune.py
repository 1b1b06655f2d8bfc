"""Fine-tuning (`train(..., resume=SOURCE)`, `kstylegan train --resume`): every source kind, freezing,
and starting across channel counts, resolutions and aspect ratios. Tiny 16x16 networks throughout;
NVIDIA-format pickles are written by `official_pickles`."""
import json
import os

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from keras_stylegan import Discriminator, Generator
from keras_stylegan.cli.main import cli
from keras_stylegan.layers.upfirdn import setup_filter, upsample2d
from keras_stylegan.training.config import ConfigError, TrainingConfig
from keras_stylegan.training.finetune import (
    discriminator_layers, freeze, generator_layers, load_source, source_settings, transfer,
)
from keras_stylegan.training.run import build_gan, train
from keras_stylegan.zoo.convert import export_weights
from keras_stylegan.zoo.presets import save_preset
from official_pickles import write_pytorch_pickle

NET = dict(z_dim=8, w_dim=8, channel_base=64, channel_max=8, mapping_layers=2)
Z = np.random.RandomState(0).randn(2, 8).astype("float32")
# Training options that keep a run to a couple of steps of batch 4.
FAST = dict(kimg=0.008, batch_size=4, tick_kimg=0.008, augment="none", mbstd_group_size=2, verbose=2)


def randomize(model, seed):
    rng = np.random.RandomState(seed)
    for v in model.weights:
        if "seed_generator" not in v.path and not v.path.endswith("/lod"):
            v.assign(np.asarray(rng.randn(*v.shape), "float32") * 0.5)
    return model


def tiny_networks(resolution=16, channels=3, seed=1, **kwargs):
    g = randomize(Generator(resolution=resolution, channels=channels, **NET, **kwargs), seed)
    d = randomize(Discriminator(resolution=resolution, channels=channels, channel_base=64, channel_max=8,
                                mbstd_group_size=2), seed + 1)
    return g, d


def weights(model):
    return {v.path.split("/", 1)[1]: np.asarray(v.numpy()) for v in model.weights if "seed_generator" not in v.path}


def assert_same_weights(got, want, only=None):
    got, want = weights(got), weights(want)
    keys = [k for k in want if only is None or only(k)]
    assert keys
    for key in keys:
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)


def write_pickle(path, g, g_ema, d):
    """A stylegan2-ada-pytorch pickle of these networks (G and G_ema differ, as in a real snapshot)."""
    g_kwargs = dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=g.resolution[0], img_channels=g.channels,
                    mapping_kwargs=dict(num_layers=2), synthesis_kwargs=dict(channel_base=64, channel_max=8))
    d_kwargs = dict(c_dim=0, img_resolution=d.resolution[0], img_channels=d.channels, architecture="resnet",
                    channel_base=64, channel_max=8, epilogue_kwargs=dict(mbstd_group_size=2))
    nets = {"G": dict(class_name="Generator", init_kwargs=g_kwargs, state_dict=export_weights(g)),
            "D": dict(class_name="Discriminator", init_kwargs=d_kwargs, state_dict=export_weights(d)),
            "G_ema": dict(class_name="Generator", init_kwargs=g_kwargs, state_dict=export_weights(g_ema))}
    write_pytorch_pickle(path, nets)
    return path


def write_images(folder, n=8, size=16, mode="RGB"):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(0)
    for i in range(n):
        pixels = rng.randint(0, 256, [size, size, len(mode)]).astype("uint8")
        Image.fromarray(pixels[..., 0] if mode == "L" else pixels, mode).save(folder / f"{i}.png")
    return folder


@pytest.fixture(scope="module")
def pickle_source(tmp_path_factory):
    folder = tmp_path_factory.mktemp("source")
    g, d = tiny_networks(seed=1)
    g_ema, _ = tiny_networks(seed=5)
    return write_pickle(folder / "net.pkl", g, g_ema, d), g, g_ema, d


# ---- sources ---------------------------------------------------------------------------------


def test_pickle_source_gives_g_g_ema_d_and_its_architecture(pickle_source):
    path, g, g_ema, d = pickle_source
    start = load_source(str(path))
    assert start.kind == "pickle" and start.has_training_generator
    assert_same_weights(start.generator, g)
    assert_same_weights(start.generator_ema, g_ema)
    assert_same_weights(start.discriminator, d)
    fields, _ = source_settings(start)
    assert fields == dict(architecture="stylegan2", resolution=(16, 16), channels=3, z_dim=8, w_dim=8,
                          mapping_layers=2, channel_base=64, channel_max=8, conditional=False,
                          d_block_architecture="resnet")


def test_preset_source_without_discriminator_and_its_extra_network_arguments(tmp_path):
    g = randomize(Generator(resolution=16, channels=3, block_architecture="orig", w_avg_beta=0.9, **NET), 3)
    save_preset(tmp_path / "preset", g)
    start = load_source(str(tmp_path / "preset"))
    assert start.kind == "preset" and start.discriminator is None and not start.has_training_generator
    assert_same_weights(start.generator_ema, g)
    assert_same_weights(start.generator, g)  # G starts as a copy of G_ema
    fields, extras = source_settings(start)
    assert extras == {"generator": {"block_architecture": "orig", "w_avg_beta": 0.9}}
    assert "d_block_architecture" not in fields
    # The run builds exactly the source's generator (a default one would be 'skip' and not load).
    config = TrainingConfig(cfg="cpu", **fields, network_kwargs=extras, resume=str(tmp_path / "preset")).resolve()
    assert config.clusters == 0  # a fine-tuning run keeps its source's conditioning
    gan = build_gan(config)
    assert gan.generator.get_config()["block_architecture"] == "orig"
    transfer(gan.generator, start.generator_ema)
    assert_same_weights(gan.generator, g)


def test_zoo_card_source_reads_the_cards_architecture():
    start = load_source("emoji")  # shipped in the package: no download
    fields, extras = source_settings(start)
    assert start.kind == "card" and start.source == "emoji" and start.discriminator is not None
    assert (fields["architecture"], fields["resolution"], fields["channels"], fields["conditional"]) == \
        ("stylegan", (32, 32), 4, True)
    assert (fields["z_dim"], fields["mapping_layers"], fields["channel_max"]) == (128, 2, 64)
    assert extras["discriminator"]["cmap_dim"] == 64


def test_a_conditional_source_keeps_its_classes_when_the_data_uses_a_few(tmp_path, capsys):
    # Labels that are ids of a few of the source's classes (recipes/finetune_emoji): the largest id is below the
    # source's count, yet the run must keep every class and the source's label embedding.
    g = randomize(Generator(resolution=16, channels=3, num_classes=4, **NET), 1)
    d = randomize(Discriminator(resolution=16, channels=3, num_classes=4, channel_base=64, channel_max=8,
                                mbstd_group_size=2), 2)
    save_preset(tmp_path / "source", g, d)
    data = write_images(tmp_path / "data", n=8)
    (data / "dataset.json").write_text(json.dumps({"labels": [[f"{i}.png", i % 2] for i in range(8)]}))
    gan = train(str(data), str(tmp_path / "run"), resume=str(tmp_path / "source"), **FAST)
    assert "fresh" not in capsys.readouterr().out
    assert gan.generator_ema.num_classes == 4 and gan.discriminator.num_classes == 4
    # Classes 2 and 3 are never shown: their rows of the embedding stay the source's, bit for bit.
    embed = [v for v in gan.generator_ema.weights if v.path.endswith("embed/kernel")]
    source_embed = [v for v in g.weights if v.path.endswith("embed/kernel")]
    assert len(embed) == len(source_embed) == 1
    np.testing.assert_array_equal(embed[0].numpy()[2:], source_embed[0].numpy()[2:])


@pytest.mark.parametrize("bad", ["not-a-zoo-name", "text"])
def test_a_source_that_is_not_a_model_is_one_line(tmp_path, bad):
    if bad == "text":
        bad = str(tmp_path / "notes.pkl")
        open(bad, "w").write("hello")
    with pytest.raises(ValueError) as error:
        load_source(bad)
    assert "\n" not in str(error.value) and bad in str(error.value)


# ---- the command line --------------------------------------------------------------------------

CLI_FAST = ["--kimg", "0.008", "--batch", "4", "--tick", "0.008", "--aug", "none", "--mbstd", "2"]


def test_cli_fine_tunes_to_gray_at_8px_then_restarts_and_is_a_source(tmp_path, pickle_source):
    """From a pickle to an 8x8 gray run with D's layers and G's mapping frozen; the run restarts as any
    run (no --resume); then the run directory is itself a source (its checkpoint's G, G_ema and D)."""
    path, _, g_ema, d = pickle_source
    data = write_images(tmp_path / "data", mode="L")
    run = tmp_path / "run"
    args = ["train", "--data", str(data), "--outdir", str(run)] + CLI_FAST
    result = CliRunner().invoke(cli, args + ["--resume", str(path), "--resolution", "8", "--channels", "1",
                                             "--freezed", "4", "--freeze-g", "mapping"])
    assert result.exit_code == 0, result.output
    assert f"Fine-tuning: G, G_ema and D from pickle {path} (stylegan2 16x16, 3 channels)" in result.output
    assert "adapted (channels 3->1)" in result.output
    options = json.load(open(run / "training_options.json"))
    assert (options["resolution"], options["channels"], options["resume"]) == ([8, 8], 1, str(path))
    assert (options["channel_base"], options["mapping_layers"], options["z_dim"]) == (64, 2, 8)  # the source's
    assert (options["freezed"], options["freeze_g"]) == (4, "mapping")
    result = CliRunner().invoke(cli, args + ["--kimg", "0.016"])  # a plain restart continues the run
    assert result.exit_code == 0, result.output
    assert "Resuming" in result.output and "Fine-tuning" not in result.output

    start = load_source(str(run))
    assert start.kind == "run"
    gan = build_gan(options)
    gan.compile()
    from keras_stylegan.training.checkpoint import load_checkpoint

    assert load_checkpoint(run / "checkpoint.h5", gan)["kimg"] == 0.016
    for name in ("generator", "generator_ema", "discriminator"):
        assert_same_weights(getattr(start, name), getattr(gan, name))
    # Frozen through both runs: G's (and G_ema's) mapping, and D's kept 8x8 block, are the pickle's.
    assert_same_weights(gan.generator_ema.mapping, g_ema.mapping)
    assert_same_weights(gan.discriminator, d, only=lambda k: k.startswith("b8/"))
    assert any(not np.array_equal(a, weights(d)[k]) for k, a in weights(gan.discriminator).items()
               if k.startswith("b4/"))  # the 4x4 epilogue trains


@pytest.mark.parametrize("case", ["not-a-model", "freezed-too-deep", "run-and-resume", "fixed-width"])
def test_cli_bad_fine_tuning_input_is_one_line_and_writes_nothing(tmp_path, pickle_source, case):
    path = str(pickle_source[0])
    data = write_images(tmp_path / "data", n=4)
    run = tmp_path / "run"
    extra = {"not-a-model": ["--resume", str(data / "0.png")], "freezed-too-deep": ["--resume", path, "--freezed", "8"],
             "run-and-resume": ["--resume", path], "fixed-width": ["--resume", path, "--map", "4"]}[case]
    if case == "run-and-resume":
        run.mkdir()
        (run / "training_options.json").write_text(json.dumps(TrainingConfig(cfg="cpu").resolve().to_json()))
    before = sorted(os.listdir(run)) if run.exists() else None
    result = CliRunner().invoke(cli, ["train", "--data", str(data), "--outdir", str(run)] + CLI_FAST
                                                + extra)
    assert result.exit_code == 2, (result.output, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert {"not-a-model": "not a model", "freezed-too-deep": "--freezed 8 is more than the discriminator's 7",
            "run-and-resume": "already holds a run", "fixed-width": "--map 4 disagrees"}[case] in lines[0]
    assert (sorted(os.listdir(run)) if run.exists() else None) == before


# ---- freezing ------------------------------------------------------------------------------------


def nvidia_freezed_order(resolution, architecture):
    """stylegan2-ada-pytorch's Freeze-D layer order: from the top block down, FromRGB where the block reads
    the image (the top block; every block for 'skip'), conv0, conv1, skip for 'resnet'."""
    names, side = [], resolution
    while side > 4:
        if side == resolution or architecture == "skip":
            names.append(f"b{side}/fromrgb")
        names += [f"b{side}/conv0", f"b{side}/conv1"] + ([f"b{side}/skip"] if architecture == "resnet" else [])
        side //= 2
    return names


@pytest.mark.parametrize("architecture", ["resnet", "skip", "orig"])
def test_freezed_counts_layers_as_nvidia(architecture):
    d = Discriminator(resolution=32, channels=3, channel_base=64, channel_max=8, block_architecture=architecture)
    got = [layer.path.split("/", 1)[1] for layer in discriminator_layers(d)]
    assert got == nvidia_freezed_order(32, architecture)


@pytest.mark.parametrize("part", ["mapping", "coarse"])
def test_frozen_weights_stay_bit_identical_while_the_others_train(part):
    config = TrainingConfig(cfg="cpu", resolution=16, channels=3, batch_size=4, mbstd_group_size=2, augment="none",
                            clusters=0, freezed=3, freeze_g=part, **{k: v for k, v in NET.items()}).resolve()
    gan = build_gan(config)
    gan.compile(run_eagerly=True)  # one step: tracing the graph would cost more than running it
    frozen = [layer.path for layer in discriminator_layers(gan.discriminator)[:3]]
    assert frozen == ["discriminator/b16/fromrgb", "discriminator/b16/conv0", "discriminator/b16/conv1"]
    g_frozen = {layer.path.split("/", 1)[1] for layer in generator_layers(gan.generator, part)}
    assert g_frozen == ({"mapping"} if part == "mapping" else {"synthesis/b4", "synthesis/b8"})
    before = {name: weights(net) for name, net in
              (("G", gan.generator), ("G_ema", gan.generator_ema), ("D", gan.discriminator))}
    gan.fit(np.random.RandomState(0).uniform(-1, 1, [8, 16, 16, 3]).astype("float32"), batch_size=4, epochs=1,
            verbose=0)
    after = {name: weights(net) for name, net in
             (("G", gan.generator), ("G_ema", gan.generator_ema), ("D", gan.discriminator))}

    def is_frozen(net, key):
        if net == "D":
            return any(key.startswith(f.split("/", 1)[1] + "/") for f in frozen)
        return any(key.startswith(prefix + "/") for prefix in g_frozen) and not key.endswith(("w_avg", "noise_const"))

    for net in before:
        changed = {key for key in before[net] if not np.array_equal(before[net][key], after[net][key])}
        frozen_keys = {key for key in before[net] if is_frozen(net, key)}
        assert frozen_keys and not frozen_keys & changed, (net, frozen_keys & changed)
        assert changed - frozen_keys, net  # the rest trains


def test_freezed_larger_than_the_discriminator_is_refused():
    gan = build_gan(TrainingConfig(cfg="cpu", resolution=8, channels=3, **NET).resolve())
    with pytest.raises(ConfigError, match="more than the discriminator's 4 layers"):
        freeze(gan, freezed=5)


# ---- across shapes ---------------------------------------------------------------------------


def test_channels_rgb_to_gray_and_rgba_keep_every_other_weight():
    g3, d3 = tiny_networks(channels=3)
    g1 = Generator(resolution=16, channels=1, **NET)
    report = transfer(g1, g3)
    assert report.adapted and not report.fresh
    assert_same_weights(g1, g3, only=lambda k: "torgb/kernel" not in k and "torgb/bias" not in k)
    # The gray output is the luma of the RGB one.
    rgb, gray = np.asarray(g3(Z, noise_mode="const")), np.asarray(g1(Z, noise_mode="const"))
    np.testing.assert_allclose(gray[..., 0], rgb @ np.float32([0.299, 0.587, 0.114]), atol=1e-5)
    # RGBA: the colour is the RGB model's, alpha starts opaque.
    g4 = Generator(resolution=16, channels=4, **NET)
    transfer(g4, g3)
    rgba = np.asarray(g4(Z, noise_mode="const"))
    np.testing.assert_allclose(rgba[..., :3], rgb, atol=1e-6)
    np.testing.assert_allclose(rgba[..., 3], 1.0, atol=1e-6)
    # D: a gray image scores as the RGB D scored it repeated; an RGBA D ignores alpha at first.
    images = np.random.RandomState(2).uniform(-1, 1, [2, 16, 16, 1]).astype("float32")
    d1 = Discriminator(resolution=16, channels=1, channel_base=64, channel_max=8, mbstd_group_size=2)
    transfer(d1, d3)
    np.testing.assert_allclose(np.asarray(d1(images)), np.asarray(d3(np.repeat(images, 3, -1))), rtol=1e-4, atol=1e-5)
    d4 = Discriminator(resolution=16, channels=4, channel_base=64, channel_max=8, mbstd_group_size=2)
    transfer(d4, d3)
    rgb_images = np.repeat(images, 3, -1)
    alpha = np.random.RandomState(3).uniform(-1, 1, [2, 16, 16, 1]).astype("float32")
    np.testing.assert_allclose(np.asarray(d4(np.concatenate([rgb_images, alpha], -1))), np.asarray(d3(rgb_images)),
                               rtol=1e-4, atol=1e-5)


def test_smaller_resolution_drops_the_top_blocks():
    g16, d16 = tiny_networks()
    g8 = Generator(resolution=8, channels=3, **NET)
    d8 = Discriminator(resolution=8, channels=3, channel_base=64, channel_max=8, mbstd_group_size=2)
    transfer(g8, g16)
    report = transfer(d8, d16)
    assert_same_weights(g8, g16, only=lambda k: "/b16/" not in k)
    assert_same_weights(d8, d16, only=lambda k: k.startswith("b4/") or (k.startswith("b8/") and "fromrgb" not in k))
    assert report.unused  # b16's layers


def test_larger_resolution_adds_blocks_that_start_silent():
    g8 = randomize(Generator(resolution=8, channels=3, **NET), 4)
    g16 = Generator(resolution=16, channels=3, **NET)
    report = transfer(g16, g8)
    assert report.fresh and all("/b16/" in key for key in report.fresh)
    assert_same_weights(g16, g8, only=lambda k: "/b16/" not in k)
    # The new 16x16 block's ToRGB starts at zero: the first images are the 8x8 model's, upsampled.
    small = np.asarray(g8(Z, noise_mode="const"))
    expected = np.asarray(upsample2d(small, setup_filter([1, 3, 3, 1])))
    np.testing.assert_allclose(np.asarray(g16(Z, noise_mode="const")), expected, atol=1e-5)
    affine = weights(g16)["synthesis/b16/torgb/affine/bias"]
    np.testing.assert_array_equal(affine, np.ones_like(affine))  # styles flow: the zero ToRGB can learn


def test_non_square_from_square_crops_the_constant(pickle_source):
    start = load_source(str(pickle_source[0]))
    wide = Generator(resolution=(8, 16), channels=3, **NET)
    transfer(wide, start.generator_ema)
    source = weights(start.generator_ema)
    # The 4x4 constant becomes the centre 2x4 (rows 1-2); conv weights do not depend on the shape.
    np.testing.assert_array_equal(weights(wide)["synthesis/b4x2/const/const"], source["synthesis/b4/const/const"][1:3])
    np.testing.assert_array_equal(weights(wide)["synthesis/b16x8/conv1/conv/kernel"],
                                  source["synthesis/b16/conv1/conv/kernel"])
    d = Discriminator(resolution=(8, 16), channels=3, channel_base=64, channel_max=8, mbstd_group_size=2)
    transfer(d, start.discriminator)
    got, want = weights(d), weights(start.discriminator)
    renamed = {"b16x8": "b16", "b8x4": "b8", "b4x2": "b4"}
    for key, value in got.items():
        block, rest = key.split("/", 1)
        if rest != "fc/kernel":
            np.testing.assert_array_equal(value, want[f"{renamed[block]}/{rest}"], err_msg=key)
    # The last dense layer reads the centre 2x4 of the 4x4 features (channel-major), rescaled for its fan-in.
    centre = want["b4/fc/kernel"].reshape(8, 4, 4, 8)[:, 1:3].reshape(64, 8) * np.sqrt(64 / 128)
    np.testing.assert_allclose(got["b4x2/fc/kernel"], centre, rtol=1e-6)


@pytest.mark.large
def test_non_square_run_from_a_square_model_trains(tmp_path, pickle_source, capsys):
    data = write_images(tmp_path / "data")
    gan = train(str(data), str(tmp_path / "run"), resume=str(pickle_source[0]), resolution="16x8", **FAST)
    assert tuple(gan.generator.resolution) == (8, 16) and int(gan.nimg.numpy()) == 8
    assert "Fine-tuning" in capsys.readouterr().out
