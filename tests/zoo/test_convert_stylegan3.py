"""StyleGAN3 pickles: parity with NVIDIA's own outputs, CLI conversion and sampling, hostile pickles.

tests/fixtures/stylegan3/ holds tiny random-weight StyleGAN3-T and -R snapshots made by NVIDIA's
code (tests/fixtures/make_stylegan3_fixtures.py; embedded source stripped) with the images and
D scores NVIDIA's code computed from them.
"""
import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from keras_stylegan.cli.main import cli
from keras_stylegan.zoo import load
from keras_stylegan.zoo.convert import ConversionError, convert_pickle
from keras_stylegan.zoo.convert_stylegan3 import generator_config_from_torch, minimum_generator_weights
from keras_stylegan.zoo.pickles import UnsafePickleError, load_official_pickle
from official_pickles import Call, Global, write_pytorch_pickle

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "stylegan3")
MODELS = ("sg3t32", "sg3r32")
TOLERANCE = 1e-4  # of the image standard deviation


def fixture(name):
    return os.path.join(FIXTURES, name)


def references(name):
    refs = np.load(fixture(f"{name}.ref.npz"))
    info = json.load(open(fixture(f"{name}.json")))
    keys = [(seed, psi) for seed in info["seeds"] for psi in info["psis"]]
    return refs, info, keys


def batch(refs, keys, prefix):
    return np.concatenate([refs[f"{prefix}_seed{seed}_psi{psi}"] for seed, psi in keys])


@pytest.mark.parametrize("name", MODELS)
def test_matches_nvidia_images_and_scores(name):
    refs, info, keys = references(name)
    g, d = load(fixture(f"{name}.pkl"), discriminator=True)
    assert g.architecture == "stylegan3"
    assert g.block_architecture == ("r" if info["G_kwargs"].get("use_radial_filters") else "t")
    np.testing.assert_allclose(np.asarray(g.mapping.w_avg), refs["w_avg"], rtol=0, atol=1e-6)
    labels = np.concatenate([refs[f"c_seed{seed}"] for seed, _ in keys]) if g.num_classes else None
    want = np.transpose(batch(refs, keys, "img"), (0, 2, 3, 1))
    want_transformed = np.transpose(batch(refs, keys, "img_transform"), (0, 2, 3, 1))
    scale = TOLERANCE * want.std()
    ws = np.concatenate([np.asarray(g.mapping(refs[f"z_seed{seed}"].astype("float32"),
                                              labels=None if labels is None else labels[i: i + 1], psi=psi))
                         for i, (seed, psi) in enumerate(keys)])
    np.testing.assert_allclose(ws, batch(refs, keys, "ws"), rtol=0, atol=TOLERANCE * np.abs(ws).std())
    # One batch for all seeds and psis: NVIDIA normalizes styles over the batch, ours must agree anyway.
    images = np.asarray(g.synthesis(ws, noise_mode="const"))
    assert np.abs(images - want).max() <= scale
    transformed = np.asarray(g.synthesis(ws, transform=refs["transform"]))
    assert np.abs(transformed - want_transformed).max() <= scale
    assert np.abs(want_transformed - want).max() > 100 * scale  # the transform changes the image
    want_scores = batch(refs, keys, "dscore")
    # NVIDIA's D saw one image at a time: its minibatch-stddev group was 1 image; ours too.
    assert d.mbstd_group_size == info["D_kwargs"]["epilogue_kwargs"]["mbstd_group_size"]
    per_image = np.concatenate([np.asarray(d(want[i: i + 1], labels=None if labels is None else labels[i: i + 1]))
                                for i in range(len(keys))])
    np.testing.assert_allclose(per_image, want_scores, rtol=0, atol=TOLERANCE * np.abs(want_scores).max())


