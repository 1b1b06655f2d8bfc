"""The training schedule: level of detail, minibatch and learning rate as functions of images shown.

One `Schedule` answers for a run: the compiled train step asks it for the level of detail
(`lod_tensor`), the run loop asks it for the minibatch, learning rate and where a phase
of progressive growing starts (`batch`, `learning_rate`, `phase_steps`). Nothing is pushed
back and forth: every answer is a function of the number of images shown, so a resumed
run gets the same answers as an uninterrupted one.

The level of detail works on Python numbers (float64) and on tensors (float64, cast to
float32), and both round the same way, so the loop and the step agree.
"""
import math

import tensorflow as tf

# NVIDIA's StyleGAN (2019) `train.py`, 1 GPU: images per step by resolution being trained;
# `STYLEGAN_MINIBATCH_BASE` for resolutions not in the table (1024).
STYLEGAN_MINIBATCH = {4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4}
STYLEGAN_MINIBATCH_BASE = 4
# NVIDIA's StyleGAN (2019) learning rate by resolution (G and D), `STYLEGAN_LEARNING_RATE_BASE` elsewhere.
STYLEGAN_LEARNING_RATE = {128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003}
STYLEGAN_LEARNING_RATE_BASE = 0.001


def _lod_float(nimg, start, training_kimg, transition_kimg):
    """`lod_at` on Python numbers (float64 throughout, like the tensor version)."""
    phase = training_kimg + transition_kimg
    if phase <= 0:
        return 0.0
    kimg = float(nimg) / 1000.0
    phase_idx = math.floor(kimg / phase)
    lod = start - phase_idx
    if transition_kimg > 0:
        lod -= max(kimg - phase_idx * phase - training_kimg, 0.0) / transition_kimg
    return min(max(lod, 0.0), start)


def lod_at(nimg, max_lod, initial_resolution_log2_offset, training_kimg=600.0, transition_kimg=600.0):
    """Level of detail after `nimg` images (NVIDIA's `TrainingSchedule`), as a float32 tensor.

    Training starts at lod `initial_resolution_log2_offset` (e.g. 2 for a 32 px model starting at 8 px),
    stabilizes for `training_kimg`, fades the next resolution in over `transition_kimg`, and so on
    down to lod 0 (full resolution).

    Args:
        nimg: images shown so far (int or tensor).
        max_lod: the networks' largest lod (number of doublings above the 4 px base).
        initial_resolution_log2_offset: starting lod (clipped to `max_lod`).
        training_kimg: thousands of images stabilizing each resolution.
        transition_kimg: thousands of images fading each resolution in.

    Example:
    >>> float(lod_at(0, 3, 2)), float(lod_at(900_000, 3, 2)), float(lod_at(10**8, 3, 2))
    (2.0, 1.5, 0.0)
    """
    start = float(min(initial_resolution_log2_offset, max_lod))
    kimg = tf.cast(nimg, tf.float64) / 1000.0
    phase = training_kimg + transition_kimg
    if phase <= 0:
        return tf.constant(0.0, tf.float32)
    phase_idx = tf.floor(kimg / phase)
    lod = start - phase_idx
    if transition_kimg > 0:
        lod -= tf.maximum(kimg - phase_idx * phase - training_kimg, 0.0) / transition_kimg
    return tf.cast(tf.clip_by_value(lod, 0.0, start), tf.float32)


def resolution_log2_at(lod, resolution_log2):
    """The resolution being trained at `lod` (the finer one while fading in)."""
    return resolution_log2 - int(math.floor(float(lod)))


def ema_beta(batch_size, nimg, ema_kimg=10.0, ema_rampup=None):
    """Per-step decay of the generator EMA: half-life `ema_kimg` thousand images, ramped up
    to `ema_rampup * nimg` early in training (stylegan2-ada), for a step of `batch_size` images."""
    ema_nimg = tf.constant(ema_kimg * 1000.0, tf.float64)
    if ema_rampup:
        ema_nimg = tf.minimum(ema_nimg, tf.cast(nimg, tf.float64) * ema_rampup)
    return tf.cast(0.5 ** (tf.cast(batch_size, tf.float64) / tf.maximum(ema_nimg, 1e-8)), tf.float32)


def cosine_decay(nimg, base_value, final_value, total_kimg):
    """`base_value` at 0 images, easing to `final_value` at `total_kimg` thousand images along half a
    cosine, and `final_value` after (R3GAN's `cosine_decay_with_warmup` without warmup), as a float32 tensor.

    Example:
    >>> [round(float(cosine_decay(n, 1.0, 0.1, 2.0)), 3) for n in (0, 1000, 2000, 5000)]
    [1.0, 0.55, 0.1, 0.1]
    """
    progress = tf.minimum(tf.cast(nimg, tf.float64) / (float(total_kimg) * 1000.0), 1.0)
    weight = 0.5 * (1.0 + tf.cos(math.pi * progress))  # 1 at the start, 0 at the end
    return tf.cast(final_value + (base_value - final_value) * weight, tf.float32)


def initial_lod(resolution, lod_initial_resolution):
    """The lod progressive growing starts at: doublings from `lod_initial_resolution` (>= 4) to the short side."""
    side = min(resolution)
    return max(0, int(round(math.log2(side / max(4, int(lod_initial_resolution))))))


