"""Perceptual path length (Karras et al. 2019, section 4.2; NVIDIA's `ppl_zfull`, `ppl_wend`, ...).

The average LPIPS-style distance between images at `t` and `t + epsilon` along random latent
paths, divided by `epsilon^2`: in Z along a great circle (slerp of unit latents), in W along a
line (lerp). `"full"` draws `t` in [0, 1], `"end"` uses `t = 0`. Distances below the 1st and
above the 99th percentile are dropped before averaging, as NVIDIA does. The default distance is
`keras_stylegan.projection.PerceptualDistance`'s VGG16 features without LPIPS' learned layer
weights, so values are NOT comparable with NVIDIA's tables; any pairwise distance can be passed.
"""
import numpy as np

from keras_stylegan.sampling import compiled_synthesis, slerp
from keras_stylegan.utils.checks import check_positive_int

SPACES, SAMPLINGS = ("z", "w"), ("full", "end")
LPIPS_MAX_SIDE = 256  # NVIDIA box-downsamples larger images to 256 before LPIPS


def face_crop(images):
    """NVIDIA's FFHQ crop for PPL: rows `[3/8, 7/8)`, columns `[2/8, 6/8)` of a square image."""
    height, width = images.shape[1:3]
    if height != width:
        raise ValueError(f"the face crop needs square images. Received: {height}x{width}")
    c = height // 8
    return images[:, 3 * c: 7 * c, 2 * c: 6 * c]