def test_zoo_convert_cli_then_sample_with_translate_and_rotate(tmp_path):
    from PIL import Image

    from keras_stylegan import sampling
    from keras_stylegan.networks.stylegan3 import make_transform

    runner = CliRunner()
    preset = tmp_path / "sg3t"
    result = runner.invoke(cli, ["zoo", "convert", fixture("sg3t32.pkl"), str(preset)])
    assert result.exit_code == 0, result.output
    refs, _, _ = references("sg3t32")
    g = load(str(preset))
    direct = convert_pickle(fixture("sg3t32.pkl"), discriminator=False)["generator"]
    z = refs["z_seed1"].astype("float32")
    np.testing.assert_array_equal(np.asarray(g(z, psi=0.5)), np.asarray(direct(z, psi=0.5)))
    outdir = tmp_path / "moved"
    result = runner.invoke(cli, ["sample", "--model", str(preset), "--seeds", "1", "--psi", "0.5", "--outdir",
                                 str(outdir), "--translate", "0.15,-0.3", "--rotate", "20"])
    assert result.exit_code == 0, result.output
    # gen_images.py's --translate 0.15,-0.3 --rotate 20 is the fixture's transform: NVIDIA's image.
    np.testing.assert_allclose(make_transform((0.15, -0.3), 20), refs["transform"], atol=1e-6)
    want = sampling.to_uint8(np.transpose(refs["img_transform_seed1_psi0.5"], (0, 2, 3, 1)))[0]
    got = np.asarray(Image.open(outdir / "seed0001.png"))
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    for args in (["mix", "--rows", "0,1", "--cols", "2,3", "--styles", "0-5", "--out", str(tmp_path / "mix.png")],
                 ["interpolate", "--seeds", "0,1", "--frames", "2", "--out", str(tmp_path / "walk.gif")]):
        result = runner.invoke(cli, args + ["--model", str(preset)])
        assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "mix.png").size == (3 * 32, 3 * 32)


def test_translate_on_a_stylegan2_model_is_one_line_error(tmp_path):
    from keras_stylegan import Generator
    from keras_stylegan.zoo.presets import save_preset

    preset = save_preset(tmp_path / "sg2", Generator(resolution=8, z_dim=4, w_dim=4, channel_base=32, channel_max=4))
    runner = CliRunner()
    for args in (["--translate", "0.1,0"], ["--rotate", "5"]):
        result = runner.invoke(cli, ["sample", "--model", str(preset), "--seeds", "0", "--out",
                                     str(tmp_path / "x.png")] + args)
        assert result.exit_code == 2
        assert result.output.strip().splitlines() == [
            "Error: translate/rotate need a StyleGAN3 generator (its synthesis input takes a transform); "
            "this one is 'stylegan2'"]
    result = runner.invoke(cli, ["sample", "--model", str(preset), "--seeds", "0", "--translate", "1"])
    assert result.exit_code == 2 and "--translate must be two numbers 'X,Y'" in result.output
    assert not (tmp_path / "x.png").exists()


def test_noise_figure_of_a_stylegan3_model_is_one_line_error(tmp_path):
    from keras_stylegan import Generator
    from keras_stylegan.zoo.presets import save_preset

    g = Generator(architecture="stylegan3", resolution=16, z_dim=4, w_dim=4, channel_base=64, channel_max=4)
    preset = save_preset(tmp_path / "sg3", g)
    result = CliRunner().invoke(cli, ["noise", "--model", str(preset), "--out", str(tmp_path / "n.png")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "Error: StyleGAN3 models have no noise inputs: there is no stochastic variation to show"]
    assert not (tmp_path / "n.png").exists()


def _snapshot_modules(name):
    """The fixture's networks as `write_pytorch_pickle` specs (names, buffers and init kwargs kept)."""
    data = load_official_pickle(fixture(f"{name}.pkl"))
    buffer_names = ("transform", "freqs", "phases", "magnitude_ema", "up_filter", "down_filter", "w_avg")
    specs = {}
    for key, module in data["networks"].items():
        state = module["state_dict"]
        specs[key] = dict(class_name=module["class_name"], init_kwargs=module["init_kwargs"], state_dict=state,
                          buffers=[n for n in state if n.rsplit(".", 1)[-1] in buffer_names])
    return specs


def test_hostile_stylegan3_pickle_is_refused_without_side_effect(tmp_path):
    canary = tmp_path / "canary"
    specs = _snapshot_modules("sg3t32")
    # NVIDIA's StyleGAN3 snapshot, with a call to os.system inside the G_ema module's state.
    specs["G_ema"]["attributes"] = {"img_resolution": Call(Global("os", "system"), (f"touch {canary}",))}
    path = tmp_path / "evil.pkl"
    write_pytorch_pickle(str(path), specs, extra={"augment_pipe": None})
    with pytest.raises(UnsafePickleError, match="os.system"):
        load_official_pickle(str(path))
    outdir = tmp_path / "out"
    result = CliRunner().invoke(cli, ["zoo", "convert", str(path), str(outdir)])
    assert result.exit_code == 2 and "os.system" in result.output
    assert not canary.exists() and not outdir.exists()


def test_embedded_source_is_never_run(tmp_path):
    canary = tmp_path / "canary"
    specs = _snapshot_modules("sg3r32")
    for spec in specs.values():  # real NVIDIA pickles embed their module source: it must not run
        spec["module_src"] = f"open({str(canary)!r}, 'w').write('ran')\nclass Generator: pass\n"
    path = tmp_path / "with_source.pkl"
    write_pytorch_pickle(str(path), specs)
    out = convert_pickle(str(path))
    assert out["generator"].architecture == "stylegan3" and not canary.exists()


def test_unsupported_stylegan3_settings_are_refused():
    base = dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=16, img_channels=3)
    assert generator_config_from_torch(base)["block_architecture"] == "t"
    with pytest.raises(ConversionError, match="num_layers=10"):
        generator_config_from_torch(dict(base, num_layers=10))
    with pytest.raises(ConversionError, match="conv_kernel=1, use_radial_filters=False"):
        generator_config_from_torch(dict(base, conv_kernel=1))
    with pytest.raises(ConversionError, match="unsupported StyleGAN3 generator settings: surprise"):
        generator_config_from_torch(dict(base, surprise=1))


