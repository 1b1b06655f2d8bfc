"""`Generator(dtype="mixed_bfloat16")` and `kstylegan sample --precision bf16`: bfloat16 convolutions,
float32 where accuracy needs it, images close to float32's."""
import keras
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from keras_stylegan import Generator, sampling
from keras_stylegan.cli.main import cli
from keras_stylegan.zoo.presets import save_preset
from test_sampling import make_generator

# Measured (max |delta| / image std) on seeded random networks: 0.05-0.07 here, 0.06 / 0.10 on the
# converted NVIDIA fixtures tiny32 / small64 (mean 0.008 / 0.010): bfloat16 keeps 8 mantissa bits, so
# each convolution's input rounding adds ~0.2% and a few-sigma pixel of a deep stack moves by several %.
MEAN_BOUND, MAX_BOUND = 1e-2, 0.15


def errors(g, z):
    reference = sampling.generate(g, z)
    images = sampling.generate(g.with_precision("bf16"), z)
    assert images.dtype == np.float32
    delta = np.abs(images - reference)
    return np.mean(delta) / np.std(reference), np.max(delta) / np.std(reference)


def test_bf16_keeps_the_accuracy_critical_parts_in_float32():
    g = make_generator(channels=3).with_precision("bf16")
    assert g.synthesis.compute_dtype == "bfloat16" and g.mapping.compute_dtype == "float32"
    layers = {layer.path: layer for layer in g.synthesis._flatten_layers()}
    for path, layer in layers.items():
        name = path.rsplit("/", 1)[-1]
        expected = "float32" if name in ("affine", "torgb", "const") else "bfloat16"
        assert layer.compute_dtype == expected, path
    assert all(variable.dtype == "float32" for variable in g.weights)
    again = Generator.from_config(g.get_config())
    assert again.synthesis.compute_dtype == "bfloat16"
    assert g.with_precision("fp32").synthesis.compute_dtype == "float32"
    with pytest.raises(ValueError, match="`precision` must be one of"):
        g.with_precision("fp8")


@pytest.mark.parametrize("architecture, fused, mean_bound, max_bound", [
    ("stylegan2", False, MEAN_BOUND, MAX_BOUND), ("stylegan2", True, MEAN_BOUND, MAX_BOUND),
    ("stylegan", False, 2 * MEAN_BOUND, 0.2),  # instance norm rescales the rounding of low-variance channels
])
def test_bf16_images_are_close_to_float32(architecture, fused, mean_bound, max_bound):
    keras.utils.set_random_seed(0)  # unseeded weights vary the max error (StyleGAN 2019: 0.06-0.20 over seeds 0-5)
    g = Generator(architecture=architecture, resolution=16, z_dim=16, w_dim=16, channel_base=128, channel_max=32,
                  fused_modconv=fused)
    for variable in g.weights:
        if variable.path.endswith("noise_strength"):
            variable.assign(np.full(variable.shape, 0.2, "float32"))
    z = np.random.RandomState(0).randn(3, 16).astype("float32")
    mean_error, max_error = errors(g, z)
    assert 0 < mean_error <= mean_bound and max_error <= max_bound, (mean_error, max_error)


def test_the_eager_bf16_call_matches_the_compiled_one():
    g = make_generator(channels=3).with_precision("bf16")
    z = np.random.RandomState(1).randn(2, g.z_dim).astype("float32")
    eager = np.asarray(g(z, noise_mode="const"), "float32")
    np.testing.assert_allclose(sampling.generate(g, z), eager, atol=1e-2 * np.std(eager))


def test_sample_cli_precision_bf16(tmp_path):
    g = make_generator(channels=3)
    preset = save_preset(tmp_path / "tiny", g)
    for precision in ("fp32", "bf16"):
        result = CliRunner().invoke(cli, ["sample", "--model", str(preset), "--seeds", "0-3", "--precision", precision,
                                          "--out", str(tmp_path / f"{precision}.png")])
        assert result.exit_code == 0, result.output
    fp32, bf16 = (np.asarray(Image.open(tmp_path / f"{p}.png"), np.float64) for p in ("fp32", "bf16"))
    assert 0 < np.mean(np.abs(fp32 - bf16)) <= MEAN_BOUND * np.std(fp32) + 0.5  # + uint8 rounding
    result = CliRunner().invoke(cli, ["sample", "--model", str(preset), "--precision", "fp16"])
    assert result.exit_code == 2 and "fp16" in result.output
