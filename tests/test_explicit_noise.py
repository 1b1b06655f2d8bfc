"""Noise maps are passed explicitly (`noise=`), never swapped into the stored `noise_const` and restored."""
import numpy as np
import pytest

from keras_stylegan import Generator
from keras_stylegan.metrics.evaluate import _generated_batches
from keras_stylegan.networks.synthesis import noise_layers_by_block, synthesis_noise_layers
from keras_stylegan.sampling import compiled_synthesis, generate, map_seeds, noise_variation, to_uint8

TINY = dict(resolution=16, z_dim=8, w_dim=8, channel_base=64, channel_max=8, mapping_layers=1)


def _noisy_generator():
    g = Generator(**TINY)
    for layer in synthesis_noise_layers(g):  # noise strengths start at zero: make noise visible
        layer.noise_strength.assign(np.ones(layer.noise_strength.shape, "float32"))
    return g


@pytest.fixture(scope="module")
def generator():
    return _noisy_generator()


def _stored(g):
    return [np.array(layer.noise_const.numpy()) for layer in synthesis_noise_layers(g)]


def test_generate_with_the_stored_maps_equals_const_and_other_maps_differ(generator):
    z = np.random.RandomState(0).randn(3, 8).astype("float32")
    const = generate(generator, z, noise_mode="const", batch_size=2)
    stored = [m[None, :, :, None] for m in _stored(generator)]
    np.testing.assert_allclose(generate(generator, z, noise=stored, batch_size=2), const, atol=1e-5)
    zeros = [np.zeros_like(m) for m in stored]
    np.testing.assert_allclose(generate(generator, z, noise=zeros, batch_size=2),
                               generate(generator, z, noise_mode="none", batch_size=2), atol=1e-5)
    per_image = [np.random.RandomState(1).randn(3, *m.shape[1:]).astype("float32") for m in stored]
    with_maps = generate(generator, z, noise=per_image, batch_size=2)  # [N, H, W, 1] maps, sliced per batch
    assert np.abs(with_maps - const).max() > 0.01
    np.testing.assert_allclose(with_maps[2:], generate(generator, z[2:], noise=[m[2:] for m in per_image]),
                               atol=1e-5)
    with pytest.raises(ValueError, match="`noise` maps"):
        generate(generator, z, noise=[m[:, :, :, 0] for m in stored])


def test_noise_variation_passes_its_maps_and_leaves_the_stored_ones(generator):
    before = _stored(generator)
    images, _ = noise_variation(generator, seed=5, num_draws=2, block="b8", hold="none")
    for old, new in zip(before, _stored(generator)):
        np.testing.assert_array_equal(old, new)
    # The reference: b8's maps drawn from RandomState(5) after z, every other block's maps zero.
    rng = np.random.RandomState(5)
    rng.randn(1, 8)
    blocks = noise_layers_by_block(generator)
    ws = map_seeds(generator, [5])
    for image in images:
        maps = [rng.randn(*layer.noise_const.shape).astype("float32") if i == 1 else
                np.zeros(layer.noise_const.shape, "float32") for i, layers in enumerate(blocks) for layer in layers]
        expected = to_uint8(compiled_synthesis(generator)(ws, [m[None, :, :, None] for m in maps]))[0]
        assert np.abs(image.astype(int) - expected.astype(int)).max() <= 1


def test_metrics_batches_repeat_and_leave_the_stored_maps(generator):
    before = _stored(generator)
    first = np.concatenate(list(_generated_batches(generator, 6, 4, seed=3, progress=False)))
    again = np.concatenate(list(_generated_batches(generator, 6, 4, seed=3, progress=False)))
    np.testing.assert_array_equal(first, again)
    for old, new in zip(before, _stored(generator)):
        np.testing.assert_array_equal(old, new)
    const = to_uint8(generate(generator, np.random.default_rng(3).standard_normal([4, 8]).astype("float32")))
    assert np.abs(first[:4].astype(int) - const.astype(int)).max() > 2  # fresh maps, not the stored ones


def test_metrics_batches_draw_a_noise_map_per_image():
    g = _noisy_generator()  # not the shared fixture: its mapping is zeroed here
    for weight in g.mapping.weights:  # every z maps to the same w: only the noise tells images apart
        weight.assign(np.zeros(weight.shape, "float32"))
    images = next(_generated_batches(g, 4, 4, seed=3, progress=False)).astype(int)
    assert all(np.abs(images[0] - image).max() > 2 for image in images[1:])