def test_projection_and_sefa_work_on_stylegan3():
    from keras_stylegan.editing.directions import sefa_directions, style_weights
    from keras_stylegan.projection.projector import project
    from keras_stylegan.sampling import to_uint8

    g = load(fixture("sg3t32.pkl"))
    refs, _, _ = references("sg3t32")
    target = to_uint8(np.transpose(refs["img_seed1_psi1.0"], (0, 2, 3, 1)))[0]
    result = project(g, target, num_steps=12, perceptual=None, pixel_weight=1.0, progress=False)
    assert result.noise == {}  # StyleGAN3 has no noise maps to optimize or regularize
    losses = [record["loss"] for record in result.history]
    assert losses[-1] < 0.3 * losses[0] and result.ws.shape == (1, 16, 20)
    weights = style_weights(g)
    assert [w.shape[1] for w in weights][:2] == [4, 16] and len(weights) == g.num_ws
    directions, eigenvalues = sefa_directions(g, "1-14")
    assert directions.shape == (20, 20) and eigenvalues[0] >= eigenvalues[-1]


def _weight_count(arrays):
    return sum(int(np.size(value)) for value in arrays)


@pytest.mark.parametrize("config", [
    dict(block_architecture="t", resolution=16, z_dim=4, w_dim=4, mapping_layers=1, channel_base=64,
         channel_max=4),
    dict(block_architecture="r", resolution=16, channels=1, z_dim=6, w_dim=5, num_classes=3, mapping_layers=3,
         channel_base=256, channel_max=8),
    dict(block_architecture="t", resolution=32, channels=4, z_dim=2, w_dim=8, mapping_layers=4,
         channel_base=1024, channel_max=24),
])
def test_minimum_generator_weights_is_a_close_lower_bound_on_built_networks(config):
    from keras_stylegan import Generator

    real = _weight_count(Generator(architecture="stylegan3", **config).weights)
    bound = minimum_generator_weights(dict(config, channels=config.get("channels", 3)))
    assert 0.3 * real <= bound <= real  # R configs: the radial filters left out are a large share


@pytest.mark.parametrize("name", MODELS)
def test_minimum_generator_weights_is_a_close_lower_bound_on_nvidia_pickles(name):
    g_src = load_official_pickle(fixture(f"{name}.pkl"))["networks"]["G_ema"]
    bound = minimum_generator_weights(generator_config_from_torch(g_src["init_kwargs"]))
    real = _weight_count(g_src["state_dict"].values())
    assert 0.3 * real <= bound <= real  # R configs: the radial filters left out are a large share


