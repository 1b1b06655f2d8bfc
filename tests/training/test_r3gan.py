"""The `r3gan` loss (relativistic pairing + R1 + R2, Huang et al. 2024) against NumPy references:
the pure functions, R3GAN's gamma schedule, and one whole train step with a linear discriminator,
whose gradients and penalties have a closed form."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_stylegan import Discriminator, Generator
from keras_stylegan.training import losses
from keras_stylegan.training.schedule import cosine_decay
from keras_stylegan.training.stylegan import _Z_D, _Z_G, _Z_MIX, R3GAN_GAMMA_DECAY_KIMG, StyleGAN

TINY_G = dict(resolution=8, channels=2, z_dim=8, w_dim=8, channel_base=32, channel_max=8, mapping_layers=1)


def softplus(x):
    return np.logaddexp(0.0, x)


def test_relativistic_losses_and_penalties_match_formulas():
    rng = np.random.RandomState(0)
    real, fake = rng.randn(5, 1).astype("float32") * 3, rng.randn(5, 1).astype("float32") * 3
    # D: softplus(-(D(x_i) - D(G(z_i)))); G: softplus(-(D(G(z_i)) - D(x_i))), pair by pair.
    np.testing.assert_allclose(losses.relativistic_d_loss(real, fake), softplus(-(real - fake))[:, 0], rtol=1e-6)
    np.testing.assert_allclose(losses.relativistic_g_loss(fake, real), softplus(-(fake - real))[:, 0], rtol=1e-6)
    # Only the difference matters: D's offset is free under this loss.
    np.testing.assert_allclose(losses.relativistic_d_loss(real + 7, fake + 7), losses.relativistic_d_loss(real, fake),
                               rtol=1e-5)
    grads = rng.randn(5, 4, 4, 3).astype("float32")
    np.testing.assert_allclose(losses.r2_penalty(grads), (grads ** 2).sum(axis=(1, 2, 3)), rtol=1e-5)


def r3gan_cosine_decay(cur_nimg, base_value, total_nimg, final_value):
    """R3GAN's `cosine_decay_with_warmup` (no warmup, no hold), written out from its formula."""
    decay = 0.5 * (1 + np.cos(np.pi * cur_nimg / float(total_nimg)))
    value = base_value + (1 - decay) * (final_value - base_value)
    return final_value if cur_nimg > total_nimg else value


def test_gamma_schedule_is_r3gans_cosine():
    for nimg in (0, 1, 12_345, 5_000_000, 10_000_000, 19_999_999, 20_000_000, 30_000_000):
        expected = r3gan_cosine_decay(nimg, 2.0, R3GAN_GAMMA_DECAY_KIMG * 1000, 0.2)
        assert float(cosine_decay(nimg, 2.0, 0.2, R3GAN_GAMMA_DECAY_KIMG)) == pytest.approx(expected, rel=1e-6), nimg
    gan = StyleGAN(Generator(**TINY_G), Discriminator(resolution=8, channels=2, channel_base=32, channel_max=8),
                   loss="r3gan", r1_gamma=0.5, gamma_decay_kimg=1.0)
    assert float(gan.r3gan_gamma(500)) == pytest.approx(0.5 * (0.1 + 0.9 * 0.5))
    assert float(gan.r3gan_gamma(10 ** 6)) == pytest.approx(0.05)


class LinearCritic(keras.Model):
    """D(x) = <w, x> + b: grad_x D = w for every image, so R1 = R2 = |w|^2 and the gradients are closed-form."""

    def __init__(self, resolution=8, channels=2, bias=0.0, **kwargs):
        super().__init__(**kwargs)
        self.resolution, self.channels, self.architecture, self.num_classes = (resolution, resolution), channels, \
            "stylegan2", 0
        self.w = self.add_weight(shape=(resolution, resolution, channels), name="w",
                                 initializer=keras.initializers.RandomNormal(stddev=0.1, seed=3))
        self.b = self.add_weight(shape=(), name="b", initializer=keras.initializers.Constant(bias))

    def call(self, images, labels=None, lod=None, min_lod=0):
        return tf.reduce_sum(images * self.w, axis=[1, 2, 3])[:, None] + self.b


def linear_gan(loss, gamma, interval, bias=0.0, augment="none"):
    gan = StyleGAN(Generator(**TINY_G), LinearCritic(bias=bias), loss=loss, r1_gamma=gamma, r1_interval=interval,
                   pl_weight=0.0, style_mixing_prob=0.0, train_noise_mode="const", augment=augment, seed=5)
    # Plain SGD at lr 1: D's update is minus its gradient; G stays put.
    gan.compile(d_optimizer=keras.optimizers.SGD(1.0), g_optimizer=keras.optimizers.SGD(0.0), run_eagerly=True)
    return gan


def step_fakes(gan, batch):
    """The fakes the first train step draws for D and for G (the same seeds, computed before the step)."""
    lod = gan.lod()
    d_fakes, _ = gan._generate(gan._global_normal(batch, [gan.generator.z_dim], _Z_D), None, lod, _Z_MIX)
    g_fakes, _ = gan._generate(gan._global_normal(batch, [gan.generator.z_dim], _Z_G), None, lod, _Z_MIX + 8)
    return d_fakes.numpy().reshape(batch, -1).astype("float64"), g_fakes.numpy().reshape(batch, -1).astype("float64")


