"""Adaptive discriminator augmentation (ADA).

Karras et al. 2020, "Training Generative Adversarial Networks with Limited Data"
(https://arxiv.org/abs/2006.06676). The trainer passes real and fake images through the same
`augment(images, p, seed)` before the discriminator and steers `p` with `update_p` so that the
overfitting heuristic r_t = E[sign(D(real))] stays near its target.

Implemented: the pixel-blitting group (xflip, rotate90, xint), the colour group (brightness,
contrast, saturation, hue) and cutout: the subset that needs no resampling filter, so every geometric
op is an exact pixel gather. Differences from NVIDIA's pipeline: an applied xflip always flips and an
applied rotate90 always rotates (k in 1..3), and contrast scales around each image's mean.
"""
import math

import tensorflow as tf

AUGMENTATIONS = ("xflip", "rotate90", "xint", "brightness", "contrast", "saturation", "hue", "cutout")
XINT_MAX = 0.125  # integer translation range, relative to each side
BRIGHTNESS_STD = 0.2
CONTRAST_STD = 0.5  # log2 standard deviation
SATURATION_STD = 1.0  # log2 standard deviation
HUE_MAX = math.pi
CUTOUT_SIZE = 0.5  # rectangle side, relative to each image side


def _draw(seed, name, batch, p):
    """Per-image "apply" flags for augmentation `name` and a key for its parameters.

    Keys derive from the augmentation's index in `AUGMENTATIONS`, so enabling one augmentation does not
    change the random draws of another.
    """
    key = tf.random.experimental.stateless_fold_in(seed, AUGMENTATIONS.index(name))
    apply = tf.random.stateless_uniform([batch], key) < p
    return apply, tf.random.experimental.stateless_fold_in(key, 1)


def _reflect(index, size):
    """Mirrors out-of-range indices without repeating the edge pixel (NumPy/PyTorch "reflect" padding)."""
    period = tf.maximum(2 * size - 2, 1)
    index = tf.abs(index) % period
    return tf.where(index >= size, period - index, index)


def _per_image(values, dtype):
    return tf.cast(tf.reshape(values, [-1, 1, 1, 1]), dtype)


def _blit(images, p, seed, augmentations):
    """xflip, rotate90 and xint as one gather of source pixels for every output pixel."""
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    y = tf.broadcast_to(tf.range(height)[None, :, None], [batch, height, width])
    x = tf.broadcast_to(tf.range(width)[None, None, :], [batch, height, width])
    # Output -> input coordinates: undo the ops last-to-first (as ADA's G_inv, translation applied last).
    if "xint" in augmentations:
        apply, key = _draw(seed, "xint", batch, p)
        sides = tf.cast(tf.stack([width, height]), tf.float32)
        shift = tf.round(tf.random.stateless_uniform([batch, 2], key, -XINT_MAX, XINT_MAX) * sides)
        shift = tf.where(apply[:, None], tf.cast(shift, tf.int32), 0)[:, :, None, None]
        x, y = _reflect(x - shift[:, 0], width), _reflect(y - shift[:, 1], height)
    if "rotate90" in augmentations:
        apply, key = _draw(seed, "rotate90", batch, p)
        k = tf.random.stateless_uniform([batch], key, minval=1, maxval=4, dtype=tf.int32)
        k = tf.where(height == width, k, 2)  # 90 and 270 degrees would change a non-square shape
        k = tf.where(apply, k, 0)[:, None, None]  # counter-clockwise quarter turns, as np.rot90
        y, x = (tf.where(k == 0, y, tf.where(k == 1, x, tf.where(k == 2, height - 1 - y, height - 1 - x))),
                tf.where(k == 0, x, tf.where(k == 1, width - 1 - y, tf.where(k == 2, width - 1 - x, y))))
    if "xflip" in augmentations:
        apply, _ = _draw(seed, "xflip", batch, p)
        x = tf.where(apply[:, None, None], width - 1 - x, x)
    return tf.gather_nd(images, tf.stack([y, x], axis=-1), batch_dims=1)


def _color(images, p, seed, augmentations):
    """Brightness, contrast, hue and saturation (ADA's order) on RGB or gray; alpha is passed through."""
    batch, dtype = tf.shape(images)[0], images.dtype
    num_color = 3 if images.shape[-1] >= 3 else 1
    color, alpha = images[..., :num_color], images[..., num_color:]
    if "brightness" in augmentations:
        apply, key = _draw(seed, "brightness", batch, p)
        offset = tf.random.stateless_normal([batch], key) * BRIGHTNESS_STD
        color = color + _per_image(tf.where(apply, offset, 0.0), dtype)
    if "contrast" in augmentations:
        apply, key = _draw(seed, "contrast", batch, p)
        gain = _per_image(tf.pow(2.0, tf.random.stateless_normal([batch], key) * CONTRAST_STD), dtype)
        mean = tf.reduce_mean(color, axis=[1, 2, 3], keepdims=True)
        color = tf.where(_per_image(apply, tf.bool), (color - mean) * gain + mean, color)
    if num_color == 3:
        # The luma axis is ADA's (1, 1, 1) / sqrt(3): its projection of a pixel is the channel mean.
        if "hue" in augmentations:
            apply, key = _draw(seed, "hue", batch, p)
            theta = _per_image(tf.random.stateless_uniform([batch], key, -HUE_MAX, HUE_MAX), dtype)
            gray = tf.reduce_mean(color, axis=-1, keepdims=True)
            # Rodrigues' rotation about the luma axis; axis x color = (b - g, r - b, g - r) / sqrt(3).
            cross = (tf.roll(color, 1, axis=-1) - tf.roll(color, -1, axis=-1)) / math.sqrt(3.0)
            rotated = gray + tf.cos(theta) * (color - gray) + tf.sin(theta) * cross
            color = tf.where(_per_image(apply, tf.bool), rotated, color)
        if "saturation" in augmentations:
            apply, key = _draw(seed, "saturation", batch, p)
            gain = _per_image(tf.pow(2.0, tf.random.stateless_normal([batch], key) * SATURATION_STD), dtype)
            gray = tf.reduce_mean(color, axis=-1, keepdims=True)
            color = tf.where(_per_image(apply, tf.bool), gray + gain * (color - gray), color)
    return tf.concat([color, alpha], axis=-1)


