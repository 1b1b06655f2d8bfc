"""`StyleGAN`: a `keras.Model` whose `train_step` trains a generator against a discriminator.

One compiled step serves every stage of training: the level of detail (progressive
growing), lazy regularization and the ADA probability are functions of counters kept in
variables, so `fit()` can be called again, or resumed from a checkpoint, and carry on.
Under a `tf.distribute` strategy each replica scales its losses by the global batch, so
the summed gradients are those of the global-batch mean (what NVIDIA's multi-GPU code does).
"""
import math

import keras
import tensorflow as tf

from keras_stylegan.layers.filtered_lrelu import upfirdn2d_tensor
from keras_stylegan.layers.noise import check_noise_mode, noise_layers
from keras_stylegan.layers.serialization import register
from keras_stylegan.networks.common import check_choice
from keras_stylegan.networks.synthesis import noise_layers_by_block
from keras_stylegan.training import losses
from keras_stylegan.training.backend_check import check_training_backend
from keras_stylegan.training.config import BLUR_FADE_KIMG, STYLEGAN3_R_BLUR_SIGMA
from keras_stylegan.training.schedule import Schedule, cosine_decay, ema_beta
from keras_stylegan.utils.checks import check_finite_number

AUGMENT_MODES = ("none", "fixed", "ada")
DEFAULT_LEARNING_RATE = {"stylegan": 0.001, "stylegan2": 0.0025, "stylegan3": 0.0025}
# NVIDIA's stylegan3 train.py: D learns at 0.002 while G (StyleGAN3) learns at 0.0025.
DEFAULT_D_LEARNING_RATE = {"stylegan3": 0.002}
# R3GAN's gamma schedule (brownvc/R3GAN train.py, every preset): a cosine from gamma to gamma / 10
# over 20 M images (200 M for ImageNet).
R3GAN_GAMMA_DECAY_KIMG = 20_000.0
R3GAN_GAMMA_FINAL_RATIO = 0.1
# Salts separating the random streams drawn in one step.
_Z_D, _Z_G, _Z_MIX, _MIX, _PL, _AUG_REAL, _AUG_FAKE, _GP, _PL_NOISE = range(9)


def _zero_if_none(grads, variables):
    return [tf.zeros(v.shape, v.dtype) if g is None else g for g, v in zip(grads, variables)]


def finite_gradients(grads):
    """NVIDIA's `nan_to_num` of every gradient before the optimizer step: NaN -> 0, +-Inf -> +-1e5.
    Finite values pass unchanged; float16 blocks train without loss scaling thanks to it."""
    cleaned = []
    for g in grads:
        g = tf.where(tf.math.is_nan(g), tf.zeros_like(g), g)
        cleaned.append(tf.where(tf.math.is_inf(g), tf.sign(g) * 1e5, g))
    return cleaned


def _pairs_to_halves(x, half):
    """Reorders a batch so its pairs (2k, 2k + 1) become (k, k + half); anything past 2 * half stays last."""
    return tf.concat([x[0:2 * half:2], x[1:2 * half:2], x[2 * half:]], axis=0)


def _halves_to_pairs(x, half):
    """The inverse of `_pairs_to_halves`: (k, k + half) become neighbours (2k, 2k + 1)."""
    pairs = tf.reshape(tf.stack([x[:half], x[half:2 * half]], axis=1), tf.concat([[2 * half], tf.shape(x)[1:]], 0))
    return tf.concat([pairs, x[2 * half:]], axis=0)


def _replica_context():
    ctx = tf.distribute.get_replica_context()
    return ctx, (ctx.num_replicas_in_sync if ctx is not None else 1)


def _replica_mean(value):
    ctx, replicas = _replica_context()
    return ctx.all_reduce("mean", value) if replicas > 1 else value


def _replica_sum(value):
    ctx, replicas = _replica_context()
    return ctx.all_reduce("sum", value) if replicas > 1 else value


def is_multi_worker():
    """Whether the current strategy is a MultiWorkerMirroredStrategy over more than one worker."""
    strategy = tf.distribute.get_strategy()
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and \
        strategy.num_replicas_in_sync > len(strategy.extended.worker_devices)


def _accepts_pipeline(function):
    import inspect

    try:
        return "pipeline" in inspect.signature(function).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return False


class Latest(keras.metrics.Metric):
    """The last value it was given (a counter's current value, where `Mean` would average a tick)."""

    def __init__(self, name="latest", **kwargs):
        super().__init__(name=name, **kwargs)
        self.value = self.add_variable(shape=(), initializer="zeros", name="value", aggregation="only_first_replica")

    def update_state(self, value, sample_weight=None):
        self.value.assign(tf.cast(value, self.value.dtype))

    def result(self):
        return tf.identity(self.value)

    def reset_state(self):
        self.value.assign(0.0)


