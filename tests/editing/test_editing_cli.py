"""`kstylegan encoder train | directions | edit` and `project --init encoder`: outputs match the library."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from keras_stylegan import sampling
from keras_stylegan.cli.main import cli
from keras_stylegan.editing import attribute_direction, edit, load_encoder, sefa_directions
from keras_stylegan.zoo.presets import save_preset
from test_case import assert_same_pixels


@pytest.fixture(scope="module")
def preset(generator, tmp_path_factory):
    return save_preset(tmp_path_factory.mktemp("models") / "tiny", generator)


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def test_encoder_train_then_project_with_it(preset, tmp_path):
    model = shutil.copytree(preset, tmp_path / "tiny")
    result = run("encoder", "train", "--model", model, "--steps", 2, "--batch", 4, "--filters", 4, "--w-plus")
    assert f"wrote {model / 'encoder.keras'}" in result.output  # beside the generator by default
    assert load_encoder(model / "encoder.keras").num_ws == 6
    Image.fromarray(np.random.RandomState(0).randint(0, 256, [20, 20, 3]).astype(np.uint8)).save(tmp_path / "t.png")
    run("project", "--model", model, "--target", tmp_path / "t.png", "--steps", 2, "--vgg-weights", "none",
        "--pixel-weight", 1, "--init", "encoder", "--outdir", tmp_path / "out")
    with np.load(tmp_path / "out" / "projected_w.npz") as f:
        assert f["w"].shape == (1, 6, 16)


def test_directions_sefa_and_labels(preset, generator, tmp_path):
    result = run("directions", "--model", preset, "--method", "sefa", "--layers", "0-3", "--out", tmp_path / "d.npz")
    assert "16 directions of layers [0, 1, 2, 3]" in result.output
    directions, eigenvalues = sefa_directions(generator, [0, 1, 2, 3])
    with np.load(tmp_path / "d.npz") as f:
        np.testing.assert_allclose(f["directions"], directions, atol=1e-6)
        np.testing.assert_allclose(f["eigenvalues"], eigenvalues, rtol=1e-6)
        np.testing.assert_array_equal(f["layers"], [0, 1, 2, 3])
    rng = np.random.RandomState(0)
    ws = np.repeat(rng.randn(40, 1, 1, 16).astype(np.float32), 6, axis=2)  # W latents, like projected_w.npz
    labels = (ws[:, 0, 0, 3] > 0).astype(int)
    for i, w in enumerate(ws):
        np.savez(tmp_path / f"w{i}.npz", w=w)
    (tmp_path / "labels.csv").write_text("".join(f"w{i}.npz,{label}\n" for i, label in enumerate(labels)))
    result = run("directions", "--method", "labels", "--labels", tmp_path / "labels.csv", "--out", tmp_path / "a.npz")
    assert "AUC 1.000" in result.output
    with np.load(tmp_path / "a.npz") as f:
        np.testing.assert_allclose(f["directions"][0], attribute_direction(ws[:, 0], labels), atol=1e-6)


def test_edit_strip_from_a_seed_and_from_a_w_file(preset, generator, tmp_path):
    directions = np.random.RandomState(0).randn(3, 16).astype(np.float32)
    np.savez(tmp_path / "dirs.npz", directions=directions)
    result = run("edit", "--model", preset, "--seed", 7, "--direction", f"{tmp_path / 'dirs.npz'}:1", "--strength",
                 "-3,3", "--steps", 3, "--layers", "0-2", "--out", tmp_path / "e.png")
    assert "strengths -3, 0, 3" in result.output
    strip = np.asarray(Image.open(tmp_path / "e.png"))
    assert strip.shape == (16, 48, 3)
    assert_same_pixels(strip[:, 16:32], sampling.generate_images(generator, [7])[0])  # strength 0
    w = sampling.map_seeds(generator, [7])
    expected = edit(generator, w, directions[1], [-3, 0, 3], layers=[0, 1, 2])
    assert_same_pixels(strip, sampling.image_grid(expected, cols=3))
    np.savez(tmp_path / "projected_w.npz", w=w)
    run("edit", "--model", preset, "--w", tmp_path / "projected_w.npz", "--direction", tmp_path / "dirs.npz",
        "--strength", 2, "--steps", 2, "--out", tmp_path / "w.png")
    assert_same_pixels(np.asarray(Image.open(tmp_path / "w.png")),
                                  sampling.image_grid(edit(generator, w, directions[0], [-2, 2]), cols=2))


@pytest.mark.parametrize("args, words", [
    (["edit", "--seed", "1", "--direction", "{tmp}/none.npz"], "direction file not found"),
    (["edit", "--seed", "1", "--direction", "{tmp}/dirs.npz:5"], "direction index 5 is out of range"),
    (["edit", "--seed", "1", "--direction", "{tmp}/dirs.npz", "--strength", "a"], "strength must be 'MIN,MAX'"),
    (["edit", "--seed", "1", "--w", "{tmp}/dirs.npz", "--direction", "{tmp}/dirs.npz"], "exactly one of --seed"),
    (["edit", "--seed", "1", "--direction", "{tmp}/dirs.npz", "--layers", "0-9"], "`--layers`: layer 6 is out"),
    (["edit", "--direction", "{tmp}/dirs.npz"], "exactly one of --seed"),
    (["directions", "--method", "labels"], "--method labels needs --labels"),
    (["directions", "--method", "labels", "--labels", "{tmp}/one.csv"], "exactly two distinct values"),
    (["directions", "--method", "pca"], "Invalid value for '--method'"),
    (["directions", "--out", "{tmp}/d.txt"], "unsupported file extension '.txt'"),
    (["project", "--target", "{tmp}/t.png", "--init", "encoder"], "no encoder at"),
    (["encoder", "train", "--steps", "0"], "Invalid value for '--steps'"),
    (["encoder", "train", "--out", "{tmp}/one.csv/sub"], "cannot write the encoder"),
])
def test_bad_input_is_one_line_exit_2(preset, tmp_path, args, words):
    np.savez(tmp_path / "dirs.npz", directions=np.ones([2, 16], np.float32))
    np.savez(tmp_path / "w0.npz", w=np.ones([1, 6, 16], np.float32))
    (tmp_path / "one.csv").write_text("w0.npz,1\nw0.npz,1\n")
    Image.fromarray(np.zeros([16, 16, 3], np.uint8)).save(tmp_path / "t.png")
    args = [a.format(tmp=tmp_path) for a in args]
    if args[0] != "directions" or "sefa" in args or "--method" not in args:
        args += ["--model", str(preset)]
    result = CliRunner().invoke(cli, args)
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("Error: ") and words in lines[0], \
        result.output


def test_help_shows_examples():
    for args, example in [(["edit"], "kstylegan edit --model emoji --seed 7"), (["directions"], "--method sefa"),
                          (["encoder", "train"], "kstylegan encoder train --model")]:
        result = CliRunner().invoke(cli, args + ["--help"])
        assert result.exit_code == 0 and example in result.output


def test_subprocess_bad_direction_exits_2_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "keras_stylegan.cli.main", "edit", "--seed", "1", "--direction",
                           str(tmp_path / "none.npz"), "--out", str(tmp_path / "e.png")],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == f"Error: direction file not found: {tmp_path / 'none.npz'}"
    assert not os.path.exists(tmp_path / "e.png")
