"""SavedModel export: signatures as TF Serving lists them, outputs equal to eager, NumPy seeds in-graph."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

from keras_stylegan import sampling
from keras_stylegan.cli.main import cli
from keras_stylegan.export import export_saved_model, randn_from_seeds
from keras_stylegan.zoo.presets import save_preset
from test_sampling import as_uint8, make_generator


@pytest.fixture(scope="module")
def generators():
    return {"plain": make_generator(channels=3), "conditional": make_generator(channels=4, num_classes=3)}


def run_cli(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def exported(generators, tmp_path_factory):
    """The conditional model through the API, the plain one through `kstylegan export` (from a preset)."""
    base = tmp_path_factory.mktemp("served")
    preset = save_preset(base / "preset", generators["plain"])
    result = run_cli("export", "--model", preset, "--out", base / "plain")
    assert result.exit_code == 0 and result.output == f"wrote {base / 'plain' / '1'}\n", result.output
    return {"plain": str(base / "plain" / "1"), "conditional": export_saved_model(generators["conditional"],
                                                                                 base / "conditional")}


def test_randn_from_seeds_equals_numpy_randomstate():
    seeds = [0, 1, 42, 123456789, 2**31, 2**32 - 1]
    draw = tf.function(randn_from_seeds, reduce_retracing=True)
    for dim in (1, 2, 7, 512):
        z = draw(tf.constant(seeds, tf.int64), dim).numpy()
        expected = np.stack([np.random.RandomState(s).randn(dim) for s in seeds]).astype(np.float32)
        np.testing.assert_array_equal(z, expected)
    assert draw(tf.zeros([0], tf.int64), 5).shape == (0, 5)
    for bad in (-1, 2**32):
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"`seeds` must be in \[0, 4294967295\]"):
            draw(tf.constant([3, bad], tf.int64), 4)


def test_layout_and_loaded_outputs_equal_eager(generators, exported):
    assert os.path.basename(exported["plain"]) == "1"  # DIR/1/, TF Serving's version folder
    assert os.path.exists(os.path.join(exported["plain"], "saved_model.pb"))
    for name, g in generators.items():
        served = tf.saved_model.load(exported[name]).signatures
        seeds = [0, 5, 2**32 - 1]
        z = sampling.seeds_to_z(seeds, g.z_dim)
        labels = np.array([0, 2, 1], np.int32) if g.num_classes else None
        extra = {"labels": tf.constant(labels)} if g.num_classes else {}
        eager = as_uint8(g(z, labels=labels, psi=0.7, noise_mode="const"))
        images = served["serving_default"](z=tf.constant(z), psi=tf.constant(0.7), **extra)["images"].numpy()
        assert images.dtype == np.uint8 and images.shape == (3, 16, 16, g.channels)
        assert np.abs(images.astype(int) - eager).max() <= 1  # float rounding may cross a truncation step
        from_seeds = served["seeds"](seeds=tf.constant(seeds, tf.int64), psi=tf.constant(0.7), **extra)["images"]
        np.testing.assert_array_equal(from_seeds.numpy(), images)  # z in-graph == the CLI's NumPy z
        ws = served["mapping"](z=tf.constant(z), **extra)["ws"].numpy()
        np.testing.assert_allclose(ws, g.mapping(z, labels=labels).numpy(), atol=1e-5)
        synthesized = served["synthesis"](ws=tf.constant(ws))["images"].numpy()
        assert np.abs(synthesized.astype(int) - as_uint8(g.synthesis(ws, noise_mode="const"))).max() <= 1
    # the plain model through the sampling API (truncation included)
    images = tf.saved_model.load(exported["plain"]).signatures["seeds"](
        seeds=tf.constant([3, 4], tf.int64), psi=tf.constant(0.5))["images"].numpy()
    assert np.abs(images.astype(int) - sampling.generate_images(generators["plain"], [3, 4], psi=0.5)).max() <= 1


def signature_table(directory):
    """`{signature: {"inputs": {name: (dtype, shape)}, "outputs": {...}}}` from `saved_model_cli show --all`."""
    tool = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    text = subprocess.run([tool, "show", "--dir", directory, "--all"], capture_output=True, text=True, check=True,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")).stdout
    table = {}
    for block in re.split(r"\nsignature_def\['", text)[1:]:
        name = block.split("'")[0]
        entries = re.findall(r"(inputs|outputs)\['(\w+)'\] tensor_info:\s+dtype: (\w+)\s+shape: ([^\n]+)", block)
        table[name] = {kind: {key: (dtype, shape) for k, key, dtype, shape in entries if k == kind}
                       for kind in ("inputs", "outputs")}
    return table


def test_saved_model_cli_lists_the_signatures(exported):
    table = signature_table(exported["conditional"])
    table.pop("__saved_model_init_op", None)
    labels = {"labels": ("DT_INT32", "(-1)")}
    images = {"images": ("DT_UINT8", "(-1, 16, 16, 4)")}
    assert table == {
        "serving_default": {"inputs": {"z": ("DT_FLOAT", "(-1, 16)"), "psi": ("DT_FLOAT", "()"), **labels},
                            "outputs": images},
        "seeds": {"inputs": {"seeds": ("DT_INT64", "(-1)"), "psi": ("DT_FLOAT", "()"), **labels}, "outputs": images},
        "mapping": {"inputs": {"z": ("DT_FLOAT", "(-1, 16)"), **labels}, "outputs": {"ws": ("DT_FLOAT", "(-1, 6, 16)")}},
        "synthesis": {"inputs": {"ws": ("DT_FLOAT", "(-1, 6, 16)")}, "outputs": images},
    }
    plain = tf.saved_model.load(exported["plain"]).signatures
    assert sorted(plain["serving_default"].structured_input_signature[1]) == ["psi", "z"]
    assert sorted(plain["mapping"].structured_input_signature[1]) == ["z"]


def test_bad_inputs_fail_clearly(exported):
    served = tf.saved_model.load(exported["conditional"]).signatures["serving_default"]
    good = dict(z=tf.zeros([2, 16]), psi=tf.constant(0.7), labels=tf.constant([0, 1]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"`z` must have shape \[N, 16\]"):
        served(**dict(good, z=tf.zeros([2, 15])))
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a float tensor but is a int32"):
        served(**dict(good, z=tf.zeros([2, 16], tf.int32)))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"`labels` must be class ids in \[0, 3\)"):
        served(**dict(good, labels=tf.constant([0, 3])))
    with pytest.raises(tf.errors.InvalidArgumentError, match="one id per latent"):
        served(**dict(good, labels=tf.constant([0])))
    with pytest.raises(tf.errors.InvalidArgumentError, match="`psi` must be a finite number"):
        served(**dict(good, psi=tf.constant(np.nan, tf.float32)))
    synthesis = tf.saved_model.load(exported["conditional"]).signatures["synthesis"]
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"`ws` must have shape \[N, 6, 16\]"):
        synthesis(ws=tf.zeros([1, 5, 16]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="`ws` must hold finite numbers"):
        synthesis(ws=tf.fill([1, 6, 16], np.inf))
    with pytest.raises(tf.errors.InvalidArgumentError, match="`z` must hold finite numbers"):
        served(**dict(good, z=tf.fill([2, 16], np.nan)))


def test_export_arguments_and_cli_errors(generators, exported, tmp_path):
    base = os.path.dirname(exported["conditional"])
    with pytest.raises(ValueError, match="already holds version 1"):
        export_saved_model(generators["conditional"], base)
    with pytest.raises(ValueError, match="`version` must be a positive int.*Received: 0"):
        export_saved_model(generators["plain"], tmp_path / "x", version=0)
    with pytest.raises(ValueError, match="keras_stylegan.Generator. Received: str"):
        export_saved_model("ffhq", tmp_path / "x")
    preset = os.path.join(os.path.dirname(os.path.dirname(exported["plain"])), "preset")
    again = run_cli("export", "--model", preset, "--out", os.path.dirname(exported["plain"]))
    assert again.exit_code == 2 and again.output.startswith("Error: `directory` already holds version 1")
    missing = run_cli("export", "--model", tmp_path / "nope", "--out", tmp_path / "y")
    assert missing.exit_code == 2 and "no such file or directory" in missing.output
    bad_format = run_cli("export", "--model", preset, "--out", tmp_path / "y", "--format", "tflite")
    assert bad_format.exit_code == 2 and bad_format.output.startswith("Error: Invalid value for '--format'")
