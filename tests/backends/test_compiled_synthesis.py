"""`compiled_synthesis` (the sampling functions' compiled path) on the suite's backend.

The JAX and PyTorch versions are checked against TensorFlow by `test_backend_parity.py`.
"""
import numpy as np
import pytest
from keras import ops

from keras_stylegan import Generator
from keras_stylegan.sampling import compiled_synthesis, map_seeds


@pytest.fixture(scope="module")
def generator():
    return Generator(resolution=8, z_dim=8, w_dim=8, channel_base=32, channel_max=8, mapping_layers=1)


def test_compiled_equals_eager(generator):
    ws = map_seeds(generator, [0, 1], psi=0.7)
    expected = ops.convert_to_numpy(generator.synthesis(ws, noise_mode="const"))
    got = compiled_synthesis(generator)(ws)
    assert isinstance(got, np.ndarray) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_compiled_function_sees_later_weight_changes(generator):
    """Weights and stored noise maps are read at each call, not frozen when compiling."""
    ws = map_seeds(generator, [0])
    synthesis = compiled_synthesis(generator, noise_mode="const")
    before = synthesis(ws)
    torgb, = [v for v in generator.synthesis.weights if v.path.endswith("b8/torgb/bias")]  # added to the image
    old = ops.convert_to_numpy(torgb)
    try:
        torgb.assign(old + 1.0)
        after = synthesis(ws)
    finally:
        torgb.assign(old)
    np.testing.assert_allclose(after, before + 1.0, rtol=1e-5, atol=1e-5)


def test_rejects_unknown_noise_mode(generator):
    with pytest.raises(ValueError, match="noise_mode"):
        compiled_synthesis(generator, noise_mode="fresh")