@pytest.mark.parametrize("loss,interval", [("r3gan", 1), ("r3gan", 4), ("logistic", 4)])
def test_one_step_matches_the_closed_form_of_a_linear_discriminator(loss, interval):
    gamma = 0.3
    gan = linear_gan(loss, gamma, interval)
    reals = np.random.RandomState(1).uniform(-1, 1, [4, 8, 8, 2]).astype("float32")
    d_fakes, g_fakes = step_fakes(gan, 4)
    x = reals.reshape(4, -1).astype("float64")
    w0, b0 = gan.discriminator.w.numpy().reshape(-1).astype("float64"), float(gan.discriminator.b.numpy())

    history = gan.fit(reals, batch_size=4, epochs=1, verbose=0, shuffle=False).history

    real, fake = x @ w0 + b0, d_fakes @ w0 + b0
    norm2 = float(w0 @ w0)  # |grad_x D|^2 at every image
    sigmoid = lambda t: 1 / (1 + np.exp(-t))  # noqa: E731  d softplus(t) / dt
    if loss == "r3gan":
        # mean_i softplus(-(D(x_i) - D(f_i))) + gamma/2 * (R1 + R2) * interval (lazy: step 0 regularizes)
        d_loss = softplus(-(real - fake)).mean() + gamma / 2 * 2 * norm2 * interval
        grad_w = (-sigmoid(-(real - fake))[:, None] * (x - d_fakes)).mean(0) + gamma * 2 * w0 * interval
        grad_b = 0.0  # the offset cancels in every pair
    else:
        d_loss = (softplus(fake) + softplus(-real)).mean() + gamma / 2 * norm2 * interval
        grad_w = (sigmoid(fake)[:, None] * d_fakes - sigmoid(-real)[:, None] * x).mean(0) + gamma * w0 * interval
        grad_b = (sigmoid(fake) - sigmoid(-real)).mean()
    assert history["d_loss"][0] == pytest.approx(d_loss, rel=1e-4)
    assert history["r1"][0] == pytest.approx(norm2, rel=1e-4)
    np.testing.assert_allclose(gan.discriminator.w.numpy().reshape(-1), w0 - grad_w, rtol=1e-4, atol=1e-6)
    assert float(gan.discriminator.b.numpy()) == pytest.approx(b0 - grad_b, abs=1e-6)
    # G's loss is scored by the updated D, each fake paired with the real of the same index.
    w1, b1 = gan.discriminator.w.numpy().reshape(-1).astype("float64"), float(gan.discriminator.b.numpy())
    gen, paired = g_fakes @ w1 + b1, x @ w1 + b1
    g_loss = softplus(-(gen - paired)).mean() if loss == "r3gan" else softplus(-gen).mean()
    assert history["g_loss"][0] == pytest.approx(g_loss, rel=1e-4)
    if loss == "r3gan":
        assert history["r2"][0] == pytest.approx(norm2, rel=1e-4)
        assert history["gamma"][0] == pytest.approx(gamma, rel=1e-6)  # 20 M images to decay: still the start
        assert float(gan.d_optimizer.learning_rate) == 1.0  # a given optimizer is left alone


def test_ada_reads_the_relativistic_sign_with_r3gan():
    # D(x) < 0 everywhere (bias -100): the logistic heuristic would see all reals as "fake"; R3GAN's
    # signal is the sign of D(x_i) - D(f_i), which the offset does not move.
    gan = linear_gan("r3gan", 0.0, 1, bias=-100.0, augment="ada")
    d_fakes, _ = step_fakes(gan, 4)
    w0 = gan.discriminator.w.numpy().reshape(-1).astype("float64")
    # Reals built from the step's fakes: three score above their fake, one below, whatever the weights.
    signs = np.array([1.0, -1.0, 1.0, 1.0])
    reals = (d_fakes + signs[:, None] * 0.5 * w0 / (w0 @ w0)).reshape(4, 8, 8, 2).astype("float32")
    gan.fit(reals, batch_size=4, epochs=1, verbose=0, shuffle=False)
    assert gan.ada_stats.numpy()[0] == pytest.approx(signs.sum()) and gan.ada_stats.numpy()[1] == 4


def test_r3gan_trains_with_our_stylegan2_networks():
    g = Generator(**TINY_G)
    d = Discriminator(resolution=8, channels=2, channel_base=32, channel_max=8)
    gan = StyleGAN(g, d, loss="r3gan", r1_gamma=1.0, r1_interval=2, augment="ada", augment_p=0.2)
    gan.compile(run_eagerly=True)  # a few steps: cheaper than tracing (the CLI test runs the compiled step)
    # Lazy R1 + R2 every 2 steps: NVIDIA's Adam correction for D, as the logistic loss's lazy R1.
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(0.0025 * 2 / 3)
    x = np.random.RandomState(0).uniform(-1, 1, [8, 8, 8, 2]).astype("float32")
    before = [v.numpy().copy() for v in d.trainable_variables + g.trainable_variables]
    history = gan.fit(x, batch_size=4, epochs=1, verbose=0).history  # 2 steps: R1 + R2 on the first
    for name in ("g_loss", "d_loss", "r1", "r2", "gamma", "real_score", "fake_score"):
        assert np.isfinite(history[name]).all(), name
    assert min(history[name][0] for name in ("g_loss", "d_loss", "r1", "r2", "gamma")) > 0
    after = [v.numpy() for v in d.trainable_variables + g.trainable_variables]
    assert sum(not np.array_equal(a, b) for a, b in zip(before, after)) > len(before) // 2
    assert StyleGAN.from_config(gan.get_config()).loss == "r3gan"
