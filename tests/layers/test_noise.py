"""NoiseInjection: identity without noise, x + noise_const * strength, fresh random noise."""
import numpy as np
import pytest

from keras_stylegan.layers import NoiseInjection
from test_case import randn, run_layer_test


def built(per_channel, x, seed=3):
    layer = NoiseInjection(per_channel=per_channel, seed=seed)
    layer(x, noise_mode="none")
    strength = randn(x.shape[-1], seed=1) if per_channel else np.float32(0.7)
    layer.noise_strength.assign(strength)
    return layer, np.asarray(strength, np.float64)


@pytest.mark.parametrize("per_channel", [False, True])
def test_none_mode_is_identity(per_channel):
    x = randn(2, 4, 4, 3)
    layer, _ = built(per_channel, x)
    np.testing.assert_array_equal(np.asarray(layer(x, noise_mode="none")), x)


@pytest.mark.parametrize("per_channel", [False, True])
def test_const_mode_adds_the_stored_map_times_strength(per_channel):
    x = randn(2, 4, 5, 3)
    layer, strength = built(per_channel, x)
    noise_const = layer.noise_const.numpy()
    assert noise_const.shape == (4, 5) and noise_const.std() > 0
    expected = x + noise_const[None, :, :, None] * strength
    first = np.asarray(layer(x, noise_mode="const"))
    np.testing.assert_allclose(first, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(layer(x, noise_mode="const")), first)


@pytest.mark.parametrize("per_channel", [False, True])
def test_random_mode_draws_fresh_single_channel_noise(per_channel):
    x = randn(2, 4, 4, 3)
    layer, strength = built(per_channel, x)
    first = (np.asarray(layer(x)) - x) / strength
    second = (np.asarray(layer(x)) - x) / strength
    assert not np.allclose(first, second)
    assert not np.allclose(first[0], first[1])  # each sample gets its own map
    np.testing.assert_allclose(first, np.repeat(first[..., :1], 3, axis=-1), rtol=1e-4, atol=1e-5)
    assert 0.5 < first.std() < 1.5


@pytest.mark.parametrize("per_channel", [False, True])
def test_explicit_noise_is_added_instead_of_a_draw(per_channel):
    x = randn(2, 4, 4, 3)
    layer, strength = built(per_channel, x)
    noise = randn(2, 4, 4, 1, seed=5)
    for mode in ("random", "const"):
        np.testing.assert_allclose(np.asarray(layer(x, noise_mode=mode, noise=noise)), x + noise * strength,
                                   rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(layer(x, noise_mode="none", noise=noise)), x)


def test_default_strength_is_zero():
    x = randn(1, 4, 4, 2)
    np.testing.assert_array_equal(np.asarray(NoiseInjection()(x)), x)


def test_invalid_mode_is_named():
    x = randn(1, 4, 4, 2)
    with pytest.raises(ValueError, match="'bogus'"):
        NoiseInjection()(x, noise_mode="bogus")


@pytest.mark.parametrize("per_channel", [False, True])
def test_noise_layer_contract(per_channel):
    layer = run_layer_test(NoiseInjection, dict(per_channel=per_channel, seed=5), randn(2, 4, 4, 3), (2, 4, 4, 3),
                           call_kwargs=dict(noise_mode="const"))
    assert layer.noise_strength.shape == ((3,) if per_channel else ())
    assert not layer.noise_const.trainable


def test_stored_noise_and_strength_survive_a_keras_file(tmp_path):
    import keras

    x = randn(2, 4, 4, 3)
    inputs = keras.Input(shape=(4, 4, 3))
    layer = NoiseInjection(per_channel=True, seed=1)
    model = keras.Model(inputs, layer(inputs, noise_mode="const"))
    layer.noise_strength.assign(randn(3, seed=2))
    expected = x + layer.noise_const.numpy()[None, :, :, None] * layer.noise_strength.numpy()
    model.save(tmp_path / "noise.keras")
    loaded = keras.saving.load_model(tmp_path / "noise.keras")
    np.testing.assert_allclose(np.asarray(loaded(x)), expected, rtol=1e-6, atol=1e-6)
