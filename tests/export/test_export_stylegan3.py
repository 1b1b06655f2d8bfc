"""StyleGAN3 export: NVIDIA's (tiny, conditional StyleGAN3-R) network through SavedModel, ONNX and OpenVINO.

The generator is converted from the fixture NVIDIA's code made (tests/fixtures/stylegan3/), so the
ONNX model is checked against Keras and against NVIDIA's own images.
"""
import os

import numpy as np
import onnxruntime
import pytest
import tensorflow as tf

from keras_stylegan import sampling
from keras_stylegan.export import export_litert, export_onnx, export_openvino, export_saved_model
from keras_stylegan.zoo import load

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "stylegan3")
TOLERANCE = 1e-4  # of the image standard deviation


@pytest.fixture(scope="module")
def nvidia_r():
    refs = np.load(os.path.join(FIXTURES, "sg3r32.ref.npz"))
    seeds = [0, 1, 2]
    z = np.concatenate([refs[f"z_seed{s}"] for s in seeds]).astype(np.float32)
    labels = np.array([int(np.argmax(refs[f"c_seed{s}"])) for s in seeds], np.int32)
    want = np.transpose(np.concatenate([refs[f"img_seed{s}_psi0.5"] for s in seeds]), (0, 2, 3, 1))
    return load(os.path.join(FIXTURES, "sg3r32.pkl")), z, labels, want


@pytest.mark.large
def test_onnx_export_matches_keras_and_nvidia(nvidia_r, tmp_path):
    g, z, labels, want = nvidia_r
    paths = export_onnx(g, tmp_path, image_dtype="float32")
    session = onnxruntime.InferenceSession(paths["generator"], providers=["CPUExecutionProvider"])
    images = session.run(None, {"z": z, "psi": np.array(0.5, np.float32), "labels": labels})[0]
    keras_images = np.asarray(g(z, labels=labels, psi=0.5))
    scale = TOLERANCE * want.std()
    assert np.abs(images - keras_images).max() <= scale
    assert np.abs(images - want).max() <= scale


@pytest.mark.large
def test_saved_model_signatures_match_keras_and_nvidia(nvidia_r, tmp_path):
    g, z, labels, want = nvidia_r
    served = tf.saved_model.load(export_saved_model(g, tmp_path / "sg3")).signatures
    assert sorted(served) == ["mapping", "seeds", "serving_default", "synthesis"]
    expected = sampling.to_uint8(want).astype(int)
    images = served["serving_default"](z=tf.constant(z), psi=tf.constant(0.5), labels=tf.constant(labels))["images"]
    assert images.dtype == tf.uint8 and np.abs(images.numpy().astype(int) - expected).max() <= 1
    ws = served["mapping"](z=tf.constant(z), labels=tf.constant(labels))["ws"].numpy()
    np.testing.assert_allclose(ws, np.asarray(g.mapping(z, labels=labels)), rtol=1e-5, atol=1e-5)
    truncated = np.asarray(g.mapping(z, labels=labels, psi=0.5))
    images = served["synthesis"](ws=tf.constant(truncated))["images"].numpy()
    assert np.abs(images.astype(int) - expected).max() <= 1
    seeds = np.array([3, 11], np.int64)  # the seeds signature draws z as np.random.RandomState(seed) does
    seed_z = np.stack([np.random.RandomState(s).randn(g.z_dim) for s in seeds]).astype(np.float32)
    from_seeds = served["seeds"](seeds=tf.constant(seeds), psi=tf.constant(0.5), labels=tf.constant(labels[:2]))
    keras_images = sampling.to_uint8(np.asarray(g(seed_z, labels=labels[:2], psi=0.5))).astype(int)
    assert np.abs(from_seeds["images"].numpy().astype(int) - keras_images).max() <= 1


@pytest.mark.large
def test_openvino_export_matches_keras_and_nvidia(nvidia_r, tmp_path):
    import openvino

    g, z, labels, want = nvidia_r
    path = export_openvino(g, tmp_path / "ov", image_dtype="float32")["generator"]
    # float32: on CPUs with bfloat16 instructions OpenVINO otherwise computes in bfloat16.
    compiled = openvino.Core().compile_model(path, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    images = compiled({"z": z, "psi": np.array(0.5, np.float32), "labels": labels})["images"]
    scale = TOLERANCE * want.std()
    assert np.abs(images - np.asarray(g(z, labels=labels, psi=0.5))).max() <= scale
    assert np.abs(images - want).max() <= scale


@pytest.mark.large
def test_litert_refuses_stylegan3_in_one_line_and_writes_nothing(nvidia_r, tmp_path):
    # its graph converts, but the LiteRT runtime rejects tensors of the result: no file that would not load
    with pytest.raises(ValueError, match="^LiteRT cannot load the converted generator: [^\n]+$"):
        export_litert(nvidia_r[0], tmp_path / "sg3.tflite")
    assert os.listdir(tmp_path) == []
