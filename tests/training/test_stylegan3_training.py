"""Training StyleGAN3 (issue 21, item 6): NVIDIA's stylegan3 recipe in our `train_step`.

NVIDIA's recipe (stylegan3 `train.py` and `training/loss.py`): a StyleGAN2 discriminator, R1 only
(lazy every 16 steps), no path length and no style mixing, G at lr 0.0025 and D at 0.002, the
layers' `magnitude_ema` (half-life 20 kimg) and `w_avg` tracked on the discriminator pass, and for
config R a blur of every image D sees (sigma 10 falling linearly to 0 over batch * 200 / 32 kimg).
"""
import json
import math
import os

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from scipy import ndimage

from keras_stylegan import Discriminator, Generator
from keras_stylegan.cli.main import cli
from keras_stylegan.training.config import TrainingConfig
from keras_stylegan.training.finetune import load_source
from keras_stylegan.training.run import (
    _fine_tuning_config, _load_fine_tuning_source, build_gan, list_snapshots,
)
from keras_stylegan.training.stylegan import StyleGAN
from keras_stylegan.zoo import load


def tiny_pair(kind="t", **g_kwargs):
    g = Generator(architecture="stylegan3", block_architecture=kind, resolution=16, channels=3, z_dim=8, w_dim=8,
                  channel_base=64, channel_max=8, conv_clamp=256, **g_kwargs)
    d = Discriminator(architecture="stylegan2", resolution=16, channels=3, channel_base=64, channel_max=8)
    return g, d


def nvidia_blur(images, sigma):
    """NVIDIA's run_D blur written out: taps 2^-(x/sigma)^2 for |x| <= floor(3 sigma), normalized,
    applied along both axes with zero padding."""
    radius = int(np.floor(sigma * 3))
    if radius <= 0:
        return images
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    taps = np.exp2(-np.square(x / sigma))
    taps /= taps.sum()
    out = ndimage.convolve1d(images.astype(np.float64), taps, axis=1, mode="constant")
    return ndimage.convolve1d(out, taps, axis=2, mode="constant")


def test_nvidias_stylegan3_defaults():
    g, d = tiny_pair("r")
    gan = StyleGAN(g, d)
    assert (gan.blur_sigma, gan.style_mixing_prob, gan.pl_weight, gan.r1_interval) == (10.0, 0.0, 0.0, 16)
    gan.compile()
    # G has no regularization phase in NVIDIA's StyleGAN3 (no Adam correction); D's lazy R1 has one.
    assert math.isclose(float(gan.g_optimizer.learning_rate), 0.0025, rel_tol=1e-6)
    assert math.isclose(float(gan.d_optimizer.learning_rate), 0.002 * 16 / 17, rel_tol=1e-6)
    assert StyleGAN(*tiny_pair("t")).blur_sigma == 0.0  # only R blurs
    with pytest.raises(ValueError, match="expected 'stylegan2'"):
        StyleGAN(g, Discriminator(architecture="stylegan", resolution=16, channel_base=64, channel_max=8))


@pytest.mark.parametrize("nimg, sigma", [(0, 10.0), (150_000, 2.5), (190_000, 0.5), (250_000, 0.0)])
def test_blur_of_d_inputs_is_nvidias_and_fades_out(nimg, sigma):
    gan = StyleGAN(*tiny_pair("r"), blur_fade_kimg=200)
    gan.nimg.assign(nimg)
    assert math.isclose(float(gan.blur_sigma_at()), sigma, abs_tol=1e-5)
    images = np.random.RandomState(1).randn(2, 16, 16, 3).astype("float32")
    expected = nvidia_blur(images, sigma)
    np.testing.assert_allclose(np.asarray(gan._blur(images)), expected, atol=1e-5)
    if sigma >= 1 / 3:
        assert np.abs(expected - images).max() > 0.1  # the blur is really there