def _cutout(images, p, seed):
    """Zeroes (mid-gray in [-1, 1]) a rectangle of CUTOUT_SIZE of each side, centred uniformly."""
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    apply, key = _draw(seed, "cutout", batch, p)
    center = tf.random.stateless_uniform([batch, 2], key)

    def inside(size, center):  # [batch, size]: pixel centres within the rectangle along one axis
        coord = (tf.cast(tf.range(size), tf.float32) + 0.5) / tf.cast(size, tf.float32)
        return tf.abs(coord[None, :] - center[:, None]) < CUTOUT_SIZE / 2

    hole = inside(height, center[:, 1])[:, :, None] & inside(width, center[:, 0])[:, None, :]
    hole = hole & apply[:, None, None]
    return images * tf.cast(~hole, images.dtype)[..., None]


def augment(images, p, seed, augmentations=AUGMENTATIONS):
    """Applies ADA's augmentations, each to each image independently with probability `p`.

    Geometric ops (xflip, rotate90, xint) move all channels; colour ops touch RGB (or gray) and leave
    an alpha channel alone; cutout zeroes all channels. Saturation and hue are no-ops for gray images.
    Deterministic given `seed`, differentiable w.r.t. `images`, and usable inside `tf.function` and a
    distribution strategy's replica function (under XLA, TensorFlow's stateless RNG draws other numbers
    for the same seed than without it).

    Args:
        images: float tensor `[batch, height, width, channels]` in [-1, 1], channels 1 (gray), 2 (gray +
            alpha), 3 (RGB) or 4 (RGBA). The channel count must be static.
        p: scalar in [0, 1] (number or tensor): the probability of each augmentation.
        seed: int32/int64 tensor of shape `[2]`, as for `tf.random.stateless_*` ops.
        augmentations: names from `AUGMENTATIONS` to enable.

    Returns:
        A tensor of the same shape and dtype as `images`.

    Example:
    >>> import tensorflow as tf
    >>> x = tf.random.uniform([2, 8, 8, 3], -1.0, 1.0)
    >>> augment(x, p=0.5, seed=tf.constant([1, 2])).shape
    TensorShape([2, 8, 8, 3])
    """
    unknown = [name for name in augmentations if name not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"augmentations must be names from {AUGMENTATIONS}. Received: {unknown}")
    if isinstance(p, (int, float)) and not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1]. Received: {p}")
    images = tf.convert_to_tensor(images)
    if images.shape.rank != 4 or images.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(f"images must be [batch, height, width, channels] with 1 to 4 channels. "
                         f"Received shape: {images.shape}")
    p = tf.cast(p, tf.float32)
    if {"xflip", "rotate90", "xint"} & set(augmentations):
        images = _blit(images, p, seed, augmentations)
    if {"brightness", "contrast", "saturation", "hue"} & set(augmentations):
        images = _color(images, p, seed, augmentations)
    if "cutout" in augmentations:
        images = _cutout(images, p, seed)
    return images


def update_p(p, real_sign_mean, num_images, target=0.6, speed_kimg=500.0):
    """ADA's controller: nudges `p` toward keeping E[sign(D(real))] at `target`.

    p_new = clip(p + sign(real_sign_mean - target) * num_images / (speed_kimg * 1000), 0, 1), so `p` can
    go from 0 to 1 in `speed_kimg` thousand images.

    Args:
        p: the current probability (number or scalar tensor).
        real_sign_mean: mean of sign(D(real)) over the images seen since the last update.
        num_images: number of real images seen since the last update.
        target: the wanted value of `real_sign_mean` (0.6 in the paper).
        speed_kimg: thousands of images for `p` to move by 1.

    Returns:
        The new `p` as a float32 scalar tensor.

    Example:
    >>> round(float(update_p(0.0, real_sign_mean=0.9, num_images=4000)), 6)
    0.008
    """
    if isinstance(speed_kimg, (int, float)) and speed_kimg <= 0:
        raise ValueError(f"speed_kimg must be positive. Received: {speed_kimg}")
    step = tf.sign(tf.cast(real_sign_mean, tf.float32) - target) * tf.cast(num_images, tf.float32)
    return tf.clip_by_value(tf.cast(p, tf.float32) + step / (speed_kimg * 1000.0), 0.0, 1.0)
