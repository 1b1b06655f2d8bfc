"""One clear line for errors raised deep inside Keras, and no NaN let through (issue 16, items 6-7)."""
import math
import os

import click
import numpy as np
import pytest
from click.testing import CliRunner

from keras_stylegan.cli.common import FiniteFloat, OneLineCommand, error_message, one_line_errors
from keras_stylegan.utils.checks import check_finite_number
from test_sampling import make_generator


@pytest.fixture(scope="module")
def conditional():
    return make_generator(num_classes=3)


def test_keras_call_errors_show_the_reason(conditional):
    """Keras wraps a layer's error as "Exception encountered when calling MappingNetwork.call()."."""
    with pytest.raises(ValueError) as raised:
        conditional(np.zeros([2, 16], np.float32), labels=np.zeros([2, 5], np.float32))  # Generator -> Mapping
    assert str(raised.value).startswith("Exception encountered when calling")
    assert error_message(raised.value) == "`labels` must have 3 columns. Received shape: (2, 5)"

    @click.command(cls=OneLineCommand)
    @one_line_errors
    def command():
        conditional.mapping(np.zeros([2, 16], np.float32), labels=np.zeros([2, 5], np.float32))

    result = CliRunner().invoke(command, [])
    assert result.exit_code == 2
    assert result.stderr == "Error: `labels` must have 3 columns. Received shape: (2, 5)\n"


def test_error_message_of_a_wrapper_without_its_original():
    wrapped = ValueError("Exception encountered when calling X.call().\n\n\x1b[1mthe reason\x1b[0m\n\nArguments ...")
    assert error_message(wrapped) == "the reason"
    assert error_message(MemoryError()).startswith("out of memory")
    assert error_message(ValueError("")) == "ValueError"


@pytest.mark.parametrize("labels", [[3, 0], [-1, 0], [0.5, 1.0], [0, 99999]])
def test_out_of_range_class_ids_are_refused_not_zero_embeddings(conditional, labels):
    """Before: one_hot of an id outside [0, 3) was all zeros, a silent zero embedding."""
    z = np.zeros([2, 16], np.float32)
    with pytest.raises(ValueError, match=r"`labels` must be class ids in \[0, 3\)"):
        conditional.mapping(z, labels=np.asarray(labels))
    assert conditional.mapping(z, labels=np.array([0, 2])).shape == (2, 6, 16)


def test_string_class_ids_are_refused(conditional):
    with pytest.raises(ValueError, match="integer class ids"):
        conditional.mapping(np.zeros([1, 16], np.float32), labels=np.array(["a"]))


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 0.0, -1e-3, 10**400, True, "1e-3", None])
def test_encoder_learning_rate_must_be_finite_and_positive(value):
    from keras_stylegan.editing import train_encoder

    g = make_generator()
    with pytest.raises(ValueError, match="`learning_rate` must be a finite number > 0"):
        train_encoder(g, steps=1, batch_size=1, learning_rate=value)
    with pytest.raises(ValueError, match="`psi` must be a finite number"):
        train_encoder(g, steps=1, batch_size=1, psi=math.nan)


@pytest.mark.parametrize("psi", [1e30, -101, math.nan, "0.7x", True])
def test_psi_out_of_range_is_refused_before_any_image(psi):
    from keras_stylegan import sampling

    g = make_generator()
    with pytest.raises(ValueError, match=r"`psi` must be a (finite )?number"):
        sampling.generate_images(g, [0], psi=psi)
    with pytest.raises(ValueError, match=r"`psi` must be a (finite )?number"):
        g(np.zeros([1, g.z_dim], np.float32), psi=psi)


@pytest.mark.parametrize("lr", ["nan", "inf", "-inf", "1e400", "NaN", "0", "-1"])
def test_encoder_train_cli_refuses_a_non_finite_lr_and_writes_nothing(tmp_path, lr):
    from keras_stylegan.cli.main import cli

    result = CliRunner().invoke(cli, ["encoder", "train", "--model", "emoji", "--lr", lr, "--steps", "1",
                                      "--out", str(tmp_path / "enc.keras")])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
    assert result.stderr.startswith("Error: Invalid value for '--lr'")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("text, ok", [("0.5", True), ("-2", True), ("nan", False), ("inf", False), ("-inf", False),
                                      ("1e400", False), ("abc", False), ("", False)])