def test_magnitude_ema_follows_nvidias_update():
    g, _ = tiny_pair("t", magnitude_ema_beta=0.75)
    synthesis = g.synthesis
    ws = np.random.RandomState(2).randn(3, synthesis.num_ws, 8).astype("float32")
    x = synthesis.input_features(ws[:, 0])
    layer = synthesis.synthesis_layers[0]
    layer.magnitude_ema.assign(2.0)
    layer([x, ws[:, 1]], update_magnitude_ema=True)
    current = float(np.mean(np.square(np.asarray(x, np.float64))))
    assert math.isclose(float(layer.magnitude_ema.numpy()), current + (2.0 - current) * 0.75, rel_tol=1e-5)
    layer([x, ws[:, 1]])  # inference leaves it alone
    assert math.isclose(float(layer.magnitude_ema.numpy()), current + (2.0 - current) * 0.75, rel_tol=1e-5)


def test_config_presets():
    t = TrainingConfig(architecture="stylegan3", cfg="t").resolve((64, 64), channels=3)
    assert (t.batch_size, t.channel_base, t.channel_max, t.mapping_layers) == (32, 32768, 512, 2)
    assert (t.learning_rate, t.d_learning_rate, t.pl_weight, t.style_mixing_prob) == (0.0025, 0.002, 0.0, 0.0)
    assert (t.blur_sigma, t.conv_clamp, t.r1_interval) == (0.0, 256.0, 16)
    r = TrainingConfig(architecture="stylegan3", cfg="r", batch_size=16).resolve((64, 64), channels=3)
    assert (r.channel_base, r.channel_max, r.blur_sigma, r.blur_fade_kimg) == (65536, 1024, 10.0, 100.0)
    gan = build_gan(r.replace(channel_base=64, channel_max=8, z_dim=8, w_dim=8, resolution=(16, 16)))
    assert gan.generator.block_architecture == "r" and gan.discriminator.architecture == "stylegan2"
    assert gan.blur_sigma == 10.0 and gan.blur_fade_kimg == 100.0
    assert gan.generator.magnitude_ema_beta == 0.5 ** (16 / 20000)
    assert TrainingConfig(architecture="stylegan3", cfg="r", resume="x.pkl").resolve((64, 64), 3).blur_sigma == 0.0


def write_images(folder, n=8, size=16):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(0)
    for i in range(n):
        Image.fromarray(rng.randint(0, 256, [size, size, 3]).astype("uint8")).save(folder / f"{i}.png")
    return folder


@pytest.mark.large  # tracing StyleGAN3's train step takes about a minute on 2 cores
def test_kstylegan_train_stylegan3_end_to_end(tmp_path):
    data = write_images(tmp_path / "data")
    run = tmp_path / "run"
    args = ["train", "--data", str(data), "--outdir", str(run), "--arch", "stylegan3", "--cfg", "r",
            "--resolution", "16", "--cbase", "64", "--cmax", "8", "--zdim", "8", "--wdim", "8", "--batch", "4",
            "--kimg", "0.016", "--tick", "0.008", "--snap", "1", "--aug", "none", "--mbstd", "2"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "stylegan3-r 16x16" in result.output and "blur=10/25kimg" in result.output
    options = json.load(open(run / "training_options.json"))
    assert (options["architecture"], options["cfg"], options["d_learning_rate"]) == ("stylegan3", "r", 0.002)
    stats = [json.loads(line) for line in open(run / "stats.jsonl")]
    assert len(stats) == 2 and stats[0]["g_loss"] != stats[1]["g_loss"]
    snapshot = list_snapshots(str(run))[-1][1]
    g = load(snapshot)  # G_ema: trained weights, and the input magnitudes tracked by G and copied over
    magnitudes = [float(layer.magnitude_ema.numpy()) for layer in g.synthesis.synthesis_layers]
    assert all(np.isfinite(magnitudes)) and all(m != 1.0 for m in magnitudes)
    assert not np.allclose(g.mapping.w_avg.numpy(), 0.0)
    out = tmp_path / "s.png"
    result = CliRunner().invoke(cli, ["sample", "--n", "4", "--model", snapshot, "--out", str(out),
                                      "--translate", "0.1,0", "--rotate", "10"])
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == (32, 32)


@pytest.mark.parametrize("args, message", [
    (["--cfg", "t"], "StyleGAN3 configuration"),
    (["--arch", "stylegan3", "--cfg", "paper256"], "not a StyleGAN3 preset"),
    (["--arch", "stylegan3", "--resolution", "16x8"], "square"),
    (["--arch", "stylegan3", "--blur-sigma", "nan"], "--blur-sigma must be a finite number"),
])
def test_bad_stylegan3_options_are_one_line(tmp_path, args, message):
    data = write_images(tmp_path / "data")
    result = CliRunner().invoke(cli, ["train", "--data", str(data), "--outdir", str(tmp_path / "run")] + args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0], result.output
    assert not (tmp_path / "run").exists()


FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "stylegan3")


