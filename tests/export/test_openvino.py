"""OpenVINO export, run in the OpenVINO runtime on CPU against the Keras generator."""
import builtins
import os

import numpy as np
import openvino
import pytest
from click.testing import CliRunner

from keras_stylegan import sampling
from keras_stylegan.cli.main import cli
from keras_stylegan.export import export_openvino
from keras_stylegan.zoo.presets import save_preset
from test_sampling import as_uint8, make_generator


def compiled(path):
    # On CPUs with bfloat16 instructions (AMD Zen 4, Intel AMX) OpenVINO runs in bfloat16 unless told otherwise.
    return openvino.Core().compile_model(path, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})


def max_relative_error(actual, expected):
    """max |delta| in units of the image's standard deviation."""
    return np.abs(actual - expected).max() / expected.std()


@pytest.mark.large  # ~40 s: three conversions
def test_float_export_of_a_conditional_model_matches_keras(tmp_path):
    g = make_generator(channels=4, num_classes=3)
    paths = export_openvino(g, tmp_path / "ov", image_dtype="float32")
    assert paths == {name: str(tmp_path / "ov" / f"{name}.xml") for name in ("generator", "mapping", "synthesis")}
    assert sorted(os.listdir(tmp_path)) == ["ov"]  # no temporaries left beside it
    generator = compiled(paths["generator"])
    assert sorted(i.get_any_name() for i in generator.inputs) == ["labels", "psi", "z"]
    assert [o.get_any_name() for o in generator.outputs] == ["images"]
    for seeds in ([0, 5, 9], [7]):  # the batch is dynamic
        z = sampling.seeds_to_z(seeds, g.z_dim)
        labels = np.arange(len(seeds), dtype=np.int32) % 3
        images = generator({"z": z, "psi": np.array(0.7, np.float32), "labels": labels})["images"]
        expected = g(z, labels=labels, psi=0.7, noise_mode="const").numpy()
        assert images.shape == (len(seeds), 16, 16, 4) and max_relative_error(images, expected) <= 1e-4
    ws = compiled(paths["mapping"])({"z": z, "labels": labels})["ws"]
    assert max_relative_error(ws, g.mapping(z, labels=labels).numpy()) <= 1e-4
    synthesized = compiled(paths["synthesis"])({"ws": ws})["images"]
    assert max_relative_error(synthesized, g.synthesis(ws, noise_mode="const").numpy()) <= 1e-4


@pytest.mark.large  # ~40 s: three conversions
def test_cli_writes_uint8_images_and_refuses_to_overwrite(tmp_path):
    g = make_generator(channels=3)
    preset = save_preset(tmp_path / "preset", g)
    out = tmp_path / "ov"
    runner = CliRunner()
    args = ["export", "--model", preset, "--out", str(out), "--format", "openvino"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0 and result.output.startswith(f"wrote {out / 'generator.xml'}, "), result.output
    z = sampling.seeds_to_z([1, 2], g.z_dim)
    generator = compiled(str(out / "generator.xml"))
    assert sorted(i.get_any_name() for i in generator.inputs) == ["psi", "z"]
    images = generator({"z": z, "psi": np.array(0.5, np.float32)})["images"]
    assert images.dtype == np.uint8 and images.shape == (2, 16, 16, 3)
    assert np.abs(images.astype(int) - as_uint8(g(z, psi=0.5, noise_mode="const"))).max() <= 1  # rounding at a step

    before = (out / "generator.bin").read_bytes()
    result = runner.invoke(cli, args)
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert result.output.startswith(f"Error: {out} already holds a model in OpenVINO IR: pass --overwrite")
    assert (out / "generator.bin").read_bytes() == before
    (out / "notes.txt").write_text("mine")  # a folder holding anything else is never replaced
    result = runner.invoke(cli, args + ["--overwrite"])
    assert result.exit_code == 2 and "it holds 'notes.txt'" in result.output
    assert (out / "notes.txt").read_text() == "mine"


def test_missing_openvino_is_one_line_naming_the_extra(tmp_path, monkeypatch):
    preset = save_preset(tmp_path / "preset", make_generator(channels=3))
    real_import = builtins.__import__

    def no_openvino(name, *args, **kwargs):
        if name == "openvino" or name.startswith("openvino."):
            raise ImportError("No module named 'openvino'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_openvino)
    result = CliRunner().invoke(cli, ["export", "--model", preset, "--out", str(tmp_path / "ov"),
                                      "--format", "openvino"])
    assert result.exit_code == 2
    assert result.output == "Error: OpenVINO export needs openvino: pip install 'keras-stylegan[openvino]'\n"
    assert not (tmp_path / "ov").exists()
    with pytest.raises(ValueError, match="`image_dtype` must be one of.*Received: 'float16'"):
        export_openvino(make_generator(channels=3), tmp_path / "ov", image_dtype="float16")
