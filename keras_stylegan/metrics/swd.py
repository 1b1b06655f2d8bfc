"""Sliced Wasserstein distance between two image sets (Karras et al. 2018, "Progressive Growing
of GANs", appendix D), in NumPy.

Each image is split into a Laplacian pyramid. At every level, random 7x7 patches are taken from
every image; each set's patches are normalized per channel by that set's mean and standard
deviation. The distance between the two sets of patch descriptors is the sliced Wasserstein
distance: project both sets onto random unit directions, sort the projections, and average the
absolute differences. Lower is better; a set against itself gives 0.
"""
import numpy as np

GAUSSIAN_TAPS = np.float32([1, 4, 6, 4, 1]) / 16  # binomial 5-tap, as cv2.pyrDown / pyrUp
CHUNK_BYTES = 64 << 20  # bound on the projection buffer


def _blur_axis(images, taps, axis):
    """Convolves along `axis` (1 = rows, 2 = columns) with the border reflected (cv2's REFLECT_101)."""
    radius = len(taps) // 2
    pad = [(0, 0)] * images.ndim
    pad[axis] = (radius, radius)
    padded = np.pad(images, pad, mode="reflect")
    size = images.shape[axis]
    return sum(tap * np.take(padded, np.arange(i, i + size), axis=axis) for i, tap in enumerate(taps))


def _blur(images, taps=GAUSSIAN_TAPS):
    return _blur_axis(_blur_axis(images, taps, 1), taps, 2)


def _pyramid_down(images):
    return _blur(images)[:, ::2, ::2]


def _pyramid_up(images, shape):
    """Upsamples by 2 (zeros between samples, then a 4x-gain blur) and crops to `shape` (h, w)."""
    n, height, width, channels = images.shape
    spread = np.zeros((n, 2 * height, 2 * width, channels), np.float32)
    spread[:, ::2, ::2] = images
    return _blur(spread, 2 * GAUSSIAN_TAPS)[:, : shape[0], : shape[1]]


def laplacian_pyramid(images, num_levels):
    """The Laplacian pyramid of a batch of images, finest level first.

    Every level but the last is a band-pass: the level minus the upsampled next (blurred and
    halved) level. The last level is the low-pass residual. Upsampling each level and adding the
    finer one reconstructs the input exactly.

    Args:
        images: `[N, H, W, C]` array (any numeric dtype; computed in float32).
        num_levels: number of levels (1 returns the images).

    Returns:
        A list of `num_levels` float32 arrays `[N, H / 2^i, W / 2^i, C]`.

    Example:
    >>> [level.shape for level in laplacian_pyramid(np.zeros([2, 16, 8, 3]), 3)]
    [(2, 16, 8, 3), (2, 8, 4, 3), (2, 4, 2, 3)]
    """
    pyramid = [np.asarray(images, np.float32)]
    for _ in range(num_levels - 1):
        pyramid.append(_pyramid_down(pyramid[-1]))
        pyramid[-2] = pyramid[-2] - _pyramid_up(pyramid[-1], pyramid[-2].shape[1:3])
    return pyramid


def _to_pixels(images, name):
    """Integers (0..255) as is; floats in [-1, 1] to the same scale, so mixed inputs compare fairly."""
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"`{name}` must be [N, H, W, C]. Received shape: {images.shape}")
    if np.issubdtype(images.dtype, np.integer):
        return images.astype(np.float32)
    return (images.astype(np.float32) + 1) * 127.5


def _descriptors(level, patch_size, patches_per_image, image_index, rng):
    """Random `patch_size` squares from `level` (one per entry of `image_index`), normalized per channel."""
    n, height, width, channels = level.shape
    count = len(image_index)
    top = rng.integers(0, height - patch_size + 1, count)[:, None, None]
    left = rng.integers(0, width - patch_size + 1, count)[:, None, None]
    offsets = np.arange(patch_size)
    patches = level[image_index[:, None, None], top + offsets[:, None], left + offsets[None, :]]
    mean, std = patches.mean(axis=(0, 1, 2), dtype=np.float64), patches.std(axis=(0, 1, 2), dtype=np.float64)
    patches -= mean.astype(np.float32)
    patches /= np.where(std > 1e-6, std, 1).astype(np.float32)  # a constant channel (e.g. opaque alpha) stays 0
    return patches.reshape(count, -1)