BASE_KWARGS = dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=16, img_channels=3, mapping_kwargs=dict(num_layers=2))


@pytest.mark.parametrize("changes, message", [
    (dict(img_resolution=None), "G init_kwargs has no img_resolution"),
    (dict(img_resolution=float("inf")), "img_resolution must be an integer from 4 to 16384. Received: inf"),
    (dict(img_resolution=10**400), r"img_resolution must be an integer from 4 to 16384. Received: 1000.*\.\.\."),
    (dict(img_resolution="1024"), "img_resolution must be an integer .* Received: '1024'"),
    (dict(img_resolution=24), "img_resolution must be a power of two"),
    (dict(channel_max=2**31), "channel_max must be an integer from 1 to 65536"),
    (dict(channel_base=True), "channel_base must be an integer"),
    (dict(mapping_kwargs=5), "mapping_kwargs must be a dict. Received: 5"),
    (dict(mapping_kwargs=dict(num_layers=2**31)), "mapping_kwargs num_layers must be an integer from 0 to 64"),
    (dict(mapping_kwargs=dict(w_avg_beta=float("nan"))), "w_avg_beta must be a finite number"),
    (dict(num_layers=2**31), "num_layers must be an integer from 0 to 64"),
    (dict(first_cutoff=float("nan")), "first_cutoff must be a finite number"),
    (dict(output_scale="0.25"), "output_scale must be a number"),
    (dict(use_radial_filters="yes"), "use_radial_filters must be one of False, True"),
    (dict(conv_clamp=-1), "conv_clamp must be a finite number above 0"),
    (dict(magnitude_ema_beta=2), "magnitude_ema_beta must be a finite number"),
    (dict(z_dim=None), "has no z_dim"),
    ({(1, 2): 3}, r"unsupported StyleGAN3 generator settings: \(1, 2\)"),
])
def test_malformed_stylegan3_settings_are_conversion_errors(changes, message):
    with pytest.raises(ConversionError, match=message):
        generator_config_from_torch({**BASE_KWARGS, **changes})


@pytest.mark.parametrize("key", ["img_channels", "w_dim", "img_resolution"])
def test_missing_stylegan3_settings_are_conversion_errors(key):
    with pytest.raises(ConversionError, match=f"^G init_kwargs has no {key}$"):
        generator_config_from_torch({k: v for k, v in BASE_KWARGS.items() if k != key})


def test_stylegan3_conv_clamp_defaults_to_nvidia_and_none_turns_it_off():
    assert generator_config_from_torch(BASE_KWARGS)["conv_clamp"] == 256.0
    assert generator_config_from_torch(dict(BASE_KWARGS, conv_clamp=None))["conv_clamp"] is None


@pytest.mark.parametrize("network, message", [
    ("G_ema", "G_ema: its settings describe a network of at least .* weights, but the pickle holds 23,172"),
    ("D", "D: its settings describe a network of at least .* weights, but the pickle holds"),
])
def test_settings_larger_than_the_arrays_are_refused_before_building(tmp_path, monkeypatch, network, message):
    import keras_stylegan.networks

    specs = _snapshot_modules("sg3t32")
    specs[network]["init_kwargs"] = dict(specs[network]["init_kwargs"], channel_base=2**26, channel_max=2**16)
    path = tmp_path / "oversized.pkl"
    write_pytorch_pickle(str(path), specs)

    def never(**config):
        raise AssertionError(f"a network was built from oversized settings: {config}")

    monkeypatch.setattr(keras_stylegan.networks, "Generator", never)
    monkeypatch.setattr(keras_stylegan.networks, "Discriminator", never)
    with pytest.raises(ConversionError, match=message):
        convert_pickle(str(path))
    outdir = tmp_path / "out"
    result = CliRunner().invoke(cli, ["zoo", "convert", str(path), str(outdir)])
    assert result.exit_code == 2 and not outdir.exists()
    assert len(result.output.strip().splitlines()) == 1 and result.output.startswith("Error: ")