@pytest.mark.parametrize("name, kind", [("sg3t32", "t"), ("sg3r32", "r")])
def test_fine_tuning_starts_from_nvidias_stylegan3_pickle_as_it_is(name, kind):
    """`train(resume=<stylegan3 pickle>)`'s set-up: the run's networks are the pickle's (config, weights,
    Fourier features, magnitudes), G_ema still draws NVIDIA's images, D gives the same scores."""
    source = os.path.join(FIXTURES, f"{name}.pkl")
    start = load_source(source)
    classes = start.generator_ema.num_classes  # sg3r32 is conditional: a labelled data set keeps its classes
    config = _fine_tuning_config(TrainingConfig(resume=source), {"resume"}, start).resolve((32, 32), 3, classes)
    assert (config.architecture, config.resolution, config.blur_sigma) == ("stylegan3", (32, 32), 0.0)
    gan = build_gan(config)
    lines = _load_fine_tuning_source(gan, start)
    assert "fresh" not in " ".join(lines) and "unused" not in " ".join(lines), lines
    assert f"(stylegan3-{kind} 32x32, 3 channels)" in lines[0]
    g = gan.generator_ema
    assert g.block_architecture == kind and g.w_avg_beta == 0.998
    # NVIDIA's trainer: the magnitude EMA's half-life is 20 kimg at the run's batch (not the pickle's beta).
    assert gan.generator.magnitude_ema_beta == pytest.approx(0.5 ** (config.batch_size / 20000))
    refs = np.load(os.path.join(FIXTURES, f"{name}.ref.npz"))
    ws = refs["ws_seed0_psi1.0"].astype("float32")
    want = np.transpose(refs["img_seed0_psi1.0"], (0, 2, 3, 1))
    for generator in (gan.generator_ema, gan.generator):  # the pickle holds both, equal in the fixture
        assert np.abs(np.asarray(generator.synthesis(ws)) - want).max() <= 1e-4 * want.std()
    labels = refs["c_seed0"] if classes else None
    np.testing.assert_allclose(np.asarray(gan.discriminator(want, labels=labels)), refs["dscore_seed0_psi1.0"],
                               rtol=0, atol=1e-4)


@pytest.mark.parametrize("args, message", [
    (["--cfg", "t"], "--cfg 't' disagrees with"),
    (["--resolution", "16"], "--resolution cannot change when fine-tuning a StyleGAN3 model"),
    (["--channels", "1"], "--channels cannot change"),
    (["--freeze-g", "coarse"], "a StyleGAN3 generator has none"),
    (["--cfg", "paper256"], "not a StyleGAN3 preset"),
    (["--cfg", "r", "--source", "tiny-stylegan2"], "--cfg 'r' is a StyleGAN3 configuration and"),
])
def test_bad_stylegan3_fine_tuning_options_are_one_line(tmp_path, args, message):
    data = write_images(tmp_path / "data", size=32)
    source = os.path.join(FIXTURES, "sg3r32.pkl")
    if "--source" in args:  # a StyleGAN2 source instead
        args = args[:-2]
        source = str(tmp_path / "g2.keras")
        Generator(resolution=32, z_dim=8, w_dim=8, channel_base=64, channel_max=8).save(source)
    result = CliRunner().invoke(cli, ["train", "--data", str(data), "--outdir", str(tmp_path / "run"),
                                      "--resume", source] + args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0], result.output
    assert not (tmp_path / "run").exists()
