"""LiteRT export, run in the LiteRT interpreter on CPU against the Keras generator."""
import os

import numpy as np
import pytest
from click.testing import CliRunner

from keras_stylegan import sampling
from keras_stylegan.cli.main import cli
from keras_stylegan.export import export_litert
from keras_stylegan.zoo.presets import save_preset
from test_sampling import as_uint8, make_generator

try:  # the standalone runtime (the `litert` extra); TensorFlow's own interpreter otherwise
    from ai_edge_litert.interpreter import Interpreter
except ImportError:
    from tensorflow.lite.python.interpreter import Interpreter


def max_relative_error(actual, expected):
    """max |delta| in units of the image's standard deviation."""
    return np.abs(actual - expected).max() / expected.std()


def test_float_export_of_a_conditional_model_matches_keras(tmp_path):
    g = make_generator(channels=4, num_classes=3)
    path = export_litert(g, tmp_path / "g.tflite", image_dtype="float32")
    assert path == str(tmp_path / "g.tflite") and sorted(os.listdir(tmp_path)) == ["g.tflite"]  # no temporaries
    interpreter = Interpreter(model_path=path)
    assert interpreter.get_signature_list() == {
        "mapping": {"inputs": ["labels", "z"], "outputs": ["ws"]},
        "serving_default": {"inputs": ["labels", "psi", "z"], "outputs": ["images"]},
        "synthesis": {"inputs": ["ws"], "outputs": ["images"]},
    }
    for seeds in ([0, 5, 9], [7]):  # the batch is dynamic
        z = sampling.seeds_to_z(seeds, g.z_dim)
        labels = np.arange(len(seeds), dtype=np.int32) % 3
        images = interpreter.get_signature_runner("serving_default")(
            z=z, psi=np.array(0.7, np.float32), labels=labels)["images"]
        expected = g(z, labels=labels, psi=0.7, noise_mode="const").numpy()
        assert images.shape == (len(seeds), 16, 16, 4) and max_relative_error(images, expected) <= 1e-4
    ws = interpreter.get_signature_runner("mapping")(z=z, labels=labels)["ws"]
    assert max_relative_error(ws, g.mapping(z, labels=labels).numpy()) <= 1e-4
    synthesized = interpreter.get_signature_runner("synthesis")(ws=ws)["images"]
    assert max_relative_error(synthesized, g.synthesis(ws, noise_mode="const").numpy()) <= 1e-4


def test_cli_writes_uint8_images_and_refuses_to_overwrite(tmp_path):
    g = make_generator(channels=3)
    preset = save_preset(tmp_path / "preset", g)
    out = tmp_path / "out" / "tiny.tflite"
    runner = CliRunner()
    result = runner.invoke(cli, ["export", "--model", preset, "--out", str(out), "--format", "litert"])
    assert result.exit_code == 0 and result.output == f"wrote {out}\n", result.output
    z = sampling.seeds_to_z([1, 2], g.z_dim)
    images = Interpreter(model_path=str(out)).get_signature_runner("serving_default")(z=z, psi=np.array(0.5, np.float32))["images"]
    assert images.dtype == np.uint8 and images.shape == (2, 16, 16, 3)
    assert np.abs(images.astype(int) - as_uint8(g(z, psi=0.5, noise_mode="const"))).max() <= 1  # rounding at a step
    assert np.abs(images.astype(int) - sampling.generate_images(g, [1, 2], psi=0.5)).max() <= 1

    before = out.read_bytes()
    result = runner.invoke(cli, ["export", "--model", preset, "--out", str(out), "--format", "litert"])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert result.output.startswith(f"Error: {out} already exists: pass another path or overwrite=True (--overwrite)")
    assert out.read_bytes() == before and sorted(os.listdir(out.parent)) == ["tiny.tflite"]


def test_bad_arguments_are_refused_before_converting(tmp_path):
    g = make_generator(channels=3)
    with pytest.raises(ValueError, match=r"must be a file name ending in \.tflite. Received: '.*tiny.onnx'"):
        export_litert(g, tmp_path / "tiny.onnx")
    with pytest.raises(ValueError, match="`image_dtype` must be one of.*Received: 'float16'"):
        export_litert(g, tmp_path / "tiny.tflite", image_dtype="float16")
    with pytest.raises(ValueError, match="must be a keras_stylegan.Generator. Received: str"):
        export_litert("ffhq", tmp_path / "tiny.tflite")
    (tmp_path / "dir.tflite").mkdir()
    with pytest.raises(ValueError, match="dir.tflite already exists"):
        export_litert(g, tmp_path / "dir.tflite", overwrite=True)  # a folder is never replaced by a file
    assert sorted(os.listdir(tmp_path)) == ["dir.tflite"]
