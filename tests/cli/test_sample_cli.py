"""`kstylegan sample | mix | interpolate | noise`: outputs, defaults, one-line errors, real subprocesses."""
import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from keras_stylegan import sampling
from keras_stylegan.cli.main import cli
from keras_stylegan.zoo import load
from keras_stylegan.zoo.presets import save_preset
from test_sampling import make_generator
from test_case import assert_same_pixels


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    return save_preset(tmp_path_factory.mktemp("models") / "tiny", make_generator(channels=4))


@pytest.fixture(scope="module")
def g(preset):
    return load(preset)


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def read(path):
    with Image.open(path) as image:
        return image.mode, np.asarray(image)


def test_sample_grid_matches_the_api_and_reproduces(preset, g, tmp_path):
    run("sample", "--model", preset, "--n", 4, "--psi", 0.7, "--out", tmp_path / "a.png")
    run("sample", "--model", preset, "--seeds", "0-3", "--psi", 0.7, "--out", tmp_path / "b.png")
    mode, grid = read(tmp_path / "a.png")
    assert mode == "RGBA" and grid.shape == (32, 32, 4)
    assert_same_pixels(grid, read(tmp_path / "b.png")[1])
    assert_same_pixels(grid, sampling.image_grid(sampling.generate_images(g, "0-3", psi=0.7)))


def test_sample_outdir(preset, g, tmp_path):
    result = run("sample", "--model", preset, "--seeds", "1,5", "--noise-mode", "none", "--outdir", tmp_path / "out")
    assert "wrote 2 images" in result.stdout
    assert sorted(os.listdir(tmp_path / "out")) == ["seed0001.png", "seed0005.png"]
    assert_same_pixels(read(tmp_path / "out" / "seed0005.png")[1],
                                  sampling.generate_images(g, [5], noise_mode="none")[0])


def test_mix(preset, g, tmp_path):
    run("mix", "--model", preset, "--rows", "85,100", "--cols", "55,821,7", "--styles", "coarse", "--out",
        tmp_path / "m.png")
    mode, grid = read(tmp_path / "m.png")
    assert mode == "RGBA"
    assert_same_pixels(grid, sampling.style_mixing_grid(g, [85, 100], [55, 821, 7], styles=[0, 1, 2, 3]))


def test_interpolate(preset, tmp_path):
    run("interpolate", "--model", preset, "--seeds", "1,2,3", "--frames", 6, "--space", "w", "--out",
        tmp_path / "walk.gif")
    with Image.open(tmp_path / "walk.gif") as gif:
        assert gif.n_frames == 6 and gif.size == (16, 16)


def test_noise(preset, tmp_path):
    result = run("noise", "--model", preset, "--seed", 3, "--draws", 2, "--out", tmp_path / "n.png")
    assert "rows: all blocks, b4, b8, b16" in result.stdout
    assert read(tmp_path / "n.png")[1].shape == (4 * 16, 3 * 16, 4)


@pytest.mark.parametrize("command, default", [
    ("sample", "samples.png"), ("mix", "mix.png"), ("interpolate", "interpolation.gif"), ("noise", "noise.png"),
])
def test_default_output_in_the_current_directory(preset, tmp_path, command, default):
    extra = {"sample": ["--n", 2], "mix": ["--rows", 1, "--cols", 2], "interpolate": ["--seeds", "1,2", "--frames", 2],
             "noise": ["--draws", 1]}[command]
    with CliRunner().isolated_filesystem(temp_dir=tmp_path) as cwd:
        run(command, "--model", preset, *extra)
        assert os.listdir(cwd) == [default]


@pytest.mark.parametrize("command", ["sample", "mix", "interpolate", "noise"])
def test_help_shows_an_example(command):
    result = run(command, "--help")
    assert "Example:" in result.stdout and f"kstylegan {command} --" in result.stdout
    assert "None]" not in result.stdout  # click's "[x<=None]" for an unbounded float range


