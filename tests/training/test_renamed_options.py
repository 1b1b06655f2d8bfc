"""`d_architecture` became `d_block_architecture` (issue 20: `architecture` is stylegan/stylegan2 only,
orig/skip/resnet is a `block_architecture`). The old field name and the old flag `--d-arch` still work,
with a warning; runs written before the rename resume with their value."""
import warnings

import pytest
from click.testing import CliRunner

from keras_stylegan.cli.main import cli
from keras_stylegan.cli.train import parse_override
from keras_stylegan.training.config import TrainingConfig


def test_the_new_field_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        config = TrainingConfig(d_block_architecture="orig").replace(d_block_architecture="skip")
    assert config.d_block_architecture == "skip"
    assert "d_architecture" not in config.to_json()


def test_the_old_field_name_warns_and_still_works():
    with pytest.warns(DeprecationWarning, match="`d_architecture` is deprecated; use `d_block_architecture`"):
        config = TrainingConfig(d_architecture="orig")
    assert config.d_block_architecture == "orig"
    with pytest.warns(DeprecationWarning, match="d_block_architecture"):
        assert config.replace(d_architecture="skip").d_block_architecture == "skip"
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="pass one of them"):
        TrainingConfig(d_architecture="orig", d_block_architecture="skip")


def test_old_training_options_keep_their_value_silently():
    options = TrainingConfig(d_block_architecture="skip").to_json()
    options["d_architecture"] = options.pop("d_block_architecture")  # training_options.json of an earlier version
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        config = TrainingConfig.from_json(options)
    assert config.d_block_architecture == "skip"


def test_override_accepts_old_and_new_names():
    assert parse_override("d-block=orig") == ("d_block_architecture", "orig")
    assert parse_override("d-arch=orig") == ("d_block_architecture", "orig")
    assert parse_override("d_architecture=orig") == ("d_block_architecture", "orig")


@pytest.fixture
def captured_train(monkeypatch, tmp_path):
    """Replaces `training.run.train` by a recorder: the CLI's options are checked without training."""
    import keras_stylegan.training.run as run

    calls = []
    monkeypatch.setattr(run, "train", lambda data, outdir, **options: calls.append(options))
    (tmp_path / "data").mkdir()
    return calls, ["train", "--data", str(tmp_path / "data"), "--outdir", str(tmp_path / "run")]


def test_the_old_flag_warns_and_sets_the_field(captured_train):
    calls, args = captured_train
    result = CliRunner().invoke(cli, args + ["--d-arch", "orig"])
    assert result.exit_code == 0, result.output
    assert "Warning: --d-arch is deprecated; use --d-block." in result.output
    assert calls[0]["d_block_architecture"] == "orig"


def test_the_new_flag_is_silent_and_the_help_shows_only_it(captured_train):
    calls, args = captured_train
    result = CliRunner().invoke(cli, args + ["--d-block", "skip"])
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.output and calls[0]["d_block_architecture"] == "skip"
    help_text = CliRunner().invoke(cli, ["train", "--help"]).output
    assert "--d-block" in help_text and "--d-arch" not in help_text


def test_old_and_new_flags_together_must_agree(captured_train):
    calls, args = captured_train
    result = CliRunner().invoke(cli, args + ["--d-arch", "orig", "--d-block", "skip"])
    assert result.exit_code == 2 and "Error: --d-arch is the old name of --d-block" in result.output
    assert not calls
