"""`kstylegan train`: a tiny run end to end, and one-line errors for bad input."""
import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from keras_stylegan.cli.main import cli
from keras_stylegan.training.run import build_gan, list_snapshots, training_seconds


def write_images(folder, n=8, size=8, mode="RGBA"):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(0)
    for i in range(n):
        Image.fromarray(rng.randint(0, 256, [size, size, len(mode)]).astype("uint8"), mode).save(folder / f"{i}.png")
    return folder


TINY = ["--resolution", "8", "--cmax", "8", "--cbase", "32", "--zdim", "8", "--wdim", "8", "--map", "1",
        "--batch", "4", "--tick", "0.008", "--snap", "1", "--aug", "none"]


def test_train_runs_and_writes_a_loadable_snapshot(tmp_path):
    data = write_images(tmp_path / "data")
    run = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", "--data", str(data), "--outdir", str(run), "--kimg", "0.008",
                                      "--ada-kimg", "50", "--mbstd", "2", "--r1-interval", "3", "--lod-kimg", "1",
                                      "--lod-fade-kimg", "2"] + TINY)
    assert result.exit_code == 0, result.output
    options = json.load(open(run / "training_options.json"))
    assert options["channels"] == 4 and options["resolution"] == [8, 8] and options["batch_size"] == 4
    assert options["ada_kimg"] == 50.0 and build_gan(options).ada_kimg == 50.0
    assert options["mbstd_group_size"] == 2 and build_gan(options).discriminator.epilogue.mbstd.group_size == 2
    assert options["r1_interval"] == 3 and build_gan(options).r1_interval == 3
    assert (options["lod_training_kimg"], options["lod_transition_kimg"]) == (1.0, 2.0)
    del options["ada_kimg"]  # runs written before the option existed resume with NVIDIA's speed
    assert build_gan(options).ada_kimg == 500.0
    assert [json.loads(line)["tick"] for line in open(run / "stats.jsonl")] == [1]
    (run / "network-snapshot-notes").mkdir()  # not a snapshot
    [(kimg, snapshot)] = list_snapshots(str(run))
    assert kimg == 0 and snapshot.endswith("network-snapshot-000000")
    tick_seconds = json.loads(open(run / "stats.jsonl").readline())["sec_per_tick"]
    assert training_seconds(str(run), kimg) == tick_seconds > 0
    result = CliRunner().invoke(cli, ["sample", "--n", "4", "--model", str(snapshot), "--out", str(tmp_path / "s.png")])
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "s.png").mode == "RGBA"


