"""Progressive-growing schedule and generator-EMA decay, as functions of images shown.

Both work on Python numbers and on tensors, so the compiled train step and the run loop
(which picks the minibatch size per resolution) agree exactly.
"""
import math

import tensorflow as tf

# NVIDIA's StyleGAN (2019) defaults for 8 GPUs (`sched.minibatch_dict`), in images per step.
STYLEGAN_MINIBATCH = {4: 512, 8: 256, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4, 1024: 4}


def lod_at(nimg, max_lod, initial_resolution_log2_offset, training_kimg=600.0, transition_kimg=600.0):
    """Level of detail after `nimg` images (NVIDIA's `TrainingSchedule`).

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