class Schedule:
    """Level of detail, global minibatch and learning rate of a run, by images shown.

    Args:
        resolution: `(height, width)` of the networks.
        progressive: StyleGAN (2019) progressive growing; `False`: lod 0 throughout.
        lod_initial_resolution, lod_training_kimg, lod_transition_kimg: growing (NVIDIA's names).
        batch_size: a fixed global minibatch, or `None` for `batch_table`.
        batch_table: `{side: global minibatch}` by resolution being trained (its short side);
            sides not in it use `batch_base`.
        learning_rate: a fixed learning rate, or `None` for `learning_rate_table`.
        learning_rate_table: `{side: learning rate}`; sides not in it use `learning_rate_base`.
        replicas: devices the global minibatch is split over (each minibatch is rounded down to
            a multiple, as NVIDIA's `minibatch // num_gpus * num_gpus`).

    Example:
    >>> s = Schedule((32, 32), progressive=True, batch_table=STYLEGAN_MINIBATCH)
    >>> s.lod(0), s.batch(0), s.batch(2_000_000), s.learning_rate(0)
    (2.0, 128, 64, 0.001)
    """

    def __init__(self, resolution, progressive=False, lod_initial_resolution=8, lod_training_kimg=600.0,
                 lod_transition_kimg=600.0, batch_size=None, batch_table=None, batch_base=STYLEGAN_MINIBATCH_BASE,
                 learning_rate=None, learning_rate_table=None, learning_rate_base=STYLEGAN_LEARNING_RATE_BASE,
                 replicas=1):
        self.resolution = tuple(int(r) for r in resolution)
        self.progressive = bool(progressive)
        self.max_lod = int(round(math.log2(min(self.resolution)))) - 2
        self.lod_initial_resolution = int(lod_initial_resolution)
        self.initial_lod = initial_lod(self.resolution, lod_initial_resolution) if progressive else 0
        self.start_lod = float(min(self.initial_lod, self.max_lod))
        self.lod_training_kimg = float(lod_training_kimg)
        self.lod_transition_kimg = float(lod_transition_kimg)
        self.batch_size = None if batch_size is None else int(batch_size)
        self.batch_table = {int(k): int(v) for k, v in (batch_table or {}).items()}
        self.batch_base = int(batch_base)
        self.learning_rate_fixed = None if learning_rate is None else float(learning_rate)
        self.learning_rate_table = {int(k): float(v) for k, v in (learning_rate_table or {}).items()}
        self.learning_rate_base = float(learning_rate_base)
        self.replicas = int(replicas)

    # ---- level of detail ------------------------------------------------------------------

    def lod(self, nimg):
        """Level of detail after `nimg` images (a Python float; 0 without growing)."""
        if not self.progressive:
            return 0.0
        return float(tf.constant(_lod_float(nimg, self.start_lod, self.lod_training_kimg, self.lod_transition_kimg),
                                 tf.float32).numpy())

    def lod_tensor(self, nimg):
        """`lod` as a float32 tensor (inside the compiled train step)."""
        if not self.progressive:
            return tf.constant(0.0)
        return lod_at(nimg, self.max_lod, self.initial_lod, self.lod_training_kimg, self.lod_transition_kimg)

    def phase(self, nimg):
        """`(floor(lod), ceil(lod))`: constant within a phase; NVIDIA resets the optimizers when it changes."""
        lod = _lod_float(nimg, self.start_lod, self.lod_training_kimg, self.lod_transition_kimg) \
            if self.progressive else 0.0
        return int(math.floor(lod)), int(math.ceil(lod))

    def side(self, nimg):
        """The short side of the resolution being trained (the finer one while fading in)."""
        return min(self.resolution) >> self.phase(nimg)[0]

    def sides_used(self):
        """Every short side the run trains at, coarsest first."""
        return [min(self.resolution) >> lod for lod in range(int(self.start_lod), -1, -1)]

    # ---- minibatch and learning rate -------------------------------------------------------

    def batch(self, nimg):
        """The global minibatch of the step that starts after `nimg` images."""
        return self.batch_at_side(self.side(nimg))

    def batch_at_side(self, side):
        if self.batch_size is not None:
            batch = self.batch_size
        elif not self.batch_table:
            raise ValueError("this Schedule has no minibatch (no `batch_size` and no `batch_table`)")
        else:
            batch = self.batch_table.get(side, self.batch_base)
        return batch // self.replicas * self.replicas

    def used_batch_sizes(self):
        """`{side: global minibatch}` for the sides this run trains at."""
        return {side: self.batch_at_side(side) for side in self.sides_used()}

    def learning_rate(self, nimg):
        """The learning rate (before any lazy-regularization correction) after `nimg` images."""
        if self.learning_rate_fixed is not None:
            return self.learning_rate_fixed
        return self.learning_rate_table.get(self.side(nimg), self.learning_rate_base)

    # ---- driving a run ---------------------------------------------------------------------

    def phase_steps(self, nimg, stop_nimg):
        """Steps from `nimg` that stay in one phase (same lod floor/ceil, minibatch and learning rate),
        ending with the first step that reaches `stop_nimg`. At least 1 when `nimg < stop_nimg`."""
        phase, batch, steps = self.phase(nimg), self.batch(nimg), 0
        while nimg < stop_nimg and (steps == 0 or self.phase(nimg) == phase):
            nimg += batch
            steps += 1
        return steps

    def resets_optimizers(self, previous_nimg, nimg):
        """Whether NVIDIA's StyleGAN loop resets the optimizer states between these two steps
        (`reset_opt_for_new_lod`: the lod's floor or ceil changed, i.e. a fade-in starts or ends)."""
        return self.progressive and self.phase(previous_nimg) != self.phase(nimg)
