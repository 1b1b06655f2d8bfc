"""Inference on the JAX and PyTorch backends gives TensorFlow's images, without importing TensorFlow.

For each backend whose package is installed (`pip install 'keras-stylegan[backends]'`), a
subprocess started with `KERAS_BACKEND` set loads a preset and a converted NVIDIA-format pickle
written here under TensorFlow, samples them (eager, compiled, and the grouped-convolution path)
and runs every sampling command. Images must match TensorFlow's within 1e-5 of the image std.

    python -m pytest -m backends tests/backends

Selected with `-m backends`, a missing backend package is a failure; in an unfiltered run it is a
skip that names the extra to install.
"""
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from keras_stylegan import Discriminator, Generator
from keras_stylegan.sampling import image_grid, to_uint8
from keras_stylegan.zoo.convert import export_weights
from keras_stylegan.zoo.presets import save_preset
from official_pickles import write_pytorch_pickle

from .backend_worker import GENERATOR_CONFIG, run_models

pytestmark = pytest.mark.backends

BACKENDS = {"jax": "jax", "torch": "torch"}  # backend -> the package it needs
RELATIVE_TOLERANCE = 1e-5  # max |delta| / std of TensorFlow's image
WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "backend_worker.py")


def randomize(model, seed):
    rng = np.random.RandomState(seed)
    for v in model.weights:
        if "seed_generator" not in v.path and "lod" not in v.path:
            v.assign(np.asarray(rng.randn(*v.shape), "float32") * 0.5)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A StyleGAN (2019) preset and a StyleGAN2 stylegan2-ada-pytorch pickle, with TensorFlow's outputs."""
    import keras

    assert keras.backend.backend() == "tensorflow", "the reference runs on TensorFlow"
    root = tmp_path_factory.mktemp("backends")
    g = Generator(architecture="stylegan", resolution=16, z_dim=8, w_dim=8, channel_base=64, channel_max=8,
                  mapping_layers=2)
    d = Discriminator(architecture="stylegan", resolution=16, channel_base=64, channel_max=8)
    randomize(g, 1)
    randomize(d, 2)
    save_preset(root / "preset", g, d)

    g_config = dict(resolution=16, z_dim=8, w_dim=8, channel_base=64, channel_max=8, mapping_layers=2, conv_clamp=256)
    (root / GENERATOR_CONFIG).write_text(json.dumps(g_config))
    g = Generator(**g_config)
    d = Discriminator(resolution=16, channel_base=64, channel_max=8, mbstd_group_size=3, conv_clamp=256)
    randomize(g, 3)
    randomize(d, 4)
    g_kwargs = dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=16, img_channels=3, mapping_kwargs=dict(num_layers=2),
                    synthesis_kwargs=dict(channel_base=64, channel_max=8, num_fp16_res=0, conv_clamp=256))
    d_kwargs = dict(c_dim=0, img_resolution=16, img_channels=3, architecture="resnet", channel_base=64, channel_max=8,
                    num_fp16_res=0, conv_clamp=256, epilogue_kwargs=dict(mbstd_group_size=3))
    g_state = export_weights(g)
    write_pytorch_pickle(root / "net.pkl", {
        "G": dict(class_name="Generator", init_kwargs=g_kwargs, state_dict=g_state),
        "D": dict(class_name="Discriminator", init_kwargs=d_kwargs, state_dict=export_weights(d)),
        "G_ema": dict(class_name="Generator", init_kwargs=g_kwargs, state_dict=g_state),
    })
    reference = run_models(str(root / "preset"), str(root / "net.pkl"))
    return root, reference


def _require(backend, config):
    if importlib.util.find_spec(BACKENDS[backend]) is None:
        message = f"{BACKENDS[backend]} is not installed: pip install 'keras-stylegan[backends]'"
        if "backends" in (config.getoption("markexpr") or ""):
            pytest.fail(message)  # asked for the backend tests: never green without running them
        pytest.skip(message)


def _backend_outputs(backend, root):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERAS_STYLEGAN")}
    env.update(KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3", KERAS_STYLEGAN_CACHE=str(root / f"cache_{backend}"))
    outdir = root / f"cli_{backend}"
    outdir.mkdir()
    result = subprocess.run(
        [sys.executable, WORKER, str(root / "preset"), str(root / "net.pkl"), str(root / f"{backend}.npz"),
         str(outdir)], capture_output=True, text=True, env=env, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(np.load(root / f"{backend}.npz")), outdir


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def backend_run(request):
    _require(request.param, request.config)  # before the TensorFlow reference is built
    root, reference = request.getfixturevalue("models")
    outputs, outdir = _backend_outputs(request.param, root)
    return request.param, reference, outputs, outdir


def test_backend_really_ran_without_tensorflow(backend_run):
    backend, _, outputs, _ = backend_run
    assert str(outputs["backend"]) == backend
    assert not bool(outputs["tensorflow_imported"]), f"TensorFlow was imported on the {backend} backend"


@pytest.mark.parametrize("key", ["preset_images", "preset_compiled", "pickle_images", "pickle_compiled",
                                 "pickle_grouped"])
def test_images_match_tensorflow(backend_run, key):
    backend, reference, outputs, _ = backend_run
    expected = reference[key.replace("_compiled", "_images").replace("_grouped", "_images")]
    got = outputs[key]
    assert got.shape == expected.shape
    relative = float(np.abs(got - expected).max()) / float(expected.std())
    assert relative <= RELATIVE_TOLERANCE, f"{backend} {key}: max |delta| = {relative:.2e} x image std"


@pytest.mark.parametrize("key", ["preset_ws", "pickle_ws", "preset_dscore", "pickle_dscore"])
def test_latents_and_scores_match_tensorflow(backend_run, key):
    backend, reference, outputs, _ = backend_run
    expected = reference[key]
    scale = max(float(np.abs(expected).max()), 1.0)
    np.testing.assert_allclose(outputs[key], expected, rtol=0, atol=RELATIVE_TOLERANCE * scale)


def test_every_sampling_command_runs(backend_run):
    backend, reference, outputs, outdir = backend_run
    assert json.loads(str(outputs["cli_exit_codes"])) == {"sample": 0, "mix": 0, "interpolate": 0, "noise": 0}
    grid = np.asarray(Image.open(outdir / "sample.png"))
    expected = image_grid(to_uint8(reference["preset_images"]))
    assert grid.shape == expected.shape
    # uint8 truncation may move a value that sits on a level boundary by one step.
    assert np.abs(grid.astype(int) - expected).max() <= 1
    for name in ("mix.png", "walk.gif", "noise.png"):
        assert (outdir / name).stat().st_size > 0