def test_interpolate_pans_and_rotates_one_seed_as_nvidia(tmp_path):
    """`kstylegan interpolate --translate/--rotate`: the equivariance animation; its last frame is
    NVIDIA's image under the full transform, its first the untransformed one."""
    from PIL import Image, ImageSequence

    from keras_stylegan import sampling
    from keras_stylegan.networks.stylegan3 import transform_frames

    refs, _, _ = references("sg3t32")
    plain = np.transpose(refs["img_seed1_psi0.5"], (0, 2, 3, 1))[0]
    moved = np.transpose(refs["img_transform_seed1_psi0.5"], (0, 2, 3, 1))[0]
    g = load(fixture("sg3t32.pkl"))
    frames = transform_frames(g, sampling.map_seeds(g, [1], psi=0.5), frames=3, translate=(0.15, -0.3), rotate=20)
    scale = TOLERANCE * plain.std()
    assert np.abs(frames[0] - plain).max() <= scale and np.abs(frames[-1] - moved).max() <= scale
    assert np.abs(frames[1] - plain).max() > 100 * scale and np.abs(frames[1] - moved).max() > 100 * scale
    runner = CliRunner()
    out = tmp_path / "pan.gif"
    result = runner.invoke(cli, ["interpolate", "--model", fixture("sg3t32.pkl"), "--seeds", "1", "--psi", "0.5",
                                 "--frames", "3", "--translate", "0.15,-0.3", "--rotate", "20", "--out", str(out)])
    assert result.exit_code == 0, result.output
    gif = [np.asarray(frame.convert("RGB"), dtype=int) for frame in ImageSequence.Iterator(Image.open(out))]
    assert len(gif) == 3
    for frame, want in zip(gif, sampling.to_uint8(frames).astype(int)):
        assert np.abs(frame - want).mean() < 2  # GIF palettes are lossy
    for args, message in ((["--seeds", "1,2", "--rotate", "5"], "animate one seed"),
                          (["--seeds", "1", "--translate", "x"], "--translate must be two numbers")):
        result = runner.invoke(cli, ["interpolate", "--model", fixture("sg3t32.pkl"), "--out",
                                     str(tmp_path / "x.gif")] + args)
        assert result.exit_code == 2 and message in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1


def test_interpolate_rotate_on_a_stylegan2_model_is_one_line_error(tmp_path):
    from keras_stylegan import Generator
    from keras_stylegan.zoo.presets import save_preset

    preset = save_preset(tmp_path / "sg2", Generator(resolution=8, z_dim=4, w_dim=4, channel_base=32, channel_max=4))
    result = CliRunner().invoke(cli, ["interpolate", "--model", str(preset), "--seeds", "0", "--rotate", "5",
                                      "--out", str(tmp_path / "x.gif")])
    assert result.exit_code == 2 and "need a StyleGAN3 model" in result.output, result.output
    assert not (tmp_path / "x.gif").exists()


def test_directions_and_edit_cli_on_stylegan3(tmp_path):
    """`kstylegan directions --method sefa` then `edit` on NVIDIA's StyleGAN3-T: the strip's middle tile
    (strength 0) is the seed's plain image, the others move away from it."""
    from PIL import Image

    from keras_stylegan import sampling

    runner = CliRunner()
    model, dirs, strip = fixture("sg3t32.pkl"), tmp_path / "dirs.npz", tmp_path / "strip.png"
    result = runner.invoke(cli, ["directions", "--model", model, "--method", "sefa", "--layers", "1-14",
                                 "--out", str(dirs)])
    assert result.exit_code == 0, result.output
    assert np.load(dirs)["directions"].shape == (20, 20)
    result = runner.invoke(cli, ["edit", "--model", model, "--seed", "3", "--direction", f"{dirs}:0",
                                 "--strength", "-3,3", "--steps", "3", "--layers", "1-14", "--out", str(strip)])
    assert result.exit_code == 0, result.output
    image = np.asarray(Image.open(strip).convert("RGB"), dtype=int)
    tiles = [image[:, i * 32:(i + 1) * 32] for i in range(3)]
    assert image.shape[:2] == (32, 96)
    g = load(model)
    plain = sampling.to_uint8(sampling.generate(g, sampling.seeds_to_z([3], g.z_dim)))[0].astype(int)
    assert np.abs(tiles[1] - plain).max() <= 1
    assert np.abs(tiles[0] - plain).mean() > 2 and np.abs(tiles[2] - plain).mean() > 2
