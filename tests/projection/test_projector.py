"""Projection: a known w is found again; the generator is left untouched; bad input fails in one line."""
import math
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from PIL import Image

from keras_stylegan.cli.project import project_command
from keras_stylegan.networks.generator import Generator
from keras_stylegan.projection import PerceptualDistance, project, read_target
from keras_stylegan.projection.projector import learning_rate_at, noise_regularization, w_statistics
from keras_stylegan.zoo.presets import save_preset

TINY = dict(resolution=16, channels=3, z_dim=16, w_dim=16, channel_base=64, channel_max=16, mapping_layers=2)


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * math.log10(255 ** 2 / mse)


def render(generator, ws):
    images = keras.ops.convert_to_numpy(generator.synthesis(ws, noise_mode="const"))
    return np.clip(np.rint((images[0] + 1) * 127.5), 0, 255).astype(np.uint8)


def in_range_generator(seed, **overrides):
    keras.utils.set_random_seed(seed)
    generator = Generator(**dict(TINY, **overrides))
    # An untrained generator's images overflow [-1, 1] (std ~1.2), so a uint8 target would be
    # clipped and no w could reproduce it; scaled ToRGB kernels keep its images in range.
    for variable in generator.weights:
        if "torgb" in variable.path and variable.path.endswith("kernel"):
            variable.assign(variable.numpy() * 0.3)
    return generator


@pytest.fixture(scope="module")
def generator():
    return in_range_generator(3)


@pytest.fixture(scope="module")
def preset(generator, tmp_path_factory):
    return save_preset(tmp_path_factory.mktemp("model") / "tiny", generator)


def test_projection_finds_a_known_w(generator):
    z = np.random.RandomState(0).randn(1, 16).astype("float32")
    target = render(generator, generator.mapping(z))
    w_avg = generator.mapping(np.random.RandomState(123).randn(10000, 16).astype("float32"))[:, 0].numpy().mean(0)
    start = render(generator, np.tile(w_avg, (1, generator.num_ws, 1)))
    result = project(generator, target, num_steps=300, perceptual=None, pixel_weight=1.0, progress=False)
    assert psnr(start, target) < 20  # the starting point (mean w) is far from the target
    assert psnr(result.image, target) >= 25
    np.testing.assert_allclose(result.ws, np.broadcast_to(result.ws[:, :1], result.ws.shape))  # W: one w


def test_conditional_projection_starts_from_the_mean_over_classes_and_finds_a_known_w():
    cg = in_range_generator(4, num_classes=3)
    z = np.random.RandomState(123).randn(1000, 16).astype("float32")
    expected = np.concatenate([cg.mapping(z[c::3], labels=np.full(len(z[c::3]), c))[:, 0].numpy() for c in range(3)])
    w_avg, w_std = w_statistics(cg, num_samples=1000)
    np.testing.assert_allclose(w_avg, expected.mean(0), rtol=1e-4, atol=1e-5)
    assert w_std == pytest.approx(np.sqrt(((expected - expected.mean(0)) ** 2).sum() / 1000), rel=1e-4)
    target = render(cg, cg.mapping(z[:1], labels=np.array([2])))
    result = project(cg, target, num_steps=300, perceptual=None, pixel_weight=1.0, progress=False)
    assert psnr(result.image, target) >= 25


def test_w_plus_history_and_generator_left_unchanged(generator):
    before = [v.numpy().copy() for v in generator.weights]
    target = np.random.RandomState(1).randint(0, 256, [24, 20, 3]).astype(np.uint8)
    calls = []
    result = project(generator, target, num_steps=12, w_plus=True, vgg_weights=None, pixel_weight=1.0, seed=3,
                     snapshot_every=5, progress=True, callback=lambda step, record: calls.append(step))
    assert result.ws.shape == (1, generator.num_ws, 16)
    assert not np.allclose(result.ws[0, 0], result.ws[0, -1])  # each layer moved on its own
    assert result.image.shape == result.target.shape == (16, 16, 3) and result.image.dtype == np.uint8
    assert calls == list(range(12)) and [r["step"] for r in result.history] == calls
    assert [r["step"] for r in result.history if "image" in r] == [0, 5, 10, 11]
    assert all(np.isfinite(r["loss"]) and r["distance"] > 0 for r in result.history)
    noise_shapes = sorted(v.shape for v in result.noise.values())
    assert noise_shapes == [(4, 4), (8, 8), (8, 8), (16, 16), (16, 16)]
    for value in result.noise.values():  # renormalized after every step
        assert abs(value.mean()) < 1e-4 and abs(value.std() - 1) < 1e-3
    after = [v.numpy() for v in generator.weights]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    # Noise strengths are zero in an untrained generator: the restored noise gives the same image.
    assert np.abs(render(generator, result.ws).astype(int) - result.image).max() <= 1