def test_finite_float_option_type(text, ok):
    @click.command(cls=OneLineCommand)
    @click.option("--x", type=FiniteFloat())
    def command(x):
        click.echo(repr(x))

    result = CliRunner().invoke(command, ["--x", text])
    assert (result.exit_code == 0) == ok, result.output
    if not ok:
        assert result.exit_code == 2 and result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")


def test_check_finite_number():
    assert check_finite_number("x", 2) == 2.0
    assert check_finite_number("x", 0, minimum=0) == 0.0
    for bad in (math.nan, math.inf, 10**400, True, "1", None, np.float32("nan")):
        with pytest.raises(ValueError, match="`x` must be a finite number"):
            check_finite_number("x", bad)
    with pytest.raises(ValueError, match="> 0"):
        check_finite_number("x", 0, minimum=0, minimum_open=True)


@pytest.mark.parametrize("text", ["-1e308,1e308", "1e7", "0,2e6"])
def test_edit_strengths_beyond_float32_room_are_refused(text):
    """Before: np.linspace overflowed, printing numpy RuntimeWarnings above the error line."""
    from keras_stylegan.editing import parse_strengths

    with pytest.raises(ValueError, match="strength must lie within ±1e\\+06"):
        parse_strengths(text, 7)
    assert parse_strengths("-3,3", 3).tolist() == [-3.0, 0.0, 3.0]


def test_empty_and_wrong_latent_files_are_one_line(tmp_path, monkeypatch):
    """Found by the fuzz suite: an empty .npz made click print only "Aborted!" (EOFError), exit 1; a .npy
    given to --w was a TypeError traceback."""
    from keras_stylegan.cli.main import cli
    from keras_stylegan.zoo.presets import save_preset

    preset = save_preset(tmp_path / "tiny", make_generator())
    (tmp_path / "empty.npz").write_bytes(b"")
    np.save(tmp_path / "array.npy", np.zeros([16], np.float32))
    np.savez(tmp_path / "dirs.npz", directions=np.eye(16, dtype=np.float32)[:1])
    cases = [(["--seed", "1", "--direction", "empty.npz"], "Error: a file ended too early (empty or truncated)"),
             (["--w", "empty.npz", "--direction", "dirs.npz"], "Error: --w empty.npz: not a readable .npz file"),
             (["--w", "array.npy", "--direction", "dirs.npz"], "Error: --w array.npy is a .npy array")]
    monkeypatch.chdir(tmp_path)
    for args, message in cases:
        result = CliRunner().invoke(cli, ["edit", "--model", str(preset), "--out", "edit.png"] + args)
        assert result.exit_code == 2, result.output
        assert result.stderr.count("\n") == 1 and result.stderr.startswith(message), result.stderr
        assert not os.path.exists(tmp_path / "edit.png")


def test_ppl_weights_that_cannot_load_fail_before_the_progress_bar(tmp_path):
    """Found by the fuzz suite: VGG16 was loaded inside the loop, after the bar had started."""
    from keras_stylegan.cli.main import cli
    from keras_stylegan.zoo.presets import save_preset

    save_preset(tmp_path / "tiny", make_generator(resolution=16, channels=3))
    np.save(tmp_path / "real.npy", np.zeros([4, 16, 16, 3], np.uint8))
    (tmp_path / "vgg.h5").write_text("not an HDF5 file")
    result = CliRunner().invoke(cli, ["metrics", "--model", str(tmp_path / "tiny"), "--num", "2", "--metrics",
                                      "ppl_wend", "--data", str(tmp_path / "real.npy"), "--batch", "1",
                                      "--vgg-weights", str(tmp_path / "vgg.h5")])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, repr(result.stderr)
