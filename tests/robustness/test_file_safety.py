"""Nothing of the user's is lost: outputs replace only what is ours, atomically, and a full disk loses nothing.

- `zoo convert` / `save_preset` never replace a directory that is not a preset (the data-loss
  report: `mkdir -p d/photos && echo x > d/thesis.txt && kstylegan zoo convert tiny.pkl d`), nor
  `""`, `.` or a parent of the working directory; an existing preset only with `--overwrite`.
- `export --overwrite` replaces only a SavedModel, and only once the new one is complete.
- With a full disk (simulated by `RLIMIT_FSIZE` in a subprocess: no root needed) every save fails
  with one `OSError` naming its output: the previous file survives byte for byte, nothing is left
  half-written under a final name, and no temporary file stays behind.
- Temporaries of killed saves (our own naming, writer gone) are removed; nothing else is.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from keras_stylegan.cli.main import cli
from keras_stylegan.training.checkpoint import load_checkpoint, save_checkpoint
from keras_stylegan.utils.files import remove_stale_temporaries
from robustness.helpers import fingerprint, write_tiny_pickle

HERE = os.path.dirname(os.path.abspath(__file__))


def convert(*args):
    return CliRunner().invoke(cli, ["zoo", "convert"] + [str(a) for a in args])


def assert_one_line_error(result, *fragments):
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


@pytest.fixture(scope="module")
def tiny_pickle(tmp_path_factory):
    return write_tiny_pickle(tmp_path_factory.mktemp("pickles") / "tiny.pkl")


def make_user_files(directory):
    os.makedirs(os.path.join(directory, "photos"))
    with open(os.path.join(directory, "photos", "cat.jpg"), "wb") as f:
        f.write(b"\xff\xd8 not really a jpeg")
    with open(os.path.join(directory, "thesis.txt"), "w") as f:
        f.write("x\n")


# ------------------------------------------------------------------------------------------------
# Data loss: what `zoo convert` (save_preset) may replace


def test_convert_keeps_a_directory_that_is_not_a_preset(tiny_pickle, tmp_path, monkeypatch):
    # The exact report: `mkdir -p d/photos && echo x > d/thesis.txt && kstylegan zoo convert tiny.pkl d`.
    monkeypatch.chdir(tmp_path)
    make_user_files("d")
    before = fingerprint(tmp_path)
    for extra in ([], ["--overwrite"]):  # --overwrite replaces presets only, never anything else
        assert_one_line_error(convert(tiny_pickle, "d", *extra), "refusing to replace d", "not a preset")
        assert fingerprint(tmp_path) == before


def test_convert_refuses_the_working_directory_and_its_parents(tiny_pickle, tmp_path, monkeypatch):
    cwd = tmp_path / "home" / "work"
    make_user_files(cwd)
    monkeypatch.chdir(cwd)
    before = fingerprint(tmp_path)
    for target in (".", "./", "..", str(tmp_path / "home"), str(cwd)):  # not "/": a regression must stay harmless
        assert_one_line_error(convert(tiny_pickle, target, "--overwrite"), "working directory or one of its parents")
    assert_one_line_error(convert(tiny_pickle, ""), "empty")
    assert fingerprint(tmp_path) == before


def test_convert_replaces_a_preset_only_with_overwrite(tiny_pickle, tmp_path):
    (tmp_path / "p").mkdir()  # an empty directory is fine to fill
    assert convert(tiny_pickle, tmp_path / "p").exit_code == 0
    first = fingerprint(tmp_path)
    assert_one_line_error(convert(tiny_pickle, tmp_path / "p", "--no-discriminator"), "already holds a preset",
                          "--overwrite")
    assert fingerprint(tmp_path) == first
    result = convert(tiny_pickle, tmp_path / "p", "--no-discriminator", "--overwrite")
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(tmp_path)) == ["p"]  # no old or temporary directory left beside it
    assert sorted(os.listdir(tmp_path / "p")) == ["config.json", "metadata.json", "model.weights.h5"]
    # A preset the user added a file to is theirs as much as ours: refused even with --overwrite.
    (tmp_path / "p" / "notes.md").write_text("my notes\n")
    before = fingerprint(tmp_path)
    assert_one_line_error(convert(tiny_pickle, tmp_path / "p", "--overwrite"), "not a preset", "notes.md")
    assert fingerprint(tmp_path) == before


def test_save_preset_refuses_files_and_symbolic_links(tmp_path):
    from keras_stylegan.zoo.presets import check_preset_target

    (tmp_path / "model.h5").write_bytes(b"user data")
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(ValueError, match="it is a file"):
        check_preset_target(tmp_path / "model.h5", overwrite=True)
    with pytest.raises(ValueError, match="symbolic link"):
        check_preset_target(tmp_path / "link", overwrite=True)
    assert (tmp_path / "model.h5").read_bytes() == b"user data" and (tmp_path / "link").is_symlink()


# ------------------------------------------------------------------------------------------------
# export --overwrite: only a SavedModel is replaced, and only once the new version is complete


def _tiny_generator():
    from keras_stylegan import Generator

    return Generator(resolution=8, channels=3, z_dim=8, w_dim=8, channel_base=32, channel_max=8, mapping_layers=1)


def _old_version(path):
    os.makedirs(os.path.join(path, "variables"))
    for name in ("saved_model.pb", "fingerprint.pb", "variables/variables.index"):
        with open(os.path.join(path, name), "wb") as f:
            f.write(b"old version " + name.encode())


def test_export_overwrite_keeps_the_old_version_when_the_write_fails(tmp_path, monkeypatch):
    import errno

    from keras.export import ExportArchive

    from keras_stylegan.export import export_saved_model

    _old_version(tmp_path / "served" / "1")
    before = fingerprint(tmp_path)

    def write_half_then_fail(self, path, **kwargs):  # a disk that fills up midway through the variables
        os.makedirs(os.path.join(path, "variables"), exist_ok=True)
        with open(os.path.join(path, "saved_model.pb"), "wb") as f:
            f.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(type(ExportArchive()), "write_out", write_half_then_fail)  # the backend's subclass
    with pytest.raises(OSError, match="No space left on device"):
        export_saved_model(_tiny_generator(), tmp_path / "served", overwrite=True)
    assert fingerprint(tmp_path) == before  # old version intact; no half-written or temporary folder


def test_export_overwrite_refuses_a_folder_that_is_not_a_saved_model(tmp_path):
    from keras_stylegan.export import export_onnx, export_saved_model

    make_user_files(tmp_path / "served" / "1")
    (tmp_path / "onnx").mkdir()
    (tmp_path / "onnx" / "generator.onnx").write_bytes(b"someone else's model")
    before = fingerprint(tmp_path)
    with pytest.raises(ValueError, match="not a SavedModel"):
        export_saved_model(_tiny_generator(), tmp_path / "served", overwrite=True)
    with pytest.raises(ValueError, match="already exists"):
        export_onnx(_tiny_generator(), tmp_path / "onnx")
    assert fingerprint(tmp_path) == before


# ------------------------------------------------------------------------------------------------
# A full disk: every save in a subprocess whose file size limit is below the output's size


@pytest.fixture(scope="module")
def full_disk(tiny_pickle, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("full_disk")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.run([sys.executable, os.path.join(HERE, "full_disk_worker.py"), str(workdir), tiny_pickle],
                             capture_output=True, text=True, timeout=600, env=env)
    assert process.returncode == 0, process.stderr[-3000:]  # e.g. -11: h5py crashed on a full disk
    return json.loads(process.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("scenario, output", [
    ("checkpoint", "checkpoint.h5"), ("preset", "p"), ("image", "grid.png"), ("animation", "walk.gif"),
    ("savedmodel", "1"),
])
def test_full_disk_api_raises_oserror_and_keeps_the_previous_file(full_disk, scenario, output):
    result = full_disk[scenario]
    assert "worker_error" not in result, result.get("worker_error")
    assert result["error"] is not None, "the save succeeded past the file size limit"
    assert result["error"]["is_oserror"], result["error"]["traceback"]  # not h5py's RuntimeError, not a crash
    assert result["error"]["message"].startswith("cannot write ") and output in result["error"]["message"]
    assert "\n" not in result["error"]["message"]
    assert result["after"] == result["before"]  # previous version byte for byte, no temporary left


@pytest.mark.parametrize("scenario", ["directions_cli", "convert_cli", "sample_cli"])
def test_full_disk_cli_prints_one_line_and_keeps_the_previous_file(full_disk, scenario):
    result = full_disk[scenario]
    assert "worker_error" not in result, result.get("worker_error")
    assert result["exit_code"] == 2, (result["output"], result["exception"])
    # `sample` clears its finished progress bar with a carriage return before the error line
    assert result["output"].split("\r")[-1].startswith("Error: cannot write ") and result["output"].count("\n") == 1
    assert "Traceback" not in result["output"]
    assert result["after"] == result["before"]


@pytest.mark.large  # two tiny trainings in a fresh process: ~1 CPU-minute
def test_full_disk_during_training_keeps_the_previous_checkpoint(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.run([sys.executable, os.path.join(HERE, "full_disk_worker.py"), str(tmp_path), "--train"],
                             capture_output=True, text=True, timeout=900, env=env)
    assert process.returncode == 0, process.stderr[-3000:]  # -11 before: h5py crashed on the full disk
    result = json.loads(process.stdout.strip().splitlines()[-1])["train_cli"]
    assert "worker_error" not in result, result.get("worker_error")
    assert result["exit_code"] == 2, (result["output"], result["exception"])
    errors = [line for line in result["output"].splitlines() if line.startswith("Error")]
    assert len(errors) == 1, result["output"]  # the start summary may come first; one error line
    error = errors[0]
    assert error.startswith("Error: cannot write ") and error.endswith("checkpoint.h5: File too large"), error
    assert "Traceback" not in result["output"]
    new_logs = {name for name in result["after"] if name.startswith("logs/")} - set(result["before"])
    assert {name: digest for name, digest in result["after"].items() if name not in new_logs} == result["before"]


# ------------------------------------------------------------------------------------------------
# Temporaries of killed saves


class _Gan:
    def __init__(self, value):
        import keras

        self.variables = {"g/w": keras.Variable(np.full([3], value, "float32"))}

    def state_variables(self):
        return self.variables

    def build_optimizers(self):
        pass


def _dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_save_removes_the_temporaries_of_killed_saves(tmp_path):
    dead, alive = _dead_pid(), os.getppid()
    stale = [f".checkpoint.h5.{dead}-k1ll3d00.tmp", f".fakes000004.png.{dead}-k1ll3d00.tmp.png"]
    kept = [f".checkpoint.h5.{alive}-runn1ng0.tmp",  # a save still running in another process
            ".checkpoint.h5.x8y7z6w5.tmp",  # earlier versions' name (no pid): left to a resume's cleaning
            ".checkpoint.h5.notes", "checkpoint.h5.tmp", ".other.h5.tmp"]  # not ours
    for name in stale + kept:
        (tmp_path / name).write_bytes(b"partial")
    save_checkpoint(tmp_path / "checkpoint.h5", _Gan(1.0))
    assert sorted(os.listdir(tmp_path)) == sorted(kept + ["checkpoint.h5"])
    gan = _Gan(0.0)
    load_checkpoint(tmp_path / "checkpoint.h5", gan)
    np.testing.assert_array_equal(gan.variables["g/w"].numpy(), [1.0, 1.0, 1.0])
    assert remove_stale_temporaries(tmp_path) == [str(tmp_path / ".checkpoint.h5.x8y7z6w5.tmp")]


def test_remove_stale_temporaries_on_resume(tmp_path):
    dead = _dead_pid()
    stale_file = tmp_path / f".fakes000012.png.{dead}-abcdefgh.tmp.png"
    stale_dir = tmp_path / f".network-snapshot-000012.{dead}-abcdefgh.tmpdir"
    legacy_preset = tmp_path / ".preset-abcdefgh"  # earlier versions' preset temporaries
    orphan_old = tmp_path / f".network-snapshot-000004.{dead}-abcdefgh.old"  # killed between the two renames
    replaced_old = tmp_path / f".network-snapshot-000008.{dead}-abcdefgh.old"
    user_dir = tmp_path / ".preset-mystuff1"  # looks like ours but holds the user's files: kept
    current = tmp_path / "network-snapshot-000008"
    for directory in (stale_dir, legacy_preset, orphan_old, replaced_old, user_dir, current):
        directory.mkdir()
        (directory / "config.json").write_text("{}")
    (user_dir / "diary.txt").write_text("mine")
    stale_file.write_bytes(b"half a png")
    (tmp_path / "stats.jsonl").write_text("{}\n")
    removed = remove_stale_temporaries(tmp_path)
    assert sorted(removed) == sorted(str(p) for p in (stale_file, stale_dir, legacy_preset, orphan_old, replaced_old))
    assert sorted(os.listdir(tmp_path)) == [".preset-mystuff1", "network-snapshot-000004", "network-snapshot-000008",
                                            "stats.jsonl"]
    assert (tmp_path / "network-snapshot-000004" / "config.json").exists()  # the old version restored
    assert (user_dir / "diary.txt").read_text() == "mine"