def _direction_distances(descriptors_a, descriptors_b, directions):
    """Per direction: the 1-D Wasserstein-1 distance between the two sets' projections.

    For equal-size samples this is the mean absolute difference of the sorted projections.

    Args:
        descriptors_a, descriptors_b: `[M, D]` arrays (same M).
        directions: `[D, K]` unit column vectors.

    Returns:
        `[K]` distances.
    """
    step = max(1, CHUNK_BYTES // (4 * len(descriptors_a)))
    distances = []
    for start in range(0, directions.shape[1], step):
        chunk = directions[:, start: start + step]
        projection_a = np.sort(chunk.T @ descriptors_a.T, axis=1)
        projection_b = np.sort(chunk.T @ descriptors_b.T, axis=1)
        distances.append(np.abs(projection_a - projection_b).mean(axis=1))
    return np.concatenate(distances)


def _random_directions(rng, dims, count):
    directions = rng.standard_normal((dims, count)).astype(np.float32)
    return directions / np.sqrt(np.square(directions).sum(axis=0, keepdims=True))


def _level_shapes(shape, patch_size, min_resolution):
    """Pyramid levels whose long side is >= `min_resolution` and short side fits a patch."""
    shapes = [tuple(shape)]
    while True:
        height, width = (-(-side // 2) for side in shapes[-1])
        if max(height, width) < min_resolution or min(height, width) < patch_size:
            return shapes
        shapes.append((height, width))


def sliced_wasserstein_distance(images_a, images_b, patch_size=7, patches_per_image=128, num_directions=128,
                                num_repeats=4, min_resolution=16, seed=0):
    """Sliced Wasserstein distance between two image sets, per Laplacian-pyramid level (ProGAN).

    Values are multiplied by 1e3, as ProGAN reports them ("SWD x 1e3"). Lower is better. Both
    sets draw their patches at the same random positions (from `seed`), so identical sets give
    exactly 0. When the sets differ in size, `min(N_a, N_b)` images of each are used.

    Args:
        images_a, images_b: `[N, H, W, C]` uint8 or float in [-1, 1]; same H, W, C (any channel
            count, non-square allowed).
        patch_size: side of the square patches (descriptors).
        patches_per_image: patches drawn from every image at every level.
        num_directions: random projection directions per repeat.
        num_repeats: repeats (fresh directions each) averaged together.
        min_resolution: the coarsest level has a long side of at least this.
        seed: seed of the patch positions and the directions.

    Returns:
        A dict: `"swd_<res>"` per level, finest first (`swd_64`, or `swd_<W>x<H>` when not
        square; the coarsest is the low-pass level), and `"swd_avg"`, their mean.

    Example:
    >>> images = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    >>> result = sliced_wasserstein_distance(images, images, patches_per_image=16, num_directions=32)
    >>> sorted(result), result["swd_avg"]
    (['swd_16', 'swd_32', 'swd_avg'], 0.0)
    """
    pixels_a, pixels_b = _to_pixels(images_a, "images_a"), _to_pixels(images_b, "images_b")
    if pixels_a.shape[1:] != pixels_b.shape[1:]:
        raise ValueError(f"`images_a` and `images_b` must have the same [H, W, C]. "
                         f"Received: {pixels_a.shape[1:]} and {pixels_b.shape[1:]}")
    if min(pixels_a.shape[1:3]) < patch_size:
        raise ValueError(f"images must be at least `patch_size` ({patch_size}) on each side. "
                         f"Received: {pixels_a.shape[1:3]}")
    shapes = _level_shapes(pixels_a.shape[1:3], patch_size, min_resolution)
    count = min(len(pixels_a), len(pixels_b))
    if count == 0:
        raise ValueError("`images_a` and `images_b` must each hold at least one image.")

    def descriptors(pixels, level_index, level):
        rng = np.random.default_rng([seed, level_index])  # same draws for both sets
        chosen = np.arange(len(pixels)) if len(pixels) == count else np.sort(rng.choice(len(pixels), count, False))
        return _descriptors(level, patch_size, patches_per_image, np.repeat(chosen, patches_per_image), rng)

    pyramids = [laplacian_pyramid(pixels, len(shapes)) for pixels in (pixels_a, pixels_b)]
    result = {}
    for index, (shape, level_a, level_b) in enumerate(zip(shapes, *pyramids)):
        desc_a, desc_b = descriptors(pixels_a, index, level_a), descriptors(pixels_b, index, level_b)
        rng = np.random.default_rng([seed, index, 1])
        repeats = [_random_directions(rng, desc_a.shape[1], num_directions) for _ in range(num_repeats)]
        distance = np.mean([_direction_distances(desc_a, desc_b, directions).mean() for directions in repeats])
        name = f"swd_{shape[0]}" if shape[0] == shape[1] else f"swd_{shape[1]}x{shape[0]}"
        result[name] = float(distance) * 1e3
    result["swd_avg"] = float(np.mean(list(result.values())))
    return result
