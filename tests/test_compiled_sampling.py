"""Every user-facing generator path runs one compiled synthesis per model, not eager calls per batch.

The spy counts Python executions of `SynthesisNetwork.call`: an eager path runs it once per batch,
a compiled one once per trace.
"""
import functools

import numpy as np
import pytest
from click.testing import CliRunner
from keras import ops

from keras_stylegan import sampling
from keras_stylegan.cli.main import cli
from keras_stylegan.metrics.evaluate import _generated_batches
from keras_stylegan.metrics.ppl import perceptual_path_length
from keras_stylegan.networks.synthesis import SynthesisNetwork
from keras_stylegan.zoo.presets import save_preset
from test_sampling import make_generator


@pytest.fixture
def traces(monkeypatch):
    """A list that grows by one each time the synthesis network's Python `call` runs."""
    calls = []
    original = SynthesisNetwork.call

    @functools.wraps(original)  # Keras binds call arguments by this signature (noise= may hold tensors)
    def counting_call(self, *args, **kwargs):
        calls.append(args[0].shape[0] if args else None)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SynthesisNetwork, "call", counting_call)
    return calls


def test_generate_equals_the_eager_call():
    g = make_generator(channels=3)
    z = np.random.RandomState(5).randn(3, g.z_dim).astype("float32")
    for psi, noise_mode in ((1.0, "const"), (0.6, "none")):
        eager = ops.convert_to_numpy(g(z, psi=psi, noise_mode=noise_mode))
        fast = sampling.generate(g, z, psi=psi, noise_mode=noise_mode, batch_size=2)
        assert fast.dtype == np.float32 and fast.shape == eager.shape
        assert np.max(np.abs(fast - eager)) <= 1e-5 * np.std(eager)
    with pytest.raises(ValueError, match=r"`z` must have shape \[N, 16\]"):
        sampling.generate(g, z[:, :3])


def test_sampling_traces_once_whatever_the_psi_and_batch(traces):
    g = make_generator()
    first = sampling.generate_images(g, "0-11", psi=0.7, batch_size=2)  # 6 batches
    assert len(traces) == 1, traces
    sampling.generate_images(g, "0-11", psi=0.3, batch_size=2)  # psi lives in the mapping: no new trace
    sampling.style_mixing_grid(g, "1,2", "3,4", styles="0-1", batch_size=2)
    sampling.interpolate(g, "1,2,3", frames=6, space="w", batch_size=2)
    assert len(traces) == 1, traces
    # A second batch size traces once more, for any batch size; later sizes reuse it.
    again = sampling.generate_images(g, "0-11", psi=0.7, batch_size=5)  # 5, 5, 2
    sampling.generate_images(g, "0-11", psi=0.7, batch_size=12)
    sampling.noise_figure(g, seed=3, num_draws=2)
    assert len(traces) <= 3, traces
    # Other batch sizes run other convolution kernels: a float a hair from a rounding edge may land
    # one uint8 step away (seen once in CI: 1 pixel of 12,288), anything more is a real difference.
    difference = np.abs(first.astype(int) - again.astype(int))
    assert difference.max() <= 1 and np.mean(difference > 0) < 1e-3


def test_the_cli_compiles_once_per_run(tmp_path, traces):
    preset = save_preset(tmp_path / "tiny", make_generator())
    for batch, psi in ((2, 0.5), (3, 0.9)):
        traces.clear()
        result = CliRunner().invoke(cli, ["sample", "--model", str(preset), "--seeds", "0-11", "--batch", str(batch),
                                          "--psi", str(psi), "--out", str(tmp_path / f"grid{batch}.png")])
        assert result.exit_code == 0, result.output
        assert len(traces) <= 2, traces  # 6 or 4 batches of --batch, then (--batch 3) none left over
    traces.clear()
    result = CliRunner().invoke(cli, ["interpolate", "--model", str(preset), "--seeds", "1,2", "--frames", "8",
                                      "--batch", "2", "--out", str(tmp_path / "walk.gif")])
    assert result.exit_code == 0, result.output
    assert len(traces) == 1, traces


def test_metrics_paths_are_compiled(traces):
    g = make_generator(channels=3)
    images = list(_generated_batches(g, num_images=8, batch_size=2, seed=0, progress=False))
    assert len(images) == 4 and len(traces) == 1, traces
    traces.clear()
    squared = lambda a, b: np.sum((np.asarray(a) - np.asarray(b)) ** 2, axis=(1, 2, 3))  # noqa: E731
    perceptual_path_length(g, num_samples=8, batch_size=2, distance=squared)
    assert len(traces) == 1, traces  # 4 batches of 2 paths (4 images each): one shape


def test_a_compiled_function_outlives_its_generator_and_the_cache_does_not_keep_it():
    import gc
    import weakref

    g = make_generator(channels=3)
    ws = sampling.map_seeds(g, [0, 1])
    expected = ops.convert_to_numpy(g.synthesis(ws, noise_mode="const"))
    synthesis = sampling.compiled_synthesis(g)
    network = weakref.ref(g.synthesis)
    del g
    gc.collect()
    np.testing.assert_allclose(synthesis(ws), expected, atol=1e-5 * np.std(expected))
    del synthesis
    gc.collect()
    assert network() is None
