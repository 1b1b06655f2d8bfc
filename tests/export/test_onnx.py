"""ONNX export through tf2onnx, run with onnxruntime on CPU against the eager generator."""
import numpy as np
import onnxruntime
import pytest

from keras_stylegan import sampling
from keras_stylegan.export import export_onnx
from test_sampling import as_uint8, make_generator


def session(path):
    return onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])


def test_float_export_of_a_conditional_model_matches_eager(tmp_path):
    g = make_generator(channels=4, num_classes=3)
    paths = export_onnx(g, tmp_path, image_dtype="float32")
    assert sorted(paths) == ["generator", "mapping", "synthesis"]
    z = sampling.seeds_to_z([0, 5, 9], g.z_dim)
    labels = np.array([0, 2, 1], np.int32)
    generator = session(paths["generator"])
    assert [(i.name, i.type) for i in generator.get_inputs()] == [
        ("z", "tensor(float)"), ("psi", "tensor(float)"), ("labels", "tensor(int32)")]
    assert [o.name for o in generator.get_outputs()] == ["images"]
    images = generator.run(None, {"z": z, "psi": np.array(0.7, np.float32), "labels": labels})[0]
    expected = g(z, labels=labels, psi=0.7, noise_mode="const").numpy()
    assert images.shape == (3, 16, 16, 4) and np.abs(images - expected).max() <= 1e-4
    ws = session(paths["mapping"]).run(["ws"], {"z": z, "labels": labels})[0]
    assert np.abs(ws - g.mapping(z, labels=labels).numpy()).max() <= 1e-4
    synthesized = session(paths["synthesis"]).run(["images"], {"ws": ws})[0]
    assert np.abs(synthesized - g.synthesis(ws, noise_mode="const").numpy()).max() <= 1e-4


def test_uint8_export_matches_sampling(tmp_path):
    g = make_generator(channels=3)
    path = export_onnx(g, tmp_path)["generator"]
    z = sampling.seeds_to_z([1, 2], g.z_dim)
    images = session(path).run(None, {"z": z, "psi": np.array(0.5, np.float32)})[0]
    assert images.dtype == np.uint8
    assert np.abs(images.astype(int) - sampling.generate_images(g, [1, 2], psi=0.5)).max() <= 1
    assert np.abs(images.astype(int) - as_uint8(g(z, psi=0.5, noise_mode="const"))).max() <= 1
    with pytest.raises(ValueError, match="`image_dtype` must be one of.*Received: 'float16'"):
        export_onnx(g, tmp_path, image_dtype="float16")
