"""GAN losses as pure functions of discriminator logits and gradients, per sample.

Each returns a `[N]` tensor; the trainer scales by the global batch. Formulas follow
NVIDIA's StyleGAN/StyleGAN2 `loss.py`: non-saturating logistic with R1 (Mescheder et al.
2018), WGAN-GP with the ProGAN epsilon drift term (Gulrajani et al. 2017; Karras et al.
2018), and the StyleGAN2 path-length penalty. `r3gan` is the relativistic pairing loss with
R1 on reals and R2 on fakes (Huang et al. 2024, "The GAN is dead; long live the GAN!").
"""
import tensorflow as tf

LOSSES = ("logistic", "wgan-gp", "r3gan")


def logistic_g_loss(fake_logits):
    """Non-saturating generator loss `softplus(-D(G(z)))`."""
    return tf.nn.softplus(-flat_scores(fake_logits))


def logistic_d_loss(real_logits, fake_logits):
    """Discriminator loss `softplus(D(G(z))) + softplus(-D(x))`."""
    return tf.nn.softplus(flat_scores(fake_logits)) + tf.nn.softplus(-flat_scores(real_logits))


def r1_penalty(real_grads):
    """Squared gradient norm of D at the reals, `|grad D(x)|^2` (multiply by gamma / 2).

    The same formula at the fakes is R3GAN's R2 (`r2_penalty`).
    """
    return tf.reduce_sum(tf.square(real_grads), axis=list(range(1, len(real_grads.shape))))


def r2_penalty(fake_grads):
    """Squared gradient norm of D at the fakes, `|grad D(G(z))|^2` (multiply by gamma / 2)."""
    return r1_penalty(fake_grads)


def relativistic_d_loss(real_logits, fake_logits):
    """Relativistic pairing discriminator loss `softplus(-(D(x) - D(G(z))))`, real i paired with fake i."""
    return tf.nn.softplus(flat_scores(fake_logits) - flat_scores(real_logits))


def relativistic_g_loss(fake_logits, real_logits):
    """Relativistic pairing generator loss `softplus(-(D(G(z)) - D(x)))`, fake i paired with real i."""
    return tf.nn.softplus(flat_scores(real_logits) - flat_scores(fake_logits))


def wgan_g_loss(fake_logits):
    """Wasserstein generator loss `-D(G(z))`."""
    return -flat_scores(fake_logits)


def wgan_d_loss(real_logits, fake_logits, drift=0.001):
    """Wasserstein critic loss `D(G(z)) - D(x) + drift * D(x)^2` (ProGAN's epsilon drift)."""
    real_logits = flat_scores(real_logits)
    return flat_scores(fake_logits) - real_logits + drift * tf.square(real_logits)


def gradient_penalty(mixed_grads, target=1.0):
    """WGAN-GP `(|grad D(x_hat)| - target)^2 / target^2` at random interpolates (multiply by lambda)."""
    norms = tf.sqrt(r1_penalty(mixed_grads) + 1e-8)
    return tf.square(norms - target) / (target ** 2)


def path_lengths(ws_grads):
    """Per-sample path length `sqrt(mean over layers of |J^T y|^2)` from the grads wrt ws `[N, L, w_dim]`."""
    return tf.sqrt(tf.reduce_mean(tf.reduce_sum(tf.square(ws_grads), axis=2), axis=1))


def flat_scores(logits):
    """Discriminator scores as a float32 vector (one per image), whatever the logits' shape and dtype."""
    return tf.reshape(tf.cast(logits, tf.float32), [-1])


def mode_seeking_penalty(fakes, z):
    """Mode-seeking term (Mao et al. 2019, MSGAN): `mean|z_i - z_j| / mean|G(z_i) - G(z_j)|` for each
    pair (k, k + N // 2) of the batch, per pair `[N // 2]`. Small when different latents give different
    images; it grows without bound as the generator stops depending on its latent (mode collapse).
    A conditional trainer gives both halves the same labels (MSGAN compares two latents of one
    condition); with `class_groups` the halves hold the same classes already (`MinibatchStdDev`
    groups sample i with i + N / G)."""
    half = tf.shape(fakes)[0] // 2
    image_distance = tf.reduce_mean(tf.abs(fakes[:half] - fakes[half:2 * half]), axis=[1, 2, 3])
    latent_distance = tf.reduce_mean(tf.abs(z[:half] - z[half:2 * half]), axis=1)
    return latent_distance / (image_distance + 1e-5)