def box_downsample(images, max_side=LPIPS_MAX_SIDE):
    """Averages `factor x factor` pixel blocks so that the long side is at most `max_side`."""
    factor = max(1, max(images.shape[1:3]) // max_side)
    if factor == 1:
        return images
    n, height, width, channels = images.shape
    return images.reshape(n, height // factor, factor, width // factor, factor, channels).mean(axis=(2, 4))


def perceptual_pair_distance(image_shape, vgg_weights="imagenet"):
    """`distance(images_a, images_b) -> [N]`: LPIPS-style VGG16 distance of image pairs in [-1, 1].

    Built on `keras_stylegan.projection.PerceptualDistance` (five VGG16 layers, unit-normalized
    along channels, squared differences summed over channels, averaged over positions, summed over
    layers; an alpha channel is seen over black and over white).

    Args:
        image_shape: `(H, W, C)` of the images to compare.
        vgg_weights: `"imagenet"`, a VGG16 notop weights file, or `None` (seeded random weights).

    Example:
    >>> distance = perceptual_pair_distance((32, 32, 3), vgg_weights=None)
    >>> distance(np.zeros([2, 32, 32, 3], "float32"), np.zeros([2, 32, 32, 3], "float32")).tolist()
    [0.0, 0.0]
    """
    import tensorflow as tf

    from keras_stylegan.projection import PerceptualDistance

    network = PerceptualDistance(np.zeros(tuple(image_shape), np.uint8), vgg_weights=vgg_weights)

    def distance(images_a, images_b):
        pairs = zip(network.features(tf.constant(images_a, tf.float32)),
                    network.features(tf.constant(images_b, tf.float32)))
        per_view = sum(tf.reduce_mean(tf.reduce_sum((a - b) ** 2, axis=-1), axis=(1, 2)) for a, b in pairs)
        return tf.reduce_sum(tf.reshape(per_view, [-1, len(images_a)]), axis=0).numpy()  # alpha: 2 views

    return distance


def _paths(generator, rng, n, space, sampling, epsilon):
    """ws `[2n, num_ws, w_dim]`: the n path points at t, then the n points at t + epsilon."""
    t = rng.uniform(size=[n, 1]) if sampling == "full" else np.zeros([n, 1])
    z0, z1 = rng.standard_normal([2, n, generator.z_dim])
    labels = rng.integers(0, generator.num_classes, n) if generator.num_classes else None
    labels = None if labels is None else np.concatenate([labels, labels])
    if space == "z":
        z0, z1 = (z / np.linalg.norm(z, axis=1, keepdims=True) for z in (z0, z1))
        z = np.concatenate([slerp(z0, z1, t), slerp(z0, z1, t + epsilon)]).astype(np.float32)
        return np.asarray(generator.mapping(z, labels=labels))
    ws = np.asarray(generator.mapping(np.concatenate([z0, z1]).astype(np.float32), labels=labels), np.float64)
    w0, w1, t = ws[:n], ws[n:], t[:, :, None]
    return np.concatenate([w0 + (w1 - w0) * t, w0 + (w1 - w0) * (t + epsilon)]).astype(np.float32)


def perceptual_path_length(generator, num_samples=50000, space="w", sampling="end", epsilon=1e-4, crop=False,
                           distance=None, vgg_weights="imagenet", batch_size=8, seed=0, randomize_noise=True,
                           progress=False):
    """Perceptual path length of a generator (lower: smoother latent space).

    Args:
        generator: a `keras_stylegan.Generator` (or any object with `z_dim`, `num_classes`,
            `mapping(z, labels=)` and `synthesis(ws, noise_mode=)`).
        num_samples: paths sampled (NVIDIA: 50000).
        space: `"z"` or `"w"`.
        sampling: `"full"` (t uniform in [0, 1]) or `"end"` (t = 0).
        epsilon: step along the path.
        crop: NVIDIA's face crop (square FFHQ-like images), applied before the distance.
        distance: `distance(images_a, images_b) -> [N]` on [-1, 1] images; default
            `perceptual_pair_distance` with `vgg_weights`.
        vgg_weights: weights of the default distance.
        batch_size: paths per forward pass.
        seed: seed of latents, t and noise.
        randomize_noise: draw fresh noise maps for every batch (shared by both ends of a path),
            as NVIDIA; they are passed to the synthesis explicitly (the stored maps are not changed).
        progress: show a tqdm bar.

    Returns:
        The mean of the per-path distances `d / epsilon^2` between their 1st and 99th percentiles.

    Example:
    >>> g = keras_stylegan.Generator(resolution=32, z_dim=16, w_dim=16, channel_base=64, channel_max=16)
    >>> perceptual_path_length(g, num_samples=16, vgg_weights=None) >= 0
    True
    """
    if space not in SPACES:
        raise ValueError(f"`space` must be one of {SPACES}. Received: {space!r}")
    if sampling not in SAMPLINGS:
        raise ValueError(f"`sampling` must be one of {SAMPLINGS}. Received: {sampling!r}")
    if not (isinstance(epsilon, (int, float)) and 0 < epsilon < 1):
        raise ValueError(f"`epsilon` must be a number in (0, 1). Received: {epsilon!r}")
    num_samples = check_positive_int("num_samples", num_samples)
    batch_size = check_positive_int("batch_size", batch_size)
    rng = np.random.default_rng(seed)
    from keras_stylegan.networks.synthesis import synthesis_noise_layers  # TensorFlow loads here

    noise_shapes = [tuple(layer.noise_const.shape) for layer in synthesis_noise_layers(generator)] \
        if randomize_noise else []
    if distance is None:  # before the progress bar: loading VGG16's weights can fail (offline)
        probe = np.zeros((1, *generator.resolution, generator.channels), np.float32)
        distance = perceptual_pair_distance(box_downsample(face_crop(probe) if crop else probe).shape[1:], vgg_weights)
    starts = range(0, num_samples, batch_size)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc=f"ppl_{space}{sampling}", unit="batch", leave=False, disable=None)
    import keras

    if isinstance(generator.synthesis, keras.layers.Layer):  # compiled once, not run op by op per batch
        synthesis = compiled_synthesis(generator, "const")
    else:
        synthesis = lambda ws: generator.synthesis(ws, noise_mode="const")  # noqa: E731 - duck-typed generators
    distances = []
    for start in starts:
        n = min(batch_size, num_samples - start)
        # One fresh map per layer for the whole batch, both ends of every path (NVIDIA re-draws the stored maps).
        noise = [rng.standard_normal(shape).astype(np.float32)[None, :, :, None] for shape in noise_shapes]
        ws = _paths(generator, rng, n, space, sampling, epsilon)
        images = np.asarray(synthesis(ws, noise) if noise else synthesis(ws), np.float32)
        images = box_downsample(face_crop(images) if crop else images)
        distances.append(np.asarray(distance(images[:n], images[n:]), np.float64) / epsilon**2)
    distances = np.concatenate(distances)
    low, high = np.percentile(distances, 1, method="lower"), np.percentile(distances, 99, method="higher")
    return float(np.mean(distances[(distances >= low) & (distances <= high)]))
