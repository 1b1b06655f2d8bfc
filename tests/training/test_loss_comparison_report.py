"""benchmarks/loss_comparison.py reads a self-conditioned run (the `cpu` preset's default) without
crashing: its table draws the run's classes for the SWD and the diversity."""
import importlib.util
import os
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from keras_stylegan.cli.main import cli

BENCHMARK = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "loss_comparison.py")


@pytest.mark.large
def test_report_of_a_self_conditioned_run(tmp_path, monkeypatch, capsys):
    data = tmp_path / "images"
    data.mkdir()
    rng = np.random.RandomState(0)
    for i in range(12):  # two kinds of images, so the two clusters differ
        pixels = np.zeros([16, 16, 4], np.uint8)
        pixels[4 + i % 2 * 4: 12, 4:12] = rng.randint(0, 256, 4)
        Image.fromarray(pixels, "RGBA").save(data / f"{i}.png")
    result = CliRunner().invoke(cli, [
        "train", "--data", str(data), "--outdir", str(tmp_path / "logistic"), "--cfg", "cpu", "--clusters", "2",
        "--resolution", "16", "--channels", "4", "--cbase", "64", "--cmax", "16", "--zdim", "16", "--wdim", "16",
        "--batch", "4", "--kimg", "0.008", "--tick", "0.008", "--snap", "1", "--seed", "0"])
    assert result.exit_code == 0, result.output
    spec = importlib.util.spec_from_file_location("loss_comparison", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, "argv", ["loss_comparison.py", "--data", str(data), "--outdir", str(tmp_path),
                                      "--losses", "logistic", "--num", "12", "--report-only"])
    capsys.readouterr()
    module.main()
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith(("| 0 |", "| 0.008 |"))]
    assert len(rows) == 2, rows
    for row in rows:
        swd, diversity = (float(cell) for cell in row.split("|")[2:4])
        assert swd > 0 and 0 < diversity <= 1
