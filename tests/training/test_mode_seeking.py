"""MSGAN's mode-seeking term: its formula, and that it reaches the generator's update."""
import numpy as np
import pytest
import tensorflow as tf

from keras_stylegan import Discriminator, Generator
from keras_stylegan.training import losses
from keras_stylegan.training.config import ConfigError, TrainingConfig
from keras_stylegan.training.stylegan import StyleGAN, _halves_to_pairs, _pairs_to_halves


def test_penalty_is_msgans_ratio_per_pair():
    rng = np.random.RandomState(0)
    fakes, z = rng.randn(6, 4, 4, 2).astype("float32"), rng.randn(6, 5).astype("float32")
    expected = [np.abs(z[i] - z[i + 3]).mean() / (np.abs(fakes[i] - fakes[i + 3]).mean() + 1e-5) for i in (0, 1, 2)]
    np.testing.assert_allclose(losses.mode_seeking_penalty(tf.constant(fakes), tf.constant(z)), expected, rtol=1e-5)
    # A generator that ignores its latent is penalized far more than one that follows it.
    same = np.repeat(fakes[:1], 6, axis=0) + 1e-3 * rng.randn(6, 4, 4, 2).astype("float32")
    assert np.mean(losses.mode_seeking_penalty(same, z)) > 100 * np.mean(losses.mode_seeking_penalty(fakes, z))


def _gan(weight):
    net = dict(resolution=8, channels=1, channel_base=32, channel_max=8)
    g = Generator(z_dim=8, w_dim=8, mapping_layers=1, **net)
    d = Discriminator(**net)
    gan = StyleGAN(g, d, mode_seeking_weight=weight, pl_weight=0.0, style_mixing_prob=0.0, seed=3)
    gan.compile()
    return gan


def test_the_term_changes_only_the_generators_update():
    reals = np.random.RandomState(1).uniform(-1, 1, [4, 8, 8, 1]).astype("float32")
    results = []
    for weight in (0.0, 1.0):
        tf.keras.utils.set_random_seed(0)
        gan = _gan(weight)
        gan.train_on_batch(reals)
        results.append(([w.numpy() for w in gan.generator.trainable_weights],
                         [w.numpy() for w in gan.discriminator.trainable_weights]))
    (g0, d0), (g1, d1) = results
    assert all(np.array_equal(a, b) for a, b in zip(d0, d1))  # D's step comes first: untouched
    assert any(not np.allclose(a, b) for a, b in zip(g0, g1))
    assert StyleGAN.from_config(_gan(0.5).get_config()).mode_seeking_weight == 0.5


def test_bad_weights_are_refused():
    with pytest.raises(ValueError, match="mode_seeking_weight"):
        _gan(float("nan"))
    with pytest.raises(ConfigError, match="mode_seeking_weight"):
        TrainingConfig(mode_seeking_weight=-1.0)
    assert TrainingConfig(cfg="auto").resolve((32, 32)).mode_seeking_weight == 0.0


def test_conditional_pairs_share_their_class():
    net = dict(resolution=8, channels=1, channel_base=32, channel_max=8, num_classes=5)
    gan = StyleGAN(Generator(z_dim=8, w_dim=8, mapping_layers=1, **net), Discriminator(**net),
                   mode_seeking_weight=1.0, pl_weight=0.0, style_mixing_prob=0.0, seed=3)
    gan.compile(run_eagerly=True)
    generated, judged = [], []
    generate, discriminate = gan._generate, gan._discriminate

    def recording_generate(z, labels, *args, **kwargs):
        generated.append(np.asarray(labels))
        return generate(z, labels, *args, **kwargs)

    def recording_discriminate(images, labels, *args, **kwargs):
        judged.append(np.asarray(labels))
        return discriminate(images, labels, *args, **kwargs)

    gan._generate, gan._discriminate = recording_generate, recording_discriminate
    reals = np.random.RandomState(1).uniform(-1, 1, [8, 8, 8, 1]).astype("float32")
    gan.train_on_batch(reals, np.array([0, 1, 2, 3, 4, 0, 1, 2]))
    np.testing.assert_array_equal(generated[0], [0, 1, 2, 3, 4, 0, 1, 2])  # D's fakes carry the batch's labels
    np.testing.assert_array_equal(generated[-1], [0, 0, 1, 1, 2, 2, 3, 3])  # G draws pairs as neighbours
    np.testing.assert_array_equal(judged[-1], [0, 1, 2, 3, 0, 1, 2, 3])  # ...that D sees as (k, k + 4)


def test_pair_orders_are_inverse():
    x = tf.reshape(tf.range(14), [7, 2])
    halves = _pairs_to_halves(x, 3)
    np.testing.assert_array_equal(halves[:, 0], [0, 4, 8, 2, 6, 10, 12])  # pairs (0,2),(4,6),(8,10); 12 stays last
    np.testing.assert_array_equal(_halves_to_pairs(halves, 3), x)
