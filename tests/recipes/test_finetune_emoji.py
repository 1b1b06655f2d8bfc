"""recipes/finetune_emoji: the subset rule, its labels, and the whole pipeline (subset -> `kstylegan train
--resume emoji` -> figures) on a few made-up glyphs and a few steps, from the shipped `emoji` preset."""
import json
import os
import sys
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from keras_stylegan.cli.main import cli

from .helpers import load_recipe_script, write_glyphs

ANIMALS = ["u1f400.png", "u1f43f.png", "u1f98a.png", "u1f9ae.png", "u1f415_200d_1f9ba.png", "u1f408.png"]
OTHERS = ["u1f600.png", "u1f3ff.png", "u1f9af.png", "u2764.png", "u1f440.png"]  # 1f3ff/1f440/1f9af: just outside


def load_script(name):
    return load_recipe_script("finetune_emoji", name)


def run_script(monkeypatch, name, *args):
    monkeypatch.setattr(sys, "argv", [f"{name}.py", *map(str, args)])
    load_script(name).main()


def test_pick_keeps_the_first_code_point_in_range():
    module = load_script("make_subset")
    ranges = module.parse_ranges(module.ANIMALS)
    assert ranges == [(0x1F400, 0x1F43F), (0x1F980, 0x1F9AE)]
    names = ["glyphs/" + n for n in ANIMALS + OTHERS] + ["dataset.json", "u1f400.txt"]
    assert module.pick(names, ranges) == sorted("glyphs/" + n for n in ANIMALS)


def test_nearest_class_mean_labels():
    module = load_script("make_subset")
    red, blue = np.zeros([1, 32, 32, 4], np.uint8), np.zeros([1, 32, 32, 4], np.uint8)
    red[..., 0], red[..., 3] = 255, 255
    blue[..., 2], blue[..., 3] = 255, 255
    means = np.concatenate([module.thumbnails(blue), module.thumbnails(red)])
    # Premultiplied, as the clusters were made: a half-transparent red square is still nearer red than blue.
    half_red = red.copy()
    half_red[..., 3] = 128
    np.testing.assert_array_equal(module.nearest_classes(np.concatenate([red, blue, half_red]), means), [1, 0, 1])


def test_bad_ranges_are_one_line(tmp_path, monkeypatch):
    write_glyphs(tmp_path / "glyphs.zip", ANIMALS)
    with pytest.raises(SystemExit) as error:
        run_script(monkeypatch, "make_subset", "--data", tmp_path / "glyphs.zip", "--out", tmp_path / "set.zip",
                   "--ranges", "animals")
    assert "--ranges" in str(error.value) and not (tmp_path / "set.zip").exists()


@pytest.mark.large
def test_the_recipe_runs_end_to_end_on_a_tiny_budget(tmp_path, monkeypatch, capsys):
    write_glyphs(tmp_path / "glyphs.zip", ANIMALS + OTHERS)
    subset = tmp_path / "animals.zip"
    run_script(monkeypatch, "make_subset", "--data", tmp_path / "glyphs.zip", "--out", subset, "--per-class", "2")
    with zipfile.ZipFile(subset) as archive:
        labels = json.loads(archive.read("dataset.json"))["labels"]
        assert sorted(archive.namelist()) == sorted(ANIMALS + ["dataset.json"])
    assert sorted(name for name, _ in labels) == sorted(ANIMALS)
    assert all(0 <= label < 32 for _, label in labels)  # ids of the emoji model's 32 classes
    assert not os.path.exists(str(subset) + ".partial")

    # The README's command with a budget of two steps of batch 4.
    run = tmp_path / "run"
    result = CliRunner().invoke(cli, [
        "train", "--data", str(subset), "--cond", "--outdir", str(run), "--resume", "emoji",
        "--kimg", "0.008", "--batch", "4", "--mbstd", "4", "--gamma", "1", "--r1-interval", "16", "--lr", "0.002",
        "--ema-rampup", "0.05", "--aug", "ada", "--ada-kimg", "50", "--freezed", "3", "--tick", "0.004", "--snap", "2"])
    assert result.exit_code == 0, result.output
    assert "G: 63 copied" in result.output and "D: 46 copied" in result.output and "fresh" not in result.output

    figures = tmp_path / "docs" / "finetune"
    capsys.readouterr()
    run_script(monkeypatch, "figures", "--run", run, "--data", subset, "--out", figures, "--num", "4", "--cols", "2",
               "--repeats", "1")
    report = json.loads(capsys.readouterr().out.split("\nfigures:")[0])
    before, after = (np.asarray(Image.open(f"{figures}_{kind}.png")) for kind in ("before", "after"))
    assert before.shape == after.shape == (2 * 32 * 2, 2 * 32 * 2, 3)
    assert np.abs(before.astype(int) - after.astype(int)).max() > 0  # the steps changed the generator
    assert [row["model"] for row in report["swd_x1e3"]] == ["emoji", "network-snapshot-000000"]
    assert report["images"] == len(ANIMALS)
    assert all(np.isfinite(row["swd_avg"]) and row["swd_avg"] > 0 for row in report["swd_x1e3"])