def test_learning_rate_schedule_matches_nvidia_ramps():
    assert learning_rate_at(0.0) == 0.0
    assert learning_rate_at(0.025) == pytest.approx(0.05)  # halfway up the 5% warm-up
    assert learning_rate_at(0.5) == pytest.approx(0.1)
    assert learning_rate_at(0.875) == pytest.approx(0.05)  # halfway down the 25% cosine ramp


def test_noise_regularization_against_numpy():
    noise = np.random.RandomState(0).randn(16, 16).astype(np.float32)

    def reference(x):
        total = 0.0
        while True:
            total += np.mean(x * np.roll(x, 1, axis=1)) ** 2 + np.mean(x * np.roll(x, 1, axis=0)) ** 2
            if x.shape[0] <= 8:
                return total
            x = x.reshape(x.shape[0] // 2, 2, x.shape[1] // 2, 2).mean(axis=(1, 3))

    np.testing.assert_allclose(float(noise_regularization([tf.constant(noise)])), reference(noise), rtol=1e-4)
    constant = np.ones([8, 8], np.float32)  # fully correlated: two terms of 1
    assert float(noise_regularization([tf.constant(constant)])) == pytest.approx(2.0)


def test_perceptual_distance_sees_alpha_and_gray():
    black_opaque = np.zeros([16, 16, 4], np.uint8)
    black_opaque[..., 3] = 255
    distance = PerceptualDistance(black_opaque, vgg_weights=None)
    as_model_output = lambda pixels: tf.constant(pixels[None], tf.float32) / 127.5 - 1  # noqa: E731
    assert float(distance(as_model_output(black_opaque))) < 1e-6
    transparent = black_opaque.copy()
    transparent[4:12, 4:12, 3] = 0  # same over black; only the white composite differs
    assert float(distance(as_model_output(transparent))) > 1e-3
    gray = PerceptualDistance(np.full([16, 16, 1], 90, np.uint8), vgg_weights=None)
    assert gray.rgb_views(tf.zeros([1, 16, 16, 1])).shape == (1, 16, 16, 3)


def test_read_target_from_file_fits_resolution_and_channels(tmp_path):
    pixels = np.zeros([30, 60, 4], np.uint8)
    pixels[..., 0], pixels[..., 3] = 200, 255
    Image.fromarray(pixels, "RGBA").save(tmp_path / "wide.png")
    target = read_target(tmp_path / "wide.png", 1, (8, 16))
    assert target.shape == (8, 16, 1)
    assert np.all(target == round(0.299 * 200))  # ITU-R 601 luma of pure red 200


@pytest.mark.parametrize("target, error, words", [
    ("missing.png", FileNotFoundError, "not found"),
    ("garbage.png", ValueError, "not a readable image"),
    (np.zeros([4, 4, 5], np.uint8), ValueError, "Received shape: (4, 4, 5)"),
    (np.zeros([4, 4, 3], np.float32), ValueError, "Received dtype: float32"),
])
def test_bad_targets_raise_one_line_errors(generator, tmp_path, target, error, words):
    (tmp_path / "garbage.png").write_bytes(b"not an image")
    if isinstance(target, str):
        target = str(tmp_path / target)
    with pytest.raises(error) as info:
        project(generator, target, num_steps=2, perceptual=None, pixel_weight=1.0, progress=False)
    assert words in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("kwargs, words", [
    (dict(num_steps=0), "num_steps must be a positive int. Received: 0"),
    (dict(perceptual="lpips"), "perceptual must be one of"),
    (dict(perceptual=None), "nothing to optimize"),
    (dict(pixel_weight=-1.0), "pixel_weight must be a finite number >= 0. Received: -1.0"),
])
def test_bad_arguments(generator, kwargs, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(")):
        project(generator, np.zeros([16, 16, 3], np.uint8), **dict(dict(progress=False), **kwargs))


def test_vgg_weights_offline_and_local_file(monkeypatch, tmp_path):
    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- no network")

    monkeypatch.setattr(file_utils, "get_file", offline)
    target = np.zeros([16, 16, 3], np.uint8)
    with pytest.raises(OSError, match="pass vgg_weights=PATH .CLI: --vgg-weights PATH."):
        PerceptualDistance(target, vgg_weights="imagenet")
    with pytest.raises(FileNotFoundError, match="no such file"):
        PerceptualDistance(target, vgg_weights=str(tmp_path / "nope.h5"))
    reference = PerceptualDistance(target, vgg_weights=None, seed=7).model
    path = str(tmp_path / "vgg.weights.h5")
    reference.save_weights(path)
    loaded = PerceptualDistance(target, vgg_weights=path).model
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(reference.weights, loaded.weights))


def test_cli_writes_every_output(preset, tmp_path):
    Image.fromarray(np.random.RandomState(0).randint(0, 256, [20, 20, 3]).astype(np.uint8)).save(tmp_path / "t.png")
    outdir = tmp_path / "out"
    result = CliRunner().invoke(project_command, [
        "--target", str(tmp_path / "t.png"), "--model", str(preset), "--steps", "6", "--vgg-weights", "none",
        "--pixel-weight", "1", "--outdir", str(outdir), "--save-video",
    ])
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(outdir)) == ["proj.gif", "proj.png", "projected_w.npz", "target.png"]
    with np.load(outdir / "projected_w.npz") as f:
        assert f["w"].shape == (1, 6, 16) and f["w"].dtype == np.float32
    assert Image.open(outdir / "proj.png").size == (16, 16)
    assert Image.open(outdir / "target.png").size == (16, 16)
    gif = Image.open(outdir / "proj.gif")
    assert gif.size == (32, 16) and gif.n_frames == 6


def test_cli_help_shows_an_example():
    result = CliRunner().invoke(project_command, ["--help"])
    assert result.exit_code == 0 and "kstylegan project --target photo.png" in result.output


@pytest.mark.parametrize("args, words", [
    (["--target", "{tmp}/missing.png"], "--target not found"),
    (["--target", "{tmp}/garbage.png", "--vgg-weights", "none"], "not a readable image"),
    (["--target", "{tmp}/garbage.png", "--steps", "0"], "--steps"),
    (["--target", "{tmp}/garbage.png", "--steps", "abc"], "not a valid integer"),
    (["--target", "{tmp}/garbage.png", "--outdir", "{tmp}/garbage.png/out"], "cannot write to --outdir"),
    (["--steps", "5"], "Missing option '--target'"),
])
def test_cli_bad_input_is_one_line_exit_2(preset, tmp_path, args, words):
    (tmp_path / "garbage.png").write_bytes(b"not an image")
    args = [a.format(tmp=tmp_path) for a in args] + ["--model", str(preset)]
    if "--outdir" not in args:
        args += ["--outdir", str(tmp_path / "out")]
    result = CliRunner().invoke(project_command, args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and words in lines[0], result.output
    assert not os.path.exists(tmp_path / "out") or os.listdir(tmp_path / "out") == []


def test_cli_subprocess_bad_target_exits_2_without_traceback(tmp_path):
    script = "from keras_stylegan.cli.project import project_command; project_command()"
    done = subprocess.run([sys.executable, "-c", script, "--target", str(tmp_path / "missing.png"),
                           "--outdir", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == f"Error: --target not found: {tmp_path / 'missing.png'}"
    assert done.stdout == "" and not os.path.exists(tmp_path / "out")


def test_returned_noise_maps_reproduce_the_image():
    generator = Generator(**TINY)
    for variable in generator.weights:
        if variable.path.endswith("noise_strength"):
            variable.assign(np.full(variable.shape, 0.5, np.float32))
    own_noise = {v.path: v.numpy().copy() for v in generator.weights if v.path.endswith("noise_const")}
    result = project(generator, np.zeros([16, 16, 3], np.uint8), num_steps=5, perceptual=None, pixel_weight=1.0,
                     progress=False)
    assert sorted(result.noise) == sorted(own_noise)
    assert all(np.array_equal(own_noise[v.path], v.numpy()) for v in generator.weights if v.path in own_noise)
    with_own_noise = render(generator, result.ws)
    for variable in generator.weights:
        if variable.path in result.noise:
            variable.assign(result.noise[variable.path])
    assert np.abs(render(generator, result.ws).astype(int) - result.image).max() <= 1
    assert np.abs(with_own_noise.astype(int) - result.image).max() > 1  # the noise maps matter