BAD_INPUTS = [
    (["sample", "--n", 0], "Invalid value for '--n': 0 is not in the range 1<=x<=10000"),
    (["sample", "--psi", "abc"], "'abc' is not a valid float"),
    (["sample", "--seeds", "3-1"], "'3-1' runs backwards"),
    (["sample", "--n", 3, "--seeds", "0-15"], "does not match"),
    (["sample", "--noise-mode", "loud"], "--noise-mode"),
    (["sample", "--batch", 0], "--batch"),
    (["sample", "--model", "no-such-model"], "Unknown model card 'no-such-model'"),
    (["sample", "--model", "{tmp}/missing/preset"], "no such file or directory"),
    (["sample", "--out", "{tmp}/missing/x.png"], "does not exist"),
    (["sample", "--out", "{tmp}"], "is a directory"),
    (["sample", "--out", "{tmp}/grid.txt"], "unsupported file extension"),
    (["mix", "--rows", 1, "--cols", 2, "--styles", "0-99"], "out of range"),
    (["mix", "--rows", 1], "Missing option '--cols'"),
    (["interpolate", "--seeds", "1"], "at least two seeds"),
    (["interpolate", "--out", "{tmp}/walk.png"], "unsupported file extension"),
    (["interpolate", "--frames", 0], "--frames"),
    (["noise", "--draws", 0], "--draws"),
    (["noise", "--seed", -1], "Invalid value for '--seed': -1 is not in the range 0<=x<=4294967295"),
    # issue 16: huge counts are refused, with the limit, before any list is built (they were
    # OverflowError / MemoryError tracebacks)
    (["sample", "--n", "99999999999999999999"], "99999999999999999999 is not in the range 1<=x<=10000"),
    (["sample", "--n", "999999999999"], "is not in the range 1<=x<=10000"),
    (["sample", "--seeds", "0-4294967295"], "names 4294967296 values; at most 100000 are allowed"),
    (["sample", "--seeds", "0-10000"], "names 10001 seeds; at most 10000 images per run"),
    (["sample", "--n", 2, "--cols", "999999999"], "is not in the range 1<=x<=10000"),
    (["sample", "--n", 2, "--cols", 3], "--cols must be at most the number of images (2)"),
    (["interpolate", "--frames", "999999999"], "is not in the range 1<=x<=10000"),
    (["interpolate", "--seeds", "0-4294967295", "--frames", 2], "at most 100000 are allowed"),
    (["interpolate", "--fps", "99999999999"], "is not in the range 1<=x<=1000"),
    (["noise", "--draws", "99999999999"], "is not in the range 1<=x<=100"),
    (["mix", "--rows", "0-4294967295", "--cols", 1], "at most 100000 are allowed"),
    (["mix", "--rows", "0-200", "--cols", "0-200"], "201 x 201 mixed cells; at most 10000 per grid"),
    (["mix", "--rows", 1, "--cols", 2, "--styles", "0-99999999999999"], "at most 100000 are allowed"),
    # non-finite numbers and silently ignored values
    (["sample", "--psi", "nan"], "'nan' is not a finite number"),
    (["sample", "--psi", "1e400"], "'1e400' is not a finite number"),
    (["mix", "--rows", 1, "--cols", 2, "--psi", "-inf"], "'-inf' is not a finite number"),
    (["sample", "--psi", "1e30"], "1e+30 is not in the range -100.0<=x<=100.0"),
    (["sample", "--cutoff", -5], "-5 is not in the range x>=0"),
    (["sample", "--outdir", "/dev/null"], "cannot write images to --outdir /dev/null"),
    (["sample", "--outdir", ""], "--outdir must name a directory"),
    # found by the fuzz suite: an RGBA model and a JPEG output failed after the whole run
    (["sample", "--n", 1, "--out", "{tmp}/grid.jpg"], "JPEG cannot store RGBA images"),
    (["mix", "--rows", 1, "--cols", 2, "--out", "{tmp}/mix.jpg"], "JPEG cannot store RGBA images"),
    (["noise", "--draws", 1, "--out", "{tmp}/noise.jpeg"], "JPEG cannot store RGBA images"),
]


@pytest.mark.parametrize("args, message", BAD_INPUTS, ids=[" ".join(map(str, a)) for a, _ in BAD_INPUTS])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(preset, tmp_path, args, message):
    args = [str(a).format(tmp=tmp_path) for a in args]
    if "--model" not in args:
        args += ["--model", str(preset)]
    with CliRunner().isolated_filesystem(temp_dir=tmp_path) as cwd:
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, result.output
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: "), result.stderr
        assert message in result.stderr and "Traceback" not in result.output
        assert os.listdir(cwd) == []
    assert sorted(os.listdir(tmp_path)) == [os.path.basename(cwd)]


def test_mp4_without_the_video_extra(preset, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio", None)
    result = CliRunner().invoke(cli, ["interpolate", "--model", str(preset), "--out", str(tmp_path / "walk.mp4")])
    assert result.exit_code == 2 and result.stderr.startswith("Error: writing") and "[video]" in result.stderr
    assert os.listdir(tmp_path) == []


def test_emoji_is_the_default_model():
    result = CliRunner().invoke(cli, ["sample", "--help"])
    assert "[default:" in result.stdout and "emoji]" in result.stdout


@pytest.mark.parametrize("args, output", [
    (["sample", "--seeds", "0-3", "--psi", "0.7"], "grid.png"),
    (["mix", "--rows", "1,2", "--cols", "3"], "mix.png"),
    (["interpolate", "--seeds", "1,2", "--frames", "3"], "walk.gif"),
    (["noise", "--seed", "3", "--draws", "1"], "noise.png"),
])
def test_real_subprocess(preset, g, tmp_path, args, output):
    command = [sys.executable, "-m", "keras_stylegan.cli.main", *args, "--model", str(preset),
               "--out", str(tmp_path / output)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and done.stdout.startswith("wrote ")
    assert os.listdir(tmp_path) == [output]
    if args[0] == "sample":  # a seed names the same image in another process
        assert_same_pixels(read(tmp_path / output)[1],
                                      sampling.image_grid(sampling.generate_images(g, "0-3", psi=0.7)))


@pytest.fixture(scope="module")
def conditional_preset(tmp_path_factory):
    return save_preset(tmp_path_factory.mktemp("models") / "tiny_conditional", make_generator(num_classes=3))


@pytest.mark.parametrize("command", [["sample", "--n", 2], ["interpolate", "--frames", 2]])
def test_a_bad_class_fails_before_the_progress_bar(conditional_preset, tmp_path, command):
    """The class is checked before the first batch: stderr holds the error line and nothing else."""
    result = CliRunner().invoke(cli, command + ["--model", str(conditional_preset), "--class", 7,
                                                "--out", str(tmp_path / "x.gif")])
    assert result.exit_code == 2, result.output
    assert result.stderr == "Error: `class_label` must be a class index in [0, 3) for this conditional model. " \
                            "Received: 7\n"
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("content", [b"not a zip", b"PK\x03\x04" + b"\x00" * 40, b""])
def test_a_bad_keras_file_is_one_line(tmp_path, content):
    (tmp_path / "model.keras").write_bytes(content)
    result = CliRunner().invoke(cli, ["sample", "--n", 1, "--model", str(tmp_path / "model.keras"),
                                      "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: "), result.stderr
    assert sorted(os.listdir(tmp_path)) == ["model.keras"]
