"""recipes/emoji/make_preset.py on a tiny self-conditioned run: the preset and card it writes, and the
diversity figures (overall and within a class, for the samples and for the data) in its metadata."""
import json
import shutil
import sys
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from keras_stylegan.cli.main import cli
from keras_stylegan.data.clusters import cluster_labels
from keras_stylegan.data.images import read_images
from keras_stylegan.metrics import pixel_diversity
from keras_stylegan.zoo import load

from .helpers import RECIPES, load_recipe_script, write_glyphs


@pytest.mark.large
def test_make_preset_measures_a_self_conditioned_run(tmp_path, monkeypatch, capsys):
    data = tmp_path / "glyphs.zip"
    write_glyphs(data, [f"u{0x1f600 + i:x}.png" for i in range(12)])
    run = tmp_path / "run"
    result = CliRunner().invoke(cli, [
        "train", "--data", str(data), "--outdir", str(run), "--cfg", "cpu", "--clusters", "2", "--resolution", "16",
        "--channels", "4", "--cbase", "64", "--cmax", "16", "--zdim", "16", "--wdim", "16", "--batch", "4",
        "--kimg", "0.008", "--tick", "0.008", "--snap", "1"])
    assert result.exit_code == 0, result.output
    card = tmp_path / "emoji.json"
    shutil.copy(f"{RECIPES}/../zoo/emoji.json", card)
    monkeypatch.setattr(sys, "argv", ["make_preset.py", "--run", str(run), "--data", str(data), "--num", "12",
                                      "--out", str(tmp_path / "preset"), "--card", str(card)])
    capsys.readouterr()
    load_recipe_script("emoji", "make_preset").main()
    assert "preset written to" in capsys.readouterr().out

    metadata = json.load(open(tmp_path / "preset" / "metadata.json"))
    assert "2 k-means clusters of the glyphs (self-conditioning clusters of the run)" in metadata["description"]
    figures = metadata["pixel_diversity"]
    # The data's figures, recomputed here: the run's clusters are the k-means of the images with the run's seed.
    reals, _ = read_images(str(data), (16, 16), channels=4)
    labels = cluster_labels(reals, 2, seed=0)
    order = np.random.RandomState(0).permutation(len(reals))
    assert figures["data"] == round(pixel_diversity(reals[order]), 3)
    assert figures["data_within_class"] == round(pixel_diversity(reals[order], labels[order], max_images=1024), 3)
    assert 0 < figures["samples_within_class"] <= 1 and 0 < figures["samples"] <= 1
    assert figures["within_class_ratio"] == pytest.approx(
        figures["samples_within_class"] / figures["data_within_class"], rel=1e-2)  # of rounded figures
    card_data = json.load(open(card))
    assert card_data["num_classes"] == 2 and card_data["architecture"] == "stylegan2"
    assert load(str(tmp_path / "preset")).num_classes == 2

    # Fine-tuned from that preset, the new one keeps the old metadata and adds up the training. A run
    # that resumes keeps its source's conditioning: the data carries the clusters as labels.
    labelled = tmp_path / "labelled.zip"
    shutil.copy(data, labelled)
    with zipfile.ZipFile(data) as source, zipfile.ZipFile(labelled, "a") as target:
        names = sorted(n for n in source.namelist() if n.endswith(".png"))
        target.writestr("dataset.json", json.dumps({"labels": [[n, int(c)] for n, c in zip(names, labels)]}))

    def fine_tune_and_package(outdir, resume):
        monkeypatch.chdir(tmp_path)
        result = CliRunner().invoke(cli, [
            "train", "--data", str(labelled), "--cond", "--outdir", str(outdir), "--resume", str(resume),
            "--class-groups", "--batch", "4", "--mbstd", "2", "--kimg", "0.008", "--tick", "0.008", "--snap", "1"])
        assert result.exit_code == 0, result.output
        monkeypatch.chdir(outdir)  # packaged from another folder than the one the training ran in
        monkeypatch.setattr(sys, "argv", ["make_preset.py", "--run", str(outdir), "--data", str(labelled),
                                          "--num", "12", "--out", str(tmp_path / "preset"), "--card", str(card)])
        load_recipe_script("emoji", "make_preset").main()

    fine_tune_and_package(tmp_path / "tuned", tmp_path / "preset")
    tuned = json.load(open(tmp_path / "preset" / "metadata.json"))
    assert tuned["fine_tuned_from"] == metadata
    assert (f"Fine-tuned for {tuned['kimg']:g} kimg from the previous emoji model ({metadata['kimg']:g} kimg)"
            in tuned["description"])
    assert tuned["total_kimg"] == tuned["kimg"] + metadata["kimg"]
    assert tuned["training_options"]["class_groups"]

    # A run resumed from a snapshot of that run keeps the chain: that run's part, then the preset before it.
    # The resume path is relative, as recorded by `kstylegan train`, to the folder the training ran in.
    snapshot = sorted((tmp_path / "tuned").glob("network-snapshot-*"))[-1]
    fine_tune_and_package(tmp_path / "tuned2", snapshot.relative_to(tmp_path))
    chained = json.load(open(tmp_path / "preset" / "metadata.json"))
    part = chained["fine_tuned_from"]
    assert (part["run"], part["snapshot"], part["kimg"]) == ("tuned", snapshot.name, tuned["kimg"])
    assert part["fine_tuned_from"] == tuned["fine_tuned_from"] == metadata
    assert chained["total_kimg"] == chained["kimg"] + tuned["kimg"] + metadata["kimg"]
    assert (f"Fine-tuned for {chained['kimg'] + tuned['kimg']:g} kimg from the previous emoji model "
            f"({metadata['kimg']:g} kimg)" in chained["description"])
    # Packaged again (the preset now holds this run's model), the history is the same.
    load_recipe_script("emoji", "make_preset").main()
    assert json.load(open(tmp_path / "preset" / "metadata.json"))["fine_tuned_from"] == part
    # A resume path that cannot be found is an error, not a history silently dropped.
    options = json.load(open(tmp_path / "tuned2" / "training_options.json"))
    shutil.move(tmp_path / "tuned", tmp_path / "moved")
    with pytest.raises(SystemExit, match="was resumed from 'tuned/network-snapshot-"):
        load_recipe_script("emoji", "make_preset").fine_tuned_from(options, str(tmp_path / "preset"),
                                                                    str(tmp_path / "tuned2"))


def test_make_preset_names_a_missing_run_or_snapshot_in_one_line(tmp_path, monkeypatch):
    script = load_recipe_script("emoji", "make_preset")
    (tmp_path / "empty").mkdir()
    for run, message in [(tmp_path / "nope", "is not a folder"), (tmp_path / "empty", "has no network-snapshot-")]:
        monkeypatch.setattr(sys, "argv", ["make_preset.py", "--run", str(run), "--data", str(tmp_path / "data.zip"),
                                          "--out", str(tmp_path / "preset")])
        with pytest.raises(SystemExit, match=message):
            script.main()
    assert not (tmp_path / "preset").exists()