@register
class StyleGAN(keras.Model):
    """Trains a StyleGAN, StyleGAN2 or StyleGAN3 generator with `fit()`.

    The train step does one discriminator and one generator update per batch of reals:
    non-saturating logistic loss with R1 (or WGAN-GP with epsilon drift, or R3GAN's
    relativistic pairing loss with R1 and R2), lazy R1 (and R2) every `r1_interval` steps and
    path-length regularization every `pl_interval` steps (StyleGAN2), style-mixing
    regularization, a generator EMA (`generator_ema`, the one to sample from), progressive
    growing with fade-in of G and D (StyleGAN 2019), and adaptive discriminator augmentation
    (ADA). Defaults follow NVIDIA per architecture. A StyleGAN3 generator trains against a
    StyleGAN2 discriminator with NVIDIA's StyleGAN3 recipe: R1 only (no path length, no style
    mixing), its layers' input magnitudes and w_avg tracked on the discriminator pass, and for
    config R a blur of D's inputs that fades out (`blur_sigma`, `blur_fade_kimg`).

    Args:
        generator: a `keras_stylegan.Generator`.
        discriminator: a `keras_stylegan.Discriminator` of the same resolution and channels
            (`architecture="stylegan2"` for a StyleGAN3 generator).
        generator_ema: the EMA copy (default: a clone of `generator`).
        loss: `"logistic"` (non-saturating + R1), `"wgan-gp"`, or `"r3gan"` (relativistic pairing
            `softplus(-(D(x) - D(G(z))))` for D and `softplus(-(D(G(z)) - D(x)))` for G, real i
            paired with fake i, plus R1 on the reals and R2 on the fakes, both `gamma / 2 * |grad|^2`;
            Huang et al. 2024). With `"r3gan"` ADA reads the sign of `D(x) - D(G(z))`: the
            relativistic loss leaves D's offset free, so the sign of `D(x)` alone says nothing.
        r1_gamma: R1 weight gamma (the penalty is `gamma / 2 * |grad|^2`); with `"r3gan"` the
            starting weight of R1 and R2, eased to a tenth over `gamma_decay_kimg`.
        r1_interval: lazy R1 (R1 + R2 with `"r3gan"`) every this many steps (default 16 for
            StyleGAN2, 1 for StyleGAN; R3GAN's paper regularizes every step: 1).
        pl_weight: path-length weight (default 2 for StyleGAN2, 0 = off for StyleGAN and StyleGAN3).
        pl_interval: lazy path-length regularization every this many steps.
        pl_batch_shrink: path-length batch = batch // this.
        pl_decay: decay of the running mean path length.
        style_mixing_prob: probability of mixing two latents in a training batch (default 0.9;
            0 for StyleGAN3).
        ema_kimg: half-life of the generator EMA in thousands of images.
        ema_rampup: cap the EMA half-life to `ema_rampup * images shown` (`None`: off).
        wgan_lambda: gradient-penalty weight for `"wgan-gp"`.
        wgan_drift: epsilon drift for `"wgan-gp"`.
        gamma_decay_kimg: `"r3gan"`: thousands of images over which gamma eases (cosine) from
            `r1_gamma` to `r1_gamma / 10` (R3GAN: 20000).
        lod_initial_resolution: progressive growing starts at this resolution (StyleGAN).
        lod_training_kimg: thousands of images stabilizing each resolution.
        lod_transition_kimg: thousands of images fading each resolution in.
        augment: `"none"`, `"fixed"` (probability `augment_p`) or `"ada"` (adaptive).
        augment_p: (initial) augmentation probability.
        ada_target: ADA's target for `E[sign(D(reals))]`.
        ada_interval: adjust p every this many steps.
        ada_kimg: thousands of images for p to go from 0 to 1.
        augpipe: NVIDIA's augmentation pipeline preset (`"bgc"`, `"blit"`, `"geom"`, `"color"`, ...).
        seed: seed of every random stream of the train step.
        train_noise_mode: the generator's noise inputs while training: `"random"` (NVIDIA; fresh
            maps every pass, drawn for the global batch and sliced per replica, like z) or
            `"const"`/`"none"`.
        schedule: the run's `Schedule` (its growing parameters replace the `lod_*` arguments), so
            the train step and the run loop ask the same object for the level of detail.
        blur_sigma: sigma of the Gaussian blur of every image D sees, at the start (NVIDIA's
            `blur_init_sigma`; default 10 for a StyleGAN3-R generator, else 0 = off).
        blur_fade_kimg: thousands of images over which the blur's sigma falls linearly to 0.

    Example:
    >>> g = Generator(resolution=8, channels=3, z_dim=8, w_dim=8, channel_base=32, channel_max=8, mapping_layers=2)
    >>> d = Discriminator(resolution=8, channels=3, channel_base=32, channel_max=8)
    >>> gan = StyleGAN(g, d)
    >>> gan.compile()
    >>> history = gan.fit(np.zeros([8, 8, 8, 3], "float32"), batch_size=4, epochs=1, verbose=0)
    >>> int(gan.nimg.numpy())
    8
    """

    def __init__(self, generator, discriminator, generator_ema=None, loss="logistic", r1_gamma=10.0,
                 r1_interval=None, pl_weight=None, pl_interval=4, pl_batch_shrink=2, pl_decay=0.01,
                 style_mixing_prob=None, ema_kimg=10.0, ema_rampup=None, wgan_lambda=10.0, wgan_drift=0.001,
                 lod_initial_resolution=8, lod_training_kimg=600.0, lod_transition_kimg=600.0, augment="none",
                 augment_p=0.0, ada_target=0.6, ada_interval=4, ada_kimg=500.0, seed=0, train_noise_mode="random",
                 augpipe="bgc", schedule=None, gamma_decay_kimg=R3GAN_GAMMA_DECAY_KIMG, blur_sigma=None,
                 blur_fade_kimg=BLUR_FADE_KIMG, mode_seeking_weight=0.0, **kwargs):
        check_training_backend()  # train_step is TensorFlow code (GradientTape, tf.distribute)
        super().__init__(**kwargs)
        if tuple(generator.resolution) != tuple(discriminator.resolution) or \
                generator.channels != discriminator.channels:
            raise ValueError(f"generator ({generator.resolution}, {generator.channels} channels) and discriminator "
                             f"({discriminator.resolution}, {discriminator.channels} channels) do not match")
        # NVIDIA trains StyleGAN3 generators against the StyleGAN2 discriminator.
        expected_d = "stylegan2" if generator.architecture == "stylegan3" else generator.architecture
        if discriminator.architecture != expected_d:
            raise ValueError(f"generator is {generator.architecture!r} but discriminator is "
                             f"{discriminator.architecture!r} (expected {expected_d!r})")
        self.generator = generator
        self.discriminator = discriminator
        if generator_ema is None:
            generator_ema = generator.__class__.from_config(generator.get_config())
            generator_ema.set_weights(generator.get_weights())
        self.generator_ema = generator_ema
        self.architecture = generator.architecture
        stylegan2 = self.architecture == "stylegan2"
        self.stylegan3 = self.architecture == "stylegan3"
        self.loss = check_choice("loss", loss, losses.LOSSES)
        self.r1_gamma = float(r1_gamma)
        self.r1_interval = int(r1_interval or (1 if self.architecture == "stylegan" else 16))
        self.pl_weight = float((2.0 if stylegan2 else 0.0) if pl_weight is None else pl_weight)
        self.pl_interval = int(pl_interval)
        self.pl_batch_shrink = int(pl_batch_shrink)
        self.pl_decay = float(pl_decay)
        if style_mixing_prob is None:
            style_mixing_prob = 0.0 if self.stylegan3 else 0.9
        self.style_mixing_prob = float(style_mixing_prob)
        if blur_sigma is None:
            r_config = self.stylegan3 and getattr(generator, "block_architecture", None) == "r"
            blur_sigma = STYLEGAN3_R_BLUR_SIGMA if r_config else 0.0
        self.blur_sigma = float(blur_sigma)
        self.blur_fade_kimg = float(blur_fade_kimg)
        if not (math.isfinite(self.blur_sigma) and self.blur_sigma >= 0):
            raise ValueError(f"`blur_sigma` must be a finite number >= 0. Received: {blur_sigma!r}")
        if not (math.isfinite(self.blur_fade_kimg) and self.blur_fade_kimg > 0):
            raise ValueError(f"`blur_fade_kimg` must be positive. Received: {blur_fade_kimg!r}")
        self.ema_kimg = float(ema_kimg)
        self.ema_rampup = ema_rampup
        self.wgan_lambda = float(wgan_lambda)
        self.mode_seeking_weight = check_finite_number("mode_seeking_weight", mode_seeking_weight, minimum=0)
        self.wgan_drift = float(wgan_drift)
        self.gamma_decay_kimg = float(gamma_decay_kimg)
        if not self.gamma_decay_kimg > 0:
            raise ValueError(f"`gamma_decay_kimg` must be positive. Received: {gamma_decay_kimg!r}")
        if schedule is not None:
            lod_initial_resolution = schedule.lod_initial_resolution
            lod_training_kimg, lod_transition_kimg = schedule.lod_training_kimg, schedule.lod_transition_kimg
        self.lod_initial_resolution = int(lod_initial_resolution)
        self.lod_training_kimg = float(lod_training_kimg)
        self.lod_transition_kimg = float(lod_transition_kimg)
        self.augpipe = str(augpipe)
        self.augment = check_choice("augment", augment, AUGMENT_MODES)
        if not 0.0 <= float(augment_p) <= 1.0:
            raise ValueError(f"`augment_p` must be in [0, 1]. Received: {augment_p!r}")
        self.augment_p = float(augment_p)
        self.ada_target = float(ada_target)
        self.ada_interval = int(ada_interval)
        self.ada_kimg = float(ada_kimg)
        self.seed = int(seed)
        self.train_noise_mode = check_noise_mode(train_noise_mode)
        if self.r1_interval < 1 or self.pl_interval < 1 or self.ada_interval < 1:
            raise ValueError("r1_interval, pl_interval and ada_interval must be >= 1")
        if not self.ada_kimg > 0:
            raise ValueError(f"`ada_kimg` must be positive. Received: {ada_kimg!r}")

        self.progressive = self.architecture == "stylegan"
        self.min_lod = 0  # see set_min_lod
        self.max_lod = getattr(generator.synthesis, "max_lod", 0)  # StyleGAN3 has no levels of detail
        if schedule is None or schedule.progressive != self.progressive:
            schedule = Schedule(generator.resolution, self.progressive, self.lod_initial_resolution,
                                self.lod_training_kimg, self.lod_transition_kimg)
        self.schedule = schedule
        self.initial_lod = schedule.initial_lod
        counter = dict(shape=(), dtype="int64", initializer="zeros", trainable=False)
        # Counters advance identically on every replica; "only_first_replica" keeps them consistent.
        self.nimg = self.add_weight(name="nimg", aggregation="only_first_replica", **counter)
        self.step = self.add_weight(name="step", aggregation="only_first_replica", **counter)
        self.pl_mean = self.add_weight(name="pl_mean", shape=(), initializer="zeros", trainable=False)
        self.p = self.add_weight(name="augment_p", shape=(), initializer=keras.initializers.Constant(self.augment_p),
                                 trainable=False)
        # Sum of sign(D(reals)) and count since the last ADA adjustment.
        self.ada_stats = self.add_weight(name="ada_stats", shape=(2,), initializer="zeros", trainable=False)
        names = ["g_loss", "d_loss", "real_score", "fake_score", "r1", "pl"]
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        # The progress bar and the tick's stats show where training is, not the tick's mean.
        self.trackers.update({name: Latest(name=name) for name in ("lod", "kimg", "augment_p")})
        self._frozen_ids = frozenset()  # ids of the variables of frozen layers (see freeze_layers)
        if self.loss == "r3gan":
            self.trackers.update({"r2": keras.metrics.Mean(name="r2"), "gamma": Latest(name="gamma")})
        self.built = True
        self._build_sublayers()

    def _build_sublayers(self):
        """One symbolic pass of the networks if a sub-layer is unbuilt: under a `tf.distribute`
        strategy, `fit()` would build it by calling this model on a batch of reals (keras#20585)."""
        if all(layer.built for layer in self._flatten_layers()):
            return
        labels = keras.KerasTensor((1,), "int32") if self.generator.num_classes else None
        for g in (self.generator, self.generator_ema):
            g(keras.KerasTensor((1, g.z_dim)), labels=labels)
        self.discriminator(keras.KerasTensor((1, *self.generator.resolution, self.generator.channels)), labels=labels)

    # ---- configuration ------------------------------------------------------------------

    def compile(self, g_optimizer=None, d_optimizer=None, learning_rate=None, d_learning_rate=None, **kwargs):
        """Sets the optimizers (defaults: NVIDIA's Adam, with the lazy-regularization correction).

        Args:
            g_optimizer: generator optimizer (default Adam, lr 0.0025 StyleGAN2 / 0.001 StyleGAN,
                betas (0, 0.99), epsilon 1e-8; with lazy regularization every k steps the lr is
                scaled by `k / (k + 1)` and the betas raised to that power, as NVIDIA: for G
                always with StyleGAN2 (also when `pl_weight` is 0, as stylegan2-ada's `cifar`),
                for D only with the logistic loss's lazy R1 (WGAN-GP's penalty runs every step)).
            d_optimizer: discriminator optimizer (same defaults).
            learning_rate: learning rate of the default optimizers.
            d_learning_rate: the default D optimizer's, if it differs (StyleGAN3: 0.002, as NVIDIA;
                otherwise `learning_rate`).
            **kwargs: `keras.Model.compile`'s other arguments. `jit_compile` may only be `False`
                (the default here, also for `"auto"`).
        """
        # Checked here too, not only by the setter: Keras would resolve "auto" to True (GPU) first.
        self._refuse_xla(kwargs.pop("jit_compile", False))
        super().compile(jit_compile=False, **kwargs)
        lr = DEFAULT_LEARNING_RATE[self.architecture] if learning_rate is None else float(learning_rate)
        d_lr = self._d_learning_rate(learning_rate, d_learning_rate)
        self.g_optimizer = g_optimizer or self._adam(lr, self.g_reg_interval, "g_adam")
        self.d_optimizer = d_optimizer or self._adam(d_lr, self.d_reg_interval, "d_adam")
        self.build_optimizers()  # a distribution strategy cannot create slots inside the train step

    # Keras' "auto" turns XLA on when a GPU is visible, and XLA cannot compile this step: the lazy
    # regularizers and ADA run in `cond`s, and the shapes their second-order gradients need are only
    # known at run time. NVIDIA's trainer does not use a compiler either. Training is therefore never
    # compiled with XLA, whether asked in `compile` or by assigning `gan.jit_compile` later.
    @staticmethod
    def _refuse_xla(value):
        if value not in (False, None, "auto"):
            raise ValueError(f"`jit_compile` must be False for StyleGAN training (XLA cannot compile its "
                             f"regularized step). Received: {value!r}")

    @property
    def jit_compile(self):
        return False

    @jit_compile.setter
    def jit_compile(self, value):
        self._refuse_xla(value)
        self._jit_compile = False

    @property
    def g_reg_interval(self):
        """G's lazy-regularization interval for the Adam correction (0: none). NVIDIA's
        stylegan2-ada corrects G whenever it has a reg phase, even with `pl_weight=0`."""
        return self.pl_interval if (self.architecture == "stylegan2" or self.pl_weight > 0) else 0

    def _d_learning_rate(self, learning_rate, d_learning_rate):
        if d_learning_rate is not None:
            return float(d_learning_rate)
        if learning_rate is None:
            return DEFAULT_D_LEARNING_RATE.get(self.architecture, DEFAULT_LEARNING_RATE[self.architecture])
        return float(learning_rate)

    @property
    def d_reg_interval(self):
        """D's lazy-regularization interval for the Adam correction (0: none, e.g. WGAN-GP)."""
        return self.r1_interval if self.loss in ("logistic", "r3gan") and self.r1_interval > 1 else 0

    def set_learning_rate(self, learning_rate, d_learning_rate=None):
        """Sets both default optimizers' learning rate (with their lazy-regularization correction);
        D's is `d_learning_rate` when given."""
        d_learning_rate = learning_rate if d_learning_rate is None else d_learning_rate
        for optimizer, interval, lr in ((self.g_optimizer, self.g_reg_interval, learning_rate),
                                        (self.d_optimizer, self.d_reg_interval, d_learning_rate)):
            ratio = interval / (interval + 1) if interval else 1.0
            optimizer.learning_rate = float(lr) * ratio

    def reset_optimizers(self):
        """Zeroes both optimizers' state (moments and step count; not the learning rate), as NVIDIA's
        StyleGAN loop does when a resolution starts or ends fading in (`reset_opt_for_new_lod`)."""
        for optimizer in (self.g_optimizer, self.d_optimizer):
            keep = {id(getattr(optimizer, "_learning_rate", None))}
            for variable in optimizer.variables:
                if id(variable) not in keep:
                    variable.assign(tf.zeros(variable.shape, variable.dtype))

    def freeze_layers(self, layers):
        """Stops training `layers` (sub-layers of G, G_ema and D; freeze G's and G_ema's twins
        together): they leave `trainable_variables`, so the optimizers skip them, and the EMA
        generator's frozen layers keep their values. Call before `compile`.
        """
        for layer in layers:
            layer.trainable = False
        self._frozen_ids = self._frozen_ids | {id(v) for layer in layers for v in layer.weights}

    @staticmethod
    def _adam(lr, interval, name):
        ratio = interval / (interval + 1) if interval else 1.0
        return keras.optimizers.Adam(learning_rate=lr * ratio, beta_1=0.0, beta_2=0.99 ** ratio, epsilon=1e-8,
                                     name=name)

    def build_optimizers(self):
        """Creates the optimizer slots now, if not yet (`compile` does; a checkpoint restore needs them)."""
        for optimizer, network in ((self.g_optimizer, self.generator), (self.d_optimizer, self.discriminator)):
            if not optimizer.built:
                optimizer.build(network.trainable_variables)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, z, labels=None, **kwargs):
        """Samples the EMA generator."""
        return self.generator_ema(z, labels=labels, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            loss=self.loss, r1_gamma=self.r1_gamma, r1_interval=self.r1_interval, pl_weight=self.pl_weight,
            pl_interval=self.pl_interval, pl_batch_shrink=self.pl_batch_shrink, pl_decay=self.pl_decay,
            style_mixing_prob=self.style_mixing_prob, ema_kimg=self.ema_kimg, ema_rampup=self.ema_rampup,
            wgan_lambda=self.wgan_lambda, wgan_drift=self.wgan_drift, gamma_decay_kimg=self.gamma_decay_kimg,
            lod_initial_resolution=self.lod_initial_resolution, lod_training_kimg=self.lod_training_kimg,
            lod_transition_kimg=self.lod_transition_kimg, augment=self.augment, augment_p=self.augment_p,
            ada_target=self.ada_target, ada_interval=self.ada_interval, ada_kimg=self.ada_kimg, seed=self.seed,
            train_noise_mode=self.train_noise_mode, augpipe=self.augpipe, blur_sigma=self.blur_sigma,
            blur_fade_kimg=self.blur_fade_kimg, mode_seeking_weight=self.mode_seeking_weight,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)

    # ---- schedule -----------------------------------------------------------------------

    def lod(self, nimg=None):
        """Level of detail after `nimg` images (default: images shown so far); 0 without growing."""
        return self.schedule.lod_tensor(self.nimg if nimg is None else nimg)

    def set_min_lod(self, min_lod):
        """Promises that `lod` stays >= `min_lod` (an int) in the coming steps, so the train step
        skips the blocks that cannot show at that level (StyleGAN 2019: the low-resolution
        phases of growing then cost a fraction of a full-resolution step; results are the same).
        A step whose lod breaks the promise fails instead of training the wrong networks.
        """
        if min_lod and not self.progressive:
            raise ValueError("`min_lod` applies to progressive growing (architecture 'stylegan') only")
        min_lod = int(min_lod)
        if min_lod != self.min_lod:
            self.min_lod = min_lod
            self.train_function = None  # retrace: the skipped blocks are decided in Python

    def sync_lod(self):
        """Writes the current lod into the networks' `lod` variables (for sampling and export)."""
        if self.progressive:
            lod = float(self.lod())
            for net in (self.generator.synthesis, self.generator_ema.synthesis, self.discriminator):
                net.lod.assign(lod)

    # ---- randomness ---------------------------------------------------------------------

    def _seed(self, salt):
        return tf.stack([tf.constant(self.seed, tf.int64), self.step * 16 + salt])

    def _global_normal(self, local_batch, shape, salt, stream=0):
        """Normal draws for the global batch, this replica's slice: the same numbers whatever the replica count.

        `stream` separates draws that share a salt (e.g. one per noise layer).
        """
        ctx, replicas = _replica_context()
        seed = self._seed(salt) + tf.stack([tf.constant(stream * 104729, tf.int64), tf.constant(0, tf.int64)])
        values = tf.random.stateless_normal(tf.concat([[local_batch * replicas], shape], 0), seed)
        if replicas == 1:
            return values
        start = tf.cast(ctx.replica_id_in_sync_group, tf.int32) * local_batch
        return values[start: start + local_batch]

    def _augment(self, images, salt):
        if self.augment == "none":
            return images
        from keras_stylegan.training.augment import augment

        ctx, replicas = _replica_context()
        replica = tf.cast(ctx.replica_id_in_sync_group if replicas > 1 else 0, tf.int64)
        seed = self._seed(salt) + tf.stack([tf.constant(0, tf.int64), replica * 7919])
        if _accepts_pipeline(augment):
            augmented = lambda: augment(images, self.p, seed, pipeline=self.augpipe)  # noqa: E731
        else:
            augmented = lambda: augment(images, self.p, seed)  # noqa: E731 (an augment() without pipelines)
        # At p = 0 every op is the identity (augment returns its input exactly): skip the pipeline's
        # resampling, about 30 % of a step at 32 px, until ADA raises p.
        return tf.cond(self.p > 0, augmented, lambda: tf.identity(images))

    # ---- the step -----------------------------------------------------------------------

    def _noise_maps(self, local_batch, salt):
        """Random noise inputs drawn for the global batch and sliced per replica, like z.

        Each noise layer's own seed generator is a mirrored variable, so under several replicas
        it would give every replica the same maps; NVIDIA's GPUs draw independent ones. The
        blocks skipped below `min_lod` get `None` (never read) instead of full-size maps.
        """
        shown = len(self.generator.synthesis.blocks) - self.min_lod
        maps = []
        for block, layers in enumerate(noise_layers_by_block(self.generator)):
            for layer in layers:
                maps.append(self._global_normal(local_batch, list(layer.noise_const.shape) + [1], salt,
                                                stream=len(maps) + 1) if block < shown else None)
        return maps

    def _generate(self, z, labels, lod, mix_salt, update_w_avg=False):
        """G(z) with style-mixing regularization; returns (images, ws). `update_w_avg` also updates
        StyleGAN3's input magnitudes."""
        g = self.generator
        ws = g.mapping(z, labels=labels)
        if update_w_avg:
            g.mapping.update_w_avg(_replica_mean(tf.reduce_mean(ws[:, 0], axis=0)))
        if self.style_mixing_prob > 0:
            num_ws = g.num_ws
            # Mix only among the layers in use at this level of detail (NVIDIA's TF StyleGAN).
            active = num_ws - 2 * tf.cast(tf.floor(lod), tf.int32) if self.progressive else num_ws
            u = tf.random.stateless_uniform([2], self._seed(_MIX))
            cutoff = 1 + tf.cast(u[0] * tf.cast(tf.maximum(active - 1, 1), tf.float32), tf.int32)
            cutoff = tf.where(u[1] < self.style_mixing_prob, cutoff, num_ws)
            mix_z = self._global_normal(tf.shape(z)[0], [g.z_dim], mix_salt)
            ws = g.mix(ws, g.mapping(mix_z, labels=labels), cutoff)
        if self.stylegan3:
            return g.synthesis(ws, update_magnitude_ema=update_w_avg), ws
        noise = self._noise_maps(tf.shape(z)[0], mix_salt) if self.train_noise_mode == "random" else None
        images = g.synthesis(ws, noise_mode=self.train_noise_mode, lod=lod if self.progressive else None, noise=noise,
                             min_lod=self.min_lod)
        return images, ws

    def _discriminate(self, images, labels, lod, salt):
        if self.blur_sigma > 0:
            images = self._blur(images)
        return self.discriminator(self._augment(images, salt), labels=labels, lod=lod if self.progressive else None,
                                  min_lod=self.min_lod)

    def blur_sigma_at(self, nimg=None):
        """Sigma of the blur of D's inputs after `nimg` images (default: shown so far)."""
        nimg = tf.cast(self.nimg if nimg is None else nimg, tf.float32)
        return tf.maximum(1.0 - nimg / (self.blur_fade_kimg * 1000.0), 0.0) * self.blur_sigma

    def _blur(self, images):
        """NVIDIA's blur of D's inputs: a separable kernel `2 ** -(x / sigma) ** 2`, |x| <= floor(3 sigma),
        normalized, zero padding. The kernel is sized for the starting sigma with the taps beyond
        the current radius zero, which is the same filter; once the radius is 0 it is the identity."""
        sigma = self.blur_sigma_at()
        radius = tf.floor(sigma * 3.0)
        max_radius = int(math.floor(self.blur_sigma * 3.0))
        if max_radius < 1:
            return images

        def blurred():
            x = tf.range(-max_radius, max_radius + 1, dtype=tf.float32)
            taps = tf.where(tf.abs(x) <= radius, tf.pow(2.0, -tf.square(x / tf.maximum(sigma, 1e-8))), 0.0)
            return upfirdn2d_tensor(images, taps / tf.reduce_sum(taps), padding=max_radius)

        return tf.cond(radius > 0, blurred, lambda: tf.identity(images))

    def _lod_reals(self, reals, lod):
        """Reals at the resolution being trained, faded like the networks (NVIDIA's `process_reals`)."""
        levels = [reals]
        for k in range(self.max_lod):
            factor = 2 ** (k + 1)
            pooled = tf.nn.avg_pool2d(levels[-1], factor, factor, "VALID")
            levels.append(tf.repeat(tf.repeat(pooled, factor, axis=1), factor, axis=2))
        levels = tf.stack(levels)
        level = tf.cast(tf.floor(lod), tf.int32)
        current = tf.gather(levels, level)
        coarser = tf.gather(levels, tf.minimum(level + 1, self.max_lod))
        return current + (coarser - current) * (lod - tf.floor(lod))

    def train_step(self, data):
        reals, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        reals = tf.cast(reals, tf.float32)
        _, replicas = _replica_context()
        local_batch = tf.shape(reals)[0]
        global_batch = tf.cast(local_batch * replicas, tf.float32)
        lod = self.lod()
        if self.progressive:
            tf.debugging.assert_greater_equal(lod, float(self.min_lod), message="lod fell below min_lod")
            reals = self._lod_reals(reals, lod)
        z_dim = self.generator.z_dim

        # Discriminator: main loss, plus R1 (lazy; R1 + R2 for r3gan) or the WGAN gradient penalty.
        do_r1 = tf.equal(self.step % self.r1_interval, 0)
        z = self._global_normal(local_batch, [z_dim], _Z_D)
        fakes, _ = self._generate(z, labels, lod, _Z_MIX, update_w_avg=self.stylegan3)
        fakes = tf.stop_gradient(fakes)
        r2 = tf.zeros([local_batch])
        with tf.GradientTape() as tape:
            if self.loss == "r3gan":
                gamma = self.r3gan_gamma()
                real_logits, r1 = self._logits_and_penalty(reals, labels, lod, _AUG_REAL, do_r1, local_batch)
                fake_logits, r2 = self._logits_and_penalty(fakes, labels, lod, _AUG_FAKE, do_r1, local_batch)
                per_sample = losses.relativistic_d_loss(real_logits, fake_logits)
                per_sample += (r1 + r2) * (gamma / 2 * self.r1_interval)
            elif self.loss == "logistic":
                fake_logits = self._discriminate(fakes, labels, lod, _AUG_FAKE)
                real_logits, r1 = self._logits_and_penalty(reals, labels, lod, _AUG_REAL, do_r1, local_batch)
                per_sample = losses.logistic_d_loss(real_logits, fake_logits)
                per_sample += r1 * (self.r1_gamma / 2 * self.r1_interval)
            else:
                fake_logits = self._discriminate(fakes, labels, lod, _AUG_FAKE)
                real_logits = self._discriminate(reals, labels, lod, _AUG_REAL)
                r1 = self._wgan_penalty(reals, fakes, labels, lod)
                per_sample = losses.wgan_d_loss(real_logits, fake_logits, self.wgan_drift)
                per_sample += self.wgan_lambda * r1
            d_loss = tf.reduce_sum(per_sample) / global_batch
        d_vars = self.discriminator.trainable_variables
        # Blocks skipped below min_lod get zero gradients, as their faded-out branch would.
        d_grads = finite_gradients(_zero_if_none(tape.gradient(d_loss, d_vars), d_vars))
        self.d_optimizer.apply_gradients(zip(d_grads, d_vars))

        # Generator: main loss, plus path-length regularization (lazy).
        do_pl = tf.equal(self.step % self.pl_interval, 0) if self.pl_weight > 0 else tf.constant(False)
        z = self._global_normal(local_batch, [z_dim], _Z_G)
        gen_labels, half = labels, local_batch // 2
        if self.mode_seeking_weight and labels is not None:  # MSGAN's pairs share a condition
            labels = tf.concat([labels[:half], labels[:half], labels[2 * half:]], axis=0)
            gen_labels = _halves_to_pairs(labels, half)
        with tf.GradientTape() as tape:
            # NVIDIA's stylegan2-ada tracks w_avg on G's pass; its stylegan3 code on D's (above).
            fakes, _ = self._generate(z, gen_labels, lod, _Z_MIX + 8, update_w_avg=not self.stylegan3)
            if self.mode_seeking_weight:
                # G draws the pairs as neighbours (2k, 2k + 1), which replicas holding contiguous slices
                # form as one device would; D sees them as (k, k + n/2), where `class_groups` puts one
                # class in each minibatch-stddev group.
                fakes, z = _pairs_to_halves(fakes, half), _pairs_to_halves(z, half)
            gen_logits = self._discriminate(fakes, labels, lod, _AUG_FAKE + 8)
            if self.loss == "r3gan":  # the reals are constants here: only G's side of the pair trains
                paired_real_logits = self._discriminate(reals, labels, lod, _AUG_REAL + 8)
                g_per_sample = losses.relativistic_g_loss(gen_logits, paired_real_logits)
            elif self.loss == "logistic":
                g_per_sample = losses.logistic_g_loss(gen_logits)
            else:
                g_per_sample = losses.wgan_g_loss(gen_logits)
            g_loss = tf.reduce_sum(g_per_sample) / global_batch
            pl_batch = tf.maximum(local_batch // self.pl_batch_shrink, 1)
            pl_lengths = tf.cond(do_pl, lambda: self._path_lengths(pl_batch, labels, lod),
                                 lambda: tf.zeros([pl_batch]))
            pl_penalty = self._path_length_penalty(pl_lengths, do_pl)
            total_g_loss = g_loss + pl_penalty * (self.pl_weight * self.pl_interval)
            if self.mode_seeking_weight:  # the mean over the global batch's pairs, as g_loss is over its images
                pairs = tf.cast(local_batch // 2 * replicas, tf.float32)
                seeking = tf.reduce_sum(losses.mode_seeking_penalty(fakes, z)) / tf.maximum(pairs, 1.0)
                total_g_loss += self.mode_seeking_weight * seeking
        g_vars = self.generator.trainable_variables
        g_grads = finite_gradients(_zero_if_none(tape.gradient(total_g_loss, g_vars), g_vars))
        self.g_optimizer.apply_gradients(zip(g_grads, g_vars))

        # Bookkeeping: counters, EMA, ADA.
        self.nimg.assign_add(tf.cast(global_batch, tf.int64))
        self.step.assign_add(1)
        self._update_ema(global_batch)
        if self.augment == "ada":
            relativistic = self.loss == "r3gan"
            self._update_ada(losses.flat_scores(real_logits) - losses.flat_scores(fake_logits) if relativistic
                             else real_logits)

        def global_mean(values):
            return _replica_sum(tf.reduce_sum(values)) / global_batch

        updates = {
            "g_loss": _replica_sum(g_loss), "d_loss": _replica_sum(d_loss),
            "real_score": global_mean(losses.flat_scores(real_logits)),
            "fake_score": global_mean(losses.flat_scores(fake_logits)),
            "lod": lod, "kimg": tf.cast(self.nimg, tf.float32) / 1000.0, "augment_p": self.p,
        }
        for name, value in updates.items():
            self.trackers[name].update_state(value)
        # Regularizers only count on the steps that compute them.
        self.trackers["r1"].update_state(global_mean(r1), sample_weight=tf.cast(do_r1 | (self.loss != "logistic"),
                                                                                 tf.float32))
        self.trackers["pl"].update_state(_replica_sum(pl_penalty), sample_weight=tf.cast(do_pl, tf.float32))
        if self.loss == "r3gan":
            self.trackers["r2"].update_state(global_mean(r2), sample_weight=tf.cast(do_r1, tf.float32))
            self.trackers["gamma"].update_state(gamma)
        results = {name: tracker.result() for name, tracker in self.trackers.items()}
        if is_multi_worker():  # fit() reduces them with axis=0 there, which fails on scalars (keras#20585)
            results = {name: value[None] for name, value in results.items()}
        return results

    def _logits_and_penalty(self, images, labels, lod, salt, active, local_batch):
        """D's logits and, on steps where `active`, `|grad D|^2` at `images` (R1 at reals, R2 at fakes)."""
        def with_penalty():
            with tf.GradientTape() as tape:
                tape.watch(images)
                logits = self._discriminate(images, labels, lod, salt)
                total = tf.reduce_sum(logits)
            return logits, losses.r1_penalty(tape.gradient(total, images))

        return tf.cond(active, with_penalty,
                       lambda: (self._discriminate(images, labels, lod, salt), tf.zeros([local_batch])))

    def r3gan_gamma(self, nimg=None):
        """The R1/R2 weight of `"r3gan"` after `nimg` images (default: shown so far): R3GAN's cosine
        from `r1_gamma` to a tenth of it over `gamma_decay_kimg`."""
        nimg = self.nimg if nimg is None else nimg
        return cosine_decay(nimg, self.r1_gamma, self.r1_gamma * R3GAN_GAMMA_FINAL_RATIO, self.gamma_decay_kimg)

    def _wgan_penalty(self, reals, fakes, labels, lod):
        local_batch = tf.shape(reals)[0]
        t = tf.reshape(tf.random.stateless_uniform([local_batch], self._seed(_GP)), [-1, 1, 1, 1])
        mixed = reals + (fakes - reals) * t
        with tf.GradientTape() as tape:
            tape.watch(mixed)
            total = tf.reduce_sum(self._discriminate(mixed, labels, lod, _AUG_REAL))
        return losses.gradient_penalty(tape.gradient(total, mixed))

    def _path_lengths(self, pl_batch, labels, lod):
        """`|J^T y|` for this replica's part of the global path-length batch."""
        z = self._global_normal(pl_batch, [self.generator.z_dim], _PL)
        pl_labels = None if labels is None else labels[:pl_batch]
        with tf.GradientTape() as tape:
            images, ws = self._generate(z, pl_labels, lod, _PL + 8)
            height, width = images.shape[1], images.shape[2]
            noise = self._global_normal(pl_batch, tf.shape(images)[1:], _PL_NOISE) / math.sqrt(height * width)
            total = tf.reduce_sum(images * noise)
        return losses.path_lengths(tape.gradient(total, ws))

    def _path_length_penalty(self, lengths, active):
        """This replica's share of the global mean of `(|J^T y| - a)^2`; updates `a` (pl_mean) when `active`.

        Runs outside `tf.cond`: its all-reduce is a sync point replicas cannot reach inside control flow.
        """
        _, replicas = _replica_context()
        batch_mean = _replica_mean(tf.reduce_mean(tf.stop_gradient(lengths)))
        pl_mean = self.pl_mean + (batch_mean - self.pl_mean) * self.pl_decay
        self.pl_mean.assign(tf.where(active, pl_mean, self.pl_mean))
        penalty = tf.reduce_sum(tf.square(lengths - pl_mean)) / tf.cast(tf.size(lengths) * replicas, tf.float32)
        return tf.where(active, penalty, 0.0)

    def _update_ema(self, global_batch):
        beta = ema_beta(global_batch, self.nimg, self.ema_kimg, self.ema_rampup)
        for ema, var in zip(self.generator_ema.trainable_variables, self.generator.trainable_variables):
            ema.assign(var + (ema - var) * beta)
        for ema, var in zip(self.generator_ema.non_trainable_variables, self.generator.non_trainable_variables):
            # The EMA generator keeps its own noise stream, and its frozen layers as loaded.
            if "seed_generator" not in var.path and id(var) not in self._frozen_ids:
                ema.assign(var)

    def _update_ada(self, real_logits):
        signs = tf.sign(losses.flat_scores(real_logits))
        stats = tf.stack([_replica_sum(tf.reduce_sum(signs)), _replica_sum(tf.cast(tf.size(signs), tf.float32))])
        stats = self.ada_stats + stats
        adjust = tf.equal(self.step % self.ada_interval, 0)
        from keras_stylegan.training.augment import update_p

        new_p = update_p(self.p, stats[0] / tf.maximum(stats[1], 1.0), stats[1], self.ada_target, self.ada_kimg)
        self.p.assign(tf.where(adjust, new_p, self.p))
        self.ada_stats.assign(tf.where(adjust, tf.zeros([2]), stats))

    def state_variables(self):
        """Every variable a resumed run needs, by a stable name (networks, optimizers, counters)."""
        named = {}
        for prefix, model in (("G", self.generator), ("D", self.discriminator), ("G_ema", self.generator_ema)):
            for variable in model.weights:
                named[f"{prefix}/{variable.path.split('/', 1)[1]}"] = variable
            # Noise streams are not weights, but a resumed run must continue them.
            for i, layer in enumerate(noise_layers(model)):
                named[f"{prefix}/noise_rng/{i:03d}"] = layer.seed_generator.state
        for prefix, optimizer in (("G_opt", self.g_optimizer), ("D_opt", self.d_optimizer)):
            for i, variable in enumerate(optimizer.variables):
                named[f"{prefix}/{i:04d}"] = variable  # creation order; names carry unique model names
        for variable in (self.nimg, self.step, self.pl_mean, self.p, self.ada_stats):
            named[f"state/{variable.name}"] = variable
        return named


__all__ = ["StyleGAN", "AUGMENT_MODES"]