@pytest.mark.parametrize("case, message", [
    ("missing", "--data not found"),
    ("empty", "no readable images"),
    ("not_power_of_two", "power of two"),
    ("too_large", "larger than every image"),
    ("bad_kimg", "kimg"),
    ("bad_mbstd", "--mbstd must be 0 (off) or divide"),
    ("kimg_inf", "--kimg must be a finite number"),
    ("tick_inf", "--tick must be a finite number"),
    ("ema_nan", "--ema must be a finite number"),
    ("target_nan", "--target must be a finite number"),
    ("lr_nan", "--lr must be a finite number"),
    ("huge_resolution", "resolution"),
    ("stylegan_preset", "StyleGAN2 preset"),
    ("bad_override", "--override takes OPTION=VALUE"),
    ("corrupt_zip", "cannot read"),
    ("bad_loss", "--loss"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, case, message):
    data = write_images(tmp_path / "data")
    (tmp_path / "empty").mkdir()
    args = {
        "missing": ["--data", str(tmp_path / "nope")],
        "empty": ["--data", str(tmp_path / "empty")],
        "not_power_of_two": ["--data", str(data), "--resolution", "48"],
        "too_large": ["--data", str(data), "--resolution", "64"],
        "bad_kimg": ["--data", str(data), "--kimg", "abc"],
        "bad_mbstd": ["--data", str(data), "--resolution", "8", "--batch", "4", "--mbstd", "3"],
        "kimg_inf": ["--data", str(data), "--kimg", "inf"],
        "tick_inf": ["--data", str(data), "--tick", "inf"],
        "ema_nan": ["--data", str(data), "--ema", "nan"],
        "target_nan": ["--data", str(data), "--target", "nan"],
        "lr_nan": ["--data", str(data), "--lr", "nan"],
        "huge_resolution": ["--data", str(data), "--resolution", "16384"],
        "stylegan_preset": ["--data", str(data), "--arch", "stylegan", "--cfg", "paper256"],
        "bad_override": ["--data", str(data), "--override", "nope=1"],
        "corrupt_zip": ["--data", str(tmp_path / "corrupt.zip")],
        "bad_loss": ["--data", str(data), "--loss", "r3"],
    }[case]
    (tmp_path / "corrupt.zip").write_bytes(b"PK\x03\x04 not really a zip")
    result = CliRunner().invoke(cli, ["train", "--outdir", str(tmp_path / "run")] + args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0], result.output
    assert not (tmp_path / "run" / "checkpoint.h5").exists()


def test_bad_input_in_a_real_process_has_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "keras_stylegan.cli.main", "train", "--data", str(tmp_path / "x"),
                           "--outdir", str(tmp_path / "run")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "Error: --data not found" in proc.stderr


def test_stylegan_without_batch_uses_nvidias_table(tmp_path):
    data = write_images(tmp_path / "data", n=8, size=8)
    run = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", "--data", str(data), "--outdir", str(run), "--arch", "stylegan",
                                      "--kimg", "0.128", "--tick", "0.128", "--resolution", "8", "--cmax", "8",
                                      "--cbase", "32", "--zdim", "8", "--wdim", "8", "--map", "1", "--aug", "none"])
    assert result.exit_code == 0, result.output
    options = json.load(open(run / "training_options.json"))
    assert options["batch_table"] == {"8": 128} and options["learning_rate_table"] == {"8": 0.001}
    assert [json.loads(line)["kimg"] for line in open(run / "stats.jsonl")] == [0.128]
    assert result.output.startswith("Preset: ")  # the start summary, then a line per tick off a terminal
    assert "tick 1 " in result.output


def test_resume_with_a_changed_option_is_refused_then_overridden(tmp_path):
    data = write_images(tmp_path / "data")
    run = tmp_path / "run"
    args = ["train", "--data", str(data), "--outdir", str(run), "--kimg", "0.008"] + TINY
    assert CliRunner().invoke(cli, args).exit_code == 0
    args = ["train", "--data", str(data), "--outdir", str(run), "--kimg", "0.016"] + TINY
    result = CliRunner().invoke(cli, args + ["--gamma", "0.5"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "--gamma" in lines[0] and "--override gamma=0.5" in lines[0], result.output
    result = CliRunner().invoke(cli, args + ["--override", "gamma=0.5"])
    assert result.exit_code == 0, result.output
    assert "Resuming" in result.output and json.load(open(run / "training_options.json"))["r1_gamma"] == 0.5


def test_r3gan_loss_trains_and_a_run_refuses_a_changed_loss_unless_overridden(tmp_path):
    data = write_images(tmp_path / "data")
    run = tmp_path / "run"
    args = ["train", "--data", str(data), "--outdir", str(run)] + TINY
    assert CliRunner().invoke(cli, args + ["--kimg", "0.008"]).exit_code == 0
    result = CliRunner().invoke(cli, args + ["--kimg", "0.016", "--loss", "r3gan"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "--loss 'logistic' -> 'r3gan'" in lines[0] and "--override loss=r3gan" in lines[0], \
        result.output
    assert len(open(run / "stats.jsonl").readlines()) == 1  # nothing trained, nothing written
    result = CliRunner().invoke(cli, args + ["--kimg", "0.016", "--override", "loss=r3gan"])
    assert result.exit_code == 0, result.output
    assert "loss=r3gan" in result.output.splitlines()[0]  # the start summary names a non-default loss
    assert json.load(open(run / "training_options.json"))["loss"] == "r3gan"
    last = json.loads(open(run / "stats.jsonl").readlines()[-1])
    assert last["kimg"] == 0.016 and all(np.isfinite(last[k]) for k in ("g_loss", "d_loss", "r1", "r2", "gamma"))
    assert last["gamma"] == pytest.approx(json.load(open(run / "training_options.json"))["r1_gamma"])
