"""Sampling: images from seeds, grids, style mixing, latent walks and noise variation.

Seeds work like NVIDIA's scripts: seed `s` gives `z = np.random.RandomState(s).randn(1, z_dim)`,
so a seed names the same latent here as in `generate.py --seeds`. Images come back as uint8
NumPy arrays `[N, H, W, C]` (`C` = the generator's channels: gray, gray+alpha, RGB or RGBA).

References: Karras et al. 2019, "A Style-Based Generator Architecture for GANs" (style
mixing, figure 3; stochastic variation, figures 4-5); NVIDIA's `style_mixing.py` (grid layout).

Example:
>>> g = keras_stylegan.Generator(resolution=16, z_dim=16, w_dim=16, channel_base=64, channel_max=16)
>>> images = generate_images(g, parse_seeds("0-3"), psi=0.7)
>>> images.shape, images.dtype
((4, 16, 16, 3), dtype('uint8'))
>>> image_grid(images).shape
(32, 32, 3)
"""
import math
import os
import re
import weakref

import numpy as np

from keras_stylegan.utils.checks import (NOISE_MODES, check_noise_mode, check_positive_int, check_psi,
                                         check_truncation_cutoff)
from keras_stylegan.utils.images import MODES as IMAGE_MODES
from keras_stylegan.utils.images import to_pil_image, to_uint8
from keras_stylegan.utils.shapes import block_name, block_shapes

# Style layers grouped by the long side of their block (Karras et al. 2019, section 3.1).
STYLE_GROUPS = {"coarse": (4, 8), "middle": (16, 32), "fine": (64, math.inf)}
ANIMATION_EXTENSIONS = (".gif", ".mp4")
MAX_SEED = 2**32 - 1  # np.random.RandomState accepts seeds in [0, 2**32)
MAX_FRAMES = 100_000  # frames of one animation (all are held in memory)
MAX_MIX_CELLS = 10_000  # rows x columns of a style-mixing grid
MAX_NOISE_DRAWS = 1_000  # draws per row of a noise figure
MAX_SEEDS = 100_000  # seeds per call: counted before any list is built, so "0-4294967295" fails at once
_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


def _parse_ranges(text, name, max_count=MAX_SEEDS):
    """`"0-3,7"` -> `[0, 1, 2, 3, 7]`; ranges are inclusive, like NVIDIA's `num_range`.

    At most `max_count` values: the count is checked before the list is built.
    """
    bounds = []
    for part in str(text).replace(" ", "").split(","):
        match = _RANGE.match(part)
        if not match:
            raise ValueError(f"`{name}` must look like '0-15', '1,5,9' or '0-3,7'. Received: {text!r}")
        start, end = int(match.group(1)), int(match.group(2) or match.group(1))
        if end < start:
            raise ValueError(f"`{name}`: the range '{part}' runs backwards (start > end). Received: {text!r}")
        bounds.append((start, end))
    total = sum(end - start + 1 for start, end in bounds)
    if total > max_count:
        raise ValueError(f"`{name}` names {total} values; at most {max_count} are allowed. Received: {text!r}")
    return [value for start, end in bounds for value in range(start, end + 1)]


def parse_seeds(seeds):
    """Reads seeds written like NVIDIA's `--seeds`.

    Args:
        seeds: `"0-15"` (inclusive range), `"1,5,9"`, a mix such as `"0-3,7"`, one int,
            or a list of ints.

    Returns:
        A list of ints in `[0, 2**32)`, at most `MAX_SEEDS` (100,000) of them.

    Example:
    >>> parse_seeds("0-3,7")
    [0, 1, 2, 3, 7]
    """
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        seeds = [int(seeds)]
    if isinstance(seeds, (list, tuple, np.ndarray, range)):
        if len(seeds) > MAX_SEEDS:
            raise ValueError(f"`seeds` holds {len(seeds)} seeds; at most {MAX_SEEDS} are allowed per call")
        values = list(seeds)
        if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in values):
            raise ValueError(f"`seeds` must be ints. Received: {seeds!r}")
    else:
        values = _parse_ranges(seeds, "seeds")
    if not values:
        raise ValueError(f"`seeds` must name at least one seed. Received: {seeds!r}")
    for s in values:
        if not 0 <= s <= MAX_SEED:
            raise ValueError(f"`seeds` must be in [0, {MAX_SEED}]. Received: {s}")
    return [int(s) for s in values]


def seeds_to_z(seeds, z_dim):
    """Latents `[N, z_dim]` (float32) of the seeds, one `RandomState(seed).randn(1, z_dim)` each."""
    return np.concatenate([np.random.RandomState(s).randn(1, z_dim) for s in parse_seeds(seeds)]).astype("float32")


def check_class_label(generator, class_label):
    """`class_label` is `None` or a class index in `[0, num_classes)` of a conditional generator.

    Example:
    >>> g = keras_stylegan.Generator(resolution=16, z_dim=16, w_dim=16, channel_base=64, channel_max=16)
    >>> check_class_label(g, None) is None
    True
    """
    if not generator.num_classes:
        if class_label is not None:
            raise ValueError(f"`class_label` given but the model is unconditional. Received: {class_label!r}")
        return None
    if class_label is None:
        return None
    if isinstance(class_label, bool) or not isinstance(class_label, (int, np.integer)) \
            or not 0 <= class_label < generator.num_classes:
        raise ValueError(f"`class_label` must be a class index in [0, {generator.num_classes}) for this "
                         f"conditional model. Received: {class_label!r}")
    return int(class_label)


def _labels(generator, class_label, seeds):
    """One-hot labels `[len(seeds), num_classes]` for a conditional generator, `None` otherwise.

    Without `class_label`, seed `s` takes class `s % num_classes`, so consecutive seeds show
    every class.
    """
    class_label = check_class_label(generator, class_label)
    if not generator.num_classes:
        return None
    if class_label is None:
        classes = [int(seed) % generator.num_classes for seed in seeds]
    else:
        classes = [class_label] * len(seeds)
    return np.eye(generator.num_classes, dtype="float32")[classes]


def _batches(n, batch_size, progress):
    starts = range(0, n, batch_size)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, unit="batch", leave=False, disable=None)  # no bar off a terminal
    return starts


def map_seeds(generator, seeds, psi=1.0, truncation_cutoff=None, class_label=None):
    """ws `[N, num_ws, w_dim]` (NumPy) of the seeds, truncated with `psi`.

    Example:
    >>> g = keras_stylegan.Generator(resolution=16, z_dim=16, w_dim=16, channel_base=64, channel_max=16)
    >>> map_seeds(g, [0, 1], psi=0.7).shape
    (2, 6, 16)
    """
    from keras import ops

    seeds = parse_seeds(seeds)
    truncation_cutoff = check_truncation_cutoff(truncation_cutoff)
    z = seeds_to_z(seeds, generator.z_dim)
    ws = generator.mapping(z, labels=_labels(generator, class_label, seeds), psi=check_psi(psi),
                           truncation_cutoff=truncation_cutoff)
    return ops.convert_to_numpy(ws)


_COMPILED = weakref.WeakKeyDictionary()  # synthesis network -> {noise_mode: compiled function}


def compiled_synthesis(generator, noise_mode="const"):
    """A compiled `ws -> images` function of the generator's synthesis network, for the running backend.

    TensorFlow: a `tf.function`. JAX: `jax.jit` of the network's stateless call (the variables
    are passed in at each call, so later weight or noise-map changes are seen). PyTorch: the
    eager network under `torch.no_grad()` (`torch.compile` is not used: see
    `benchmarks/backends_speed.py`). The function is kept per network and noise mode, so
    asking again returns the same, already compiled function. TensorFlow compiles once for
    the first batch size and once more, for any batch size, at the second.

    Args:
        generator: a `keras_stylegan.Generator`.
        noise_mode: `"const"`, `"random"` or `"none"` (`"random"` draws fresh noise on every
            backend: under JAX the seed state is advanced and kept).

    Returns:
        A function of ws `[N, num_ws, w_dim]` (NumPy) returning float32 images `[N, H, W, C]`
        (NumPy, `[-1, 1]` scale). Its optional second argument `noise` is a list of noise maps,
        one per noise layer in `synthesis_noise_layers` order, each `[N or 1, H, W, 1]`: they
        replace the stored or drawn noise (except with `noise_mode="none"`).

    Example:
    >>> g = keras_stylegan.Generator(resolution=16, z_dim=16, w_dim=16, channel_base=64, channel_max=16)
    >>> synthesis = compiled_synthesis(g)
    >>> synthesis(map_seeds(g, [0, 1])).shape
    (2, 16, 16, 3)
    """
    check_noise_mode(noise_mode)
    network = generator.synthesis
    functions = _COMPILED.setdefault(network, {})
    if noise_mode not in functions:
        functions[noise_mode] = _compile_synthesis(generator, noise_mode)
    run = functions[noise_mode]
    # The cached function reaches the network through a weak reference (the cache must not keep
    # it alive); the returned one holds it, so it works even when the generator is dropped.
    return lambda ws, noise=None, _network=network: run(ws, noise)


def _compile_synthesis(generator, noise_mode):
    import keras
    from keras import ops

    _as_float32 = lambda ws: np.asarray(ops.convert_to_numpy(ws), "float32")  # noqa: E731 - tensors of any backend
    network = generator.synthesis
    backend = keras.backend.backend()
    network_ref = weakref.ref(network)  # the function may be cached per network: no cycle through it
    if backend == "jax":
        import jax

        @jax.jit
        def run(trainable, non_trainable, ws, noise):
            return network_ref().stateless_call(trainable, non_trainable, ws, noise_mode=noise_mode,
                                                **_noise_argument(noise))

        def synthesis(ws, noise=None):
            network = network_ref()
            images, non_trainable = run([v.value for v in network.trainable_variables],
                                        [v.value for v in network.non_trainable_variables], _as_float32(ws),
                                        _noise_maps(noise))
            for variable, value in zip(network.non_trainable_variables, non_trainable):
                variable.assign(value)  # the seed generators' state, when noise is random
            return _as_float32(images)

        return synthesis
    if backend == "tensorflow":
        import tensorflow as tf

        # The cache holds this function under the network: only a weak reference may point back.
        run = tf.function(lambda ws, noise: network_ref()(ws, noise_mode=noise_mode, **_noise_argument(noise)),
                          reduce_retracing=True)
        return lambda ws, noise=None: _as_float32(run(_as_float32(ws), _noise_maps(noise)))
    if backend == "torch":
        import torch

        def synthesis(ws, noise=None):
            with torch.no_grad():
                return _as_float32(network_ref()(_as_float32(ws), noise_mode=noise_mode,
                                                 **_noise_argument(_noise_maps(noise))))

        return synthesis
    return lambda ws, noise=None: _as_float32(network_ref()(_as_float32(ws), noise_mode=noise_mode,
                                                            **_noise_argument(_noise_maps(noise))))


def _noise_maps(noise):
    """Explicit noise maps as float32 arrays, or `None`."""
    return None if noise is None else [np.asarray(m, "float32") for m in noise]


def _noise_argument(noise):
    # Passed only when given: StyleGAN3's synthesis has no noise inputs (and no `noise` argument).
    return {} if noise is None else {"noise": noise}


def generate(generator, z, labels=None, psi=1.0, truncation_cutoff=None, noise_mode="const", batch_size=8,
             noise=None):
    """Fast `generator(z, ...)`: float images `[N, H, W, C]` (NumPy, `[-1, 1]`) through a compiled synthesis.

    The same images as the Keras call `generator(z, labels=labels, psi=psi, noise_mode=noise_mode)`
    (within float rounding), without its eager op-by-op cost: the synthesis network is compiled
    once per model, noise mode and batch shape, and kept (changing `psi`, `labels` or the
    number of latents does not compile again).

    Args:
        generator: a `keras_stylegan.Generator`.
        z: latents `[N, z_dim]`.
        labels: one-hot `[N, num_classes]` or class ids `[N]` for a conditional generator.
        psi: truncation strength (1 = off).
        truncation_cutoff: truncate only layers below this index (`None`: all).
        noise_mode: `"const"` (default here, reproducible), `"random"` or `"none"`.
        batch_size: images per forward pass.
        noise: explicit noise maps instead of the stored or drawn ones, one per noise layer in
            `synthesis_noise_layers` order, each `[N, H, W, 1]` (sliced per batch) or `[1, H, W, 1]`
            (the same map for every image).

    Returns:
        float32 NumPy array `[N, H, W, C]`.

    Example:
    >>> g = keras_stylegan.Generator(resolution=16, z_dim=16, w_dim=16, channel_base=64, channel_max=16)
    >>> z = np.random.RandomState(0).randn(3, 16).astype("float32")
    >>> generate(g, z, psi=0.7).shape
    (3, 16, 16, 3)
    """
    from keras import ops

    check_noise_mode(noise_mode)
    batch_size = check_positive_int("batch_size", batch_size)
    z = np.asarray(ops.convert_to_numpy(z), "float32")
    if z.ndim != 2 or z.shape[1] != generator.z_dim:
        raise ValueError(f"`z` must have shape [N, {generator.z_dim}]. Received shape: {z.shape}")
    if labels is not None:
        labels = np.asarray(ops.convert_to_numpy(labels))
    if noise is not None:
        noise = [np.asarray(ops.convert_to_numpy(m), "float32") for m in noise]
        if any(m.ndim != 4 or len(m) not in (1, len(z)) for m in noise):
            raise ValueError(f"`noise` maps must be [N, H, W, 1] or [1, H, W, 1] with N = {len(z)}. Received shapes: "
                             f"{[m.shape for m in noise]}")
    synthesis = compiled_synthesis(generator, noise_mode)
    images = []
    for i in range(0, len(z), batch_size):
        ws = generator.mapping(z[i: i + batch_size], labels=None if labels is None else labels[i: i + batch_size],
                               psi=check_psi(psi), truncation_cutoff=check_truncation_cutoff(truncation_cutoff))
        batch_noise = None if noise is None else [m if len(m) == 1 else m[i: i + batch_size] for m in noise]
        images.append(synthesis(ws, batch_noise))
    if not images:
        return np.zeros((0, *generator.resolution, generator.channels), "float32")
    return np.concatenate(images)


def synthesize(generator, ws, noise_mode="const", batch_size=8, progress=False):
    """uint8 images `[N, H, W, C]` from ws `[N, num_ws, w_dim]`, in batches.

    Example:
    >>> g = keras_stylegan.Generator(resolution=16, z_dim=16, w_dim=16, channel_base=64, channel_max=16)
    >>> synthesize(g, map_seeds(g, [0])).shape
    (1, 16, 16, 3)
    """
    check_noise_mode(noise_mode)
    batch_size = check_positive_int("batch_size", batch_size)
    ws = np.asarray(ws, "float32")
    synthesis = compiled_synthesis(generator, noise_mode)
    images = [to_uint8(synthesis(ws[i: i + batch_size])) for i in _batches(len(ws), batch_size, progress)]
    return np.concatenate(images)


def generate_images(generator, seeds, psi=1.0, truncation_cutoff=None, noise_mode="const", class_label=None,
                    batch_size=8, progress=False):
    """One image per seed, as NVIDIA's `generate.py --seeds`.

    Args:
        generator: a `keras_stylegan.Generator`.
        seeds: seeds as for `parse_seeds` (`"0-15"`, `"1,5,9"`, a list of ints).
        psi: truncation strength (1 = off, 0.7 = NVIDIA's usual figure setting).
        truncation_cutoff: truncate only layers below this index (`None`: all).
        noise_mode: `"const"` (reproducible), `"random"` or `"none"`.
        class_label: class index for a conditional generator (default: seed s takes class s % num_classes).
        batch_size: images per forward pass.
        progress: show a progress bar.

    Returns:
        uint8 array `[N, H, W, C]`.

    Example:
    >>> g = keras_stylegan.Generator(resolution=16, channels=4, z_dim=16, w_dim=16, channel_base=64, channel_max=16)
    >>> generate_images(g, "0-2", psi=0.7).shape
    (3, 16, 16, 4)
    """
    seeds = parse_seeds(seeds)
    batch_size = check_positive_int("batch_size", batch_size)
    psi = check_psi(psi)
    check_noise_mode(noise_mode)
    check_class_label(generator, class_label)  # before the progress bar starts
    check_truncation_cutoff(truncation_cutoff)
    synthesis = compiled_synthesis(generator, noise_mode)
    images = []
    for i in _batches(len(seeds), batch_size, progress):  # map per batch: ws of many seeds are large
        ws = map_seeds(generator, seeds[i: i + batch_size], psi, truncation_cutoff, class_label)
        images.append(to_uint8(synthesis(ws)))
    return np.concatenate(images)


def image_grid(images, cols=None):
    """Tiles images `[N, H, W, C]` into one image, row by row; empty cells are 0 (black/transparent).

    Args:
        images: uint8 array `[N, H, W, C]` or a list of `[H, W, C]` arrays of one shape.
        cols: images per row, at most N (default: `ceil(sqrt(N))`).

    Returns:
        uint8 array `[rows * H, cols * W, C]` (channels kept: RGBA stays RGBA, gray stays gray).

    Example:
    >>> image_grid(np.zeros([5, 8, 16, 4], np.uint8), cols=3).shape
    (16, 48, 4)
    """
    images = np.asarray(images)
    if images.ndim == 3:  # [N, H, W]: gray without a channel axis
        images = images[..., None]
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"`images` must be a non-empty batch [N, H, W, C]. Received shape: {images.shape}")
    n, height, width, channels = images.shape
    cols = math.ceil(math.sqrt(n)) if cols is None else check_positive_int("cols", cols)
    if cols > n:  # checked before the grid is allocated: a huge `cols` would ask for terabytes
        raise ValueError(f"`cols` must be at most the number of images ({n}). Received: {cols}")
    rows = math.ceil(n / cols)
    padded = np.zeros((rows * cols, height, width, channels), images.dtype)
    padded[:n] = images
    grid = padded.reshape(rows, cols, height, width, channels).transpose(0, 2, 1, 3, 4)
    return grid.reshape(rows * height, cols * width, channels)


def check_output_path(path, extensions=None):
    """Fails early (before any work) when `path` cannot be written.

    Args:
        path: the output file.
        extensions: allowed extensions such as `(".gif", ".mp4")` (default: any image
            format Pillow writes).

    Example:
    >>> check_output_path("/no/such/dir/grid.png")
    Traceback (most recent call last):
    ...
    ValueError: cannot write /no/such/dir/grid.png: the directory /no/such/dir does not exist
    """
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path))
    extension = os.path.splitext(path)[1].lower()
    if os.path.isdir(path):
        raise ValueError(f"cannot write {path}: it is a directory")
    if extensions is None:
        from PIL import Image

        extensions = tuple(ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.SAVE)
    if extension not in extensions:
        shown = ", ".join(extensions) if len(extensions) < 8 else ".png, .jpg, .webp, ..."
        raise ValueError(f"cannot write {path}: unsupported file extension {extension or '(none)'!r} "
                         f"(use {shown})")
    if not os.path.isdir(parent):
        raise ValueError(f"cannot write {path}: the directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise ValueError(f"cannot write {path}: the directory {parent} is not writable")
    return path


def check_image_format(path, channels):
    """Fails early when the format of `path` cannot store images of `channels` channels (e.g. RGBA as JPEG).

    Example:
    >>> check_image_format("/tmp/grid.jpg", 4)
    Traceback (most recent call last):
    ...
    ValueError: cannot write /tmp/grid.jpg: JPEG cannot store RGBA images (this model makes 4-channel images); use .png
    """
    import io

    from PIL import Image

    mode = IMAGE_MODES[channels]
    fmt = Image.registered_extensions().get(os.path.splitext(os.fspath(path))[1].lower())
    if fmt is None:
        return path
    try:
        Image.new(mode, (1, 1)).save(io.BytesIO(), format=fmt)
    except (OSError, ValueError, KeyError):
        raise ValueError(f"cannot write {path}: {fmt} cannot store {mode} images (this model makes {channels}-channel "
                         f"images); use .png") from None
    return path


def _write_atomically(path, write):
    """`write(tmp_path)` into a temporary file next to `path`, then rename: never a half-written `path`."""
    from keras_stylegan.utils.files import atomic_path

    with atomic_path(path, suffix=os.path.splitext(path)[1]) as tmp:
        write(tmp)
    return path


def save_image(array, path):
    """Writes a uint8 image atomically; the mode follows the channels (L, LA, RGB, RGBA).

    Args:
        array: uint8 `[H, W]` or `[H, W, C]`, C in 1-4.
        path: output file; the extension picks the format (`.png` keeps every mode).

    Returns:
        `path`.

    Example:
    >>> save_image(np.zeros([16, 8, 4], np.uint8), "/tmp/blank.png")
    '/tmp/blank.png'
    """
    from PIL import Image

    check_output_path(path)
    image = to_pil_image(array)
    fmt = Image.registered_extensions()[os.path.splitext(path)[1].lower()]
    return _write_atomically(path, lambda tmp: image.save(tmp, format=fmt))


def layer_block_shapes(generator):
    """The `(height, width)` of the block each style layer (w index) drives.

    Both architectures use two ws per block: StyleGAN2's last ToRGB w belongs to the last block.

    Example:
    >>> g = keras_stylegan.Generator(resolution=16, z_dim=16, w_dim=16, channel_base=64, channel_max=16)
    >>> layer_block_shapes(g)
    [(4, 4), (4, 4), (8, 8), (8, 8), (16, 16), (16, 16)]
    """
    shapes = block_shapes(generator.resolution)
    return [shapes[min(i // 2, len(shapes) - 1)] for i in range(generator.num_ws)]


def style_ranges(generator):
    """The style layers (w indices) of the coarse (4²-8²), middle (16²-32²) and fine (64²+) blocks.

    Args:
        generator: a `keras_stylegan.Generator` (non-square blocks go by their long side).

    Returns:
        `{"coarse": [...], "middle": [...], "fine": [...]}` (a group may be empty on small models).

    Example:
    >>> g = keras_stylegan.Generator(resolution=64, z_dim=16, w_dim=16, channel_base=256, channel_max=16)
    >>> style_ranges(g)
    {'coarse': [0, 1, 2, 3], 'middle': [4, 5, 6, 7], 'fine': [8, 9]}
    """
    sides = [max(shape) for shape in layer_block_shapes(generator)]
    return {name: [i for i, side in enumerate(sides) if low <= side <= high]
            for name, (low, high) in STYLE_GROUPS.items()}


def parse_styles(styles, generator, name="styles"):
    """Style layers (w indices): `"0-6"`, `"coarse"`, `"middle,fine"`, `"0,1,8-9"`, an int or a list of ints.

    Example:
    >>> g = keras_stylegan.Generator(resolution=64, z_dim=16, w_dim=16, channel_base=256, channel_max=16)
    >>> parse_styles("coarse,9", g)
    [0, 1, 2, 3, 9]
    """
    if isinstance(styles, (int, np.integer)) and not isinstance(styles, bool):
        styles = [styles]
    if isinstance(styles, (list, tuple, range, np.ndarray)):
        if any(isinstance(i, bool) or not isinstance(i, (int, np.integer)) for i in styles):
            raise ValueError(f"`{name}` must be ints. Received: {styles!r}")
        layers = [int(s) for s in styles]
    else:
        groups = style_ranges(generator)
        layers = []
        for part in str(styles).replace(" ", "").lower().split(","):
            if part in groups:
                if not groups[part]:
                    raise ValueError(f"`{name}`: this {generator.resolution[1]}x{generator.resolution[0]} model has "
                                     f"no {part} layers ({', '.join(f'{k}: {v}' for k, v in groups.items())}). "
                                     f"Received: {styles!r}")
                layers.extend(groups[part])
            else:
                layers.extend(_parse_ranges(part, name))
    if not layers:
        raise ValueError(f"`{name}` must name at least one style layer. Received: {styles!r}")
    bad = [i for i in layers if not 0 <= i < generator.num_ws]
    if bad:
        raise ValueError(f"`{name}`: layer {bad[0]} is out of range; this model has {generator.num_ws} style layers "
                         f"(0-{generator.num_ws - 1}). Received: {styles!r}")
    return sorted(set(layers))


def style_mixing_grid(generator, row_seeds, col_seeds, styles="coarse", psi=1.0, truncation_cutoff=None,
                      noise_mode="const", class_label=None, batch_size=8):
    """The style-mixing figure of Karras et al. 2019 (figure 3), laid out like NVIDIA's `style_mixing.py`.

    The top row holds the column seeds' images, the left column the row seeds' images (the
    corner is empty). Cell `(r, c)` is row seed `r` with the style layers `styles` taken
    from column seed `c`.

    Args:
        generator: a `keras_stylegan.Generator`.
        row_seeds: seeds of the rows (`"85,100"` or a list).
        col_seeds: seeds of the columns.
        styles: layers copied from the column seed (see `parse_styles`): `"coarse"` (pose,
            shape), `"middle"`, `"fine"` (colors, micro-structure) or indices such as `"0-6"`.
        psi: truncation strength.
        truncation_cutoff: truncate only layers below this index.
        noise_mode: `"const"`, `"random"` or `"none"`.
        class_label: class index for a conditional generator (default: seed s takes class s % num_classes).
        batch_size: images per forward pass.

    Returns:
        uint8 array `[(rows + 1) * H, (cols + 1) * W, C]`.

    Example:
    >>> g = keras_stylegan.Generator(resolution=16, z_dim=16, w_dim=16, channel_base=64, channel_max=16)
    >>> style_mixing_grid(g, "85,100", "55,821,1789", styles="0-1").shape
    (48, 64, 3)
    """
    row_seeds, col_seeds = parse_seeds(row_seeds), parse_seeds(col_seeds)
    if len(row_seeds) * len(col_seeds) > MAX_MIX_CELLS:
        raise ValueError(f"a style-mixing grid holds at most {MAX_MIX_CELLS} mixed cells (rows x columns). "
                         f"Received: {len(row_seeds)} x {len(col_seeds)}")
    styles = parse_styles(styles, generator)
    check_class_label(generator, class_label)
    unique = sorted(set(row_seeds + col_seeds))
    w_of = dict(zip(unique, map_seeds(generator, unique, psi, truncation_cutoff, class_label)))
    ws = [w_of[s] for s in col_seeds]
    for r in row_seeds:
        ws.append(w_of[r])
        for c in col_seeds:
            ws.append(w_of[r].copy())
            ws[-1][styles] = w_of[c][styles]
    images = synthesize(generator, np.stack(ws), noise_mode, batch_size)
    blank = np.zeros_like(images[:1])
    return image_grid(np.concatenate([blank, images]), cols=len(col_seeds) + 1)


def slerp(a, b, t):
    """Spherical interpolation from `a` (t=0) to `b` (t=1) along the last axis; linear when parallel.

    Example:
    >>> slerp(np.array([1.0, 0.0]), np.array([0.0, 1.0]), 0.5).round(4)
    array([0.7071, 0.7071])
    """
    a, b = np.asarray(a, "float64"), np.asarray(b, "float64")
    cos = np.sum(a * b, -1, keepdims=True) / (np.linalg.norm(a, axis=-1, keepdims=True)
                                             * np.linalg.norm(b, axis=-1, keepdims=True))
    omega = np.arccos(np.clip(cos, -1, 1))
    sin = np.sin(omega)
    apart = sin > 1e-6  # (anti)parallel vectors: fall back to lerp
    sin = np.where(apart, sin, 1.0)
    return np.where(apart, np.sin((1 - t) * omega) / sin * a + np.sin(t * omega) / sin * b, a + (b - a) * t)


def interpolate(generator, seeds, frames=60, space="z", psi=1.0, truncation_cutoff=None, noise_mode="const",
                class_label=None, batch_size=8, progress=False):
    """A looping walk through the seeds' latents: seed 1 -> seed 2 -> ... -> seed 1.

    In Z the walk is spherical (slerp: z is Gaussian, its norm stays typical); in W it is
    linear (lerp of the truncated ws). Frame `f` sits at `f * len(seeds) / frames` along
    the loop, so the seeds' own images are frames `0, frames / len(seeds), ...` when that
    divides evenly.

    Args:
        generator: a `keras_stylegan.Generator`.
        seeds: at least two seeds (`"1,2,3"` or a list).
        frames: number of frames of the whole loop.
        space: `"z"` or `"w"`.
        psi: truncation strength.
        truncation_cutoff: truncate only layers below this index.
        noise_mode: `"const"` (smooth), `"random"` (flickers) or `"none"`.
        class_label: class index for a conditional generator (default: seed s takes class s % num_classes).
        batch_size: images per forward pass.
        progress: show a progress bar.

    Returns:
        A list of `frames` uint8 arrays `[H, W, C]`.

    Example:
    >>> g = keras_stylegan.Generator(resolution=16, z_dim=16, w_dim=16, channel_base=64, channel_max=16)
    >>> len(interpolate(g, "1,2,3", frames=6, space="w"))
    6
    """
    from keras import ops

    seeds = parse_seeds(seeds)
    if len(seeds) < 2:
        raise ValueError(f"`seeds` must hold at least two seeds to interpolate. Received: {seeds}")
    frames = check_positive_int("frames", frames)
    if frames > MAX_FRAMES:
        raise ValueError(f"`frames` must be at most {MAX_FRAMES}. Received: {frames}")
    check_class_label(generator, class_label)
    check_psi(psi)
    truncation_cutoff = check_truncation_cutoff(truncation_cutoff)
    check_noise_mode(noise_mode)
    if space not in ("z", "w"):
        raise ValueError(f"`space` must be 'z' or 'w'. Received: {space!r}")
    position = np.arange(frames) * len(seeds) / frames
    start = np.floor(position).astype(int)
    t = (position - start)[:, None]
    start, end = start % len(seeds), (start + 1) % len(seeds)
    if space == "z":
        z = seeds_to_z(seeds, generator.z_dim)
        z = slerp(z[start], z[end], t).astype("float32")
        labels = _labels(generator, class_label, seeds)
        if labels is not None:  # classes change smoothly too: the class embedding is linear in the one-hot
            labels = labels[start] + (labels[end] - labels[start]) * t
        ws = ops.convert_to_numpy(generator.mapping(
            z, labels=labels, psi=check_psi(psi),
            truncation_cutoff=truncation_cutoff))
    else:
        anchors = map_seeds(generator, seeds, psi, truncation_cutoff, class_label)
        ws = anchors[start] + (anchors[end] - anchors[start]) * t[:, :, None].astype("float32")
    return list(synthesize(generator, ws, noise_mode, batch_size, progress))


def check_animation_path(path):
    """`.gif` (Pillow) or `.mp4` (needs the `video` extra: imageio + imageio-ffmpeg); fails early otherwise.

    Example:
    >>> check_animation_path("/tmp/walk.gif")
    '/tmp/walk.gif'
    """
    check_output_path(path, ANIMATION_EXTENSIONS)
    if os.path.splitext(path)[1].lower() == ".mp4":
        try:
            import imageio  # noqa: F401
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            raise ValueError(f"writing {path} needs imageio and imageio-ffmpeg: pip install "
                             f"'keras-stylegan[video]' (or write a .gif)") from None
    return path


def save_animation(frames, path, fps=30):
    """Writes frames as an animated GIF (Pillow) or an MP4 (imageio-ffmpeg), atomically.

    GIFs loop forever; MP4s are RGB (alpha is dropped, gray is repeated).

    Args:
        frames: uint8 arrays `[H, W, C]` of one shape (e.g. from `interpolate`).
        path: `.gif` or `.mp4`.
        fps: frames per second.

    Returns:
        `path`.

    Example:
    >>> save_animation([np.zeros([16, 16, 3], np.uint8)] * 2, "/tmp/blank.gif")
    '/tmp/blank.gif'
    """
    check_animation_path(path)
    if not (isinstance(fps, (int, float)) and 0 < fps <= 1000):
        raise ValueError(f"`fps` must be a number in (0, 1000]. Received: {fps!r}")
    if len(frames) == 0:
        raise ValueError("`frames` must hold at least one frame. Received: 0 frames")
    images = [to_pil_image(frame) for frame in frames]
    if os.path.splitext(path)[1].lower() == ".gif":
        # GIF has no gray+alpha mode; RGBA becomes palette + transparency in Pillow.
        images = [im.convert("RGBA") if im.mode == "LA" else im for im in images]
        return _write_atomically(path, lambda tmp: images[0].save(
            tmp, format="GIF", save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0,
            disposal=2))

    def write_mp4(tmp):
        import imageio

        with imageio.get_writer(tmp, format="FFMPEG", mode="I", fps=fps) as writer:
            for im in images:
                writer.append_data(np.asarray(im.convert("RGB")))

    return _write_atomically(path, write_mp4)


def _block_index(generator, block):
    names = [block_name(shape) for shape in block_shapes(generator.resolution)]
    if block in names:
        return names.index(block)
    if isinstance(block, (int, np.integer)) and not isinstance(block, bool) and 0 <= block < len(names):
        return int(block)
    raise ValueError(f"`block` must be a block index in [0, {len(names)}) or a name in {names}. Received: {block!r}")


def _std_map(images, scale=4.0):
    """Per-pixel std over draws of the color-channel mean (uint8 units, times `scale`, NVIDIA's figure 4)."""
    color = images[..., :3] if images.shape[-1] >= 3 else images[..., :1]
    std = np.std(np.mean(color.astype("float64"), axis=-1), axis=0) * scale
    return np.clip(std + 0.5, 0, 255).astype(np.uint8)


def noise_variation(generator, seed, num_draws=8, psi=1.0, truncation_cutoff=None, noise_mode="random", block=None,
                    hold="const", class_label=None):
    """Stochastic variation: one w, several noise draws (Karras et al. 2019, figures 4 and 5).

    Noise maps are drawn from `RandomState(seed)` after z (so results are reproducible) and passed
    to the synthesis network explicitly (`noise=`); the stored maps are never changed.

    Args:
        generator: a `keras_stylegan.Generator`.
        seed: the seed of z.
        num_draws: images to draw.
        psi: truncation strength.
        truncation_cutoff: truncate only layers below this index.
        noise_mode: noise of the varied layers: `"random"` (a fresh draw per image), or the
            controls `"const"` / `"none"` (every draw identical: the std map is zero).
        block: vary only this block's noise (index, 0 = 4x4, or a name like `"b8"`);
            `None` varies every block.
        hold: noise of the other blocks: `"const"` (stored maps) or `"none"` (zero).
        class_label: class index for a conditional generator (default: seed s takes class s % num_classes).

    Returns:
        `(images, std_map)`: uint8 `[num_draws, H, W, C]` and the uint8 gray `[H, W]` map
        of the per-pixel standard deviation (times 4, as in NVIDIA's figure).

    Example:
    >>> g = keras_stylegan.Generator(resolution=16, z_dim=16, w_dim=16, channel_base=64, channel_max=16)
    >>> images, std_map = noise_variation(g, seed=3, num_draws=4, block="b8")
    >>> images.shape, std_map.shape
    ((4, 16, 16, 3), (16, 16))
    """
    num_draws = check_positive_int("num_draws", num_draws)
    truncation_cutoff = check_truncation_cutoff(truncation_cutoff)
    if num_draws > MAX_NOISE_DRAWS:
        raise ValueError(f"`num_draws` must be at most {MAX_NOISE_DRAWS}. Received: {num_draws}")
    check_noise_mode(noise_mode)
    if hold not in ("const", "none"):
        raise ValueError(f"`hold` must be 'const' or 'none'. Received: {hold!r}")
    from keras_stylegan.networks.synthesis import noise_layers_by_block

    blocks = noise_layers_by_block(generator)
    varied_blocks = range(len(blocks)) if block is None else [_block_index(generator, block)]
    seed = parse_seeds([seed])[0]
    rng = np.random.RandomState(seed)
    z = rng.randn(1, generator.z_dim).astype("float32")  # the same z as generate_images for this seed
    ws = generator.mapping(z, labels=_labels(generator, class_label, [seed]), psi=check_psi(psi),
                           truncation_cutoff=truncation_cutoff)
    synthesis = compiled_synthesis(generator, "const")  # every map is passed explicitly

    def stored(layer):
        return np.asarray(layer.noise_const.numpy(), "float32")

    def zeros(layer):
        return np.zeros(layer.noise_const.shape, "float32")

    images = []
    for _ in range(num_draws):
        maps = []
        for i, layers in enumerate(blocks):
            for layer in layers:
                if i not in varied_blocks:
                    maps.append(zeros(layer) if hold == "none" else stored(layer))
                elif noise_mode == "random":
                    maps.append(rng.randn(*layer.noise_const.shape).astype("float32"))
                else:
                    maps.append(zeros(layer) if noise_mode == "none" else stored(layer))
        images.append(to_uint8(synthesis(ws, [m[None, :, :, None] for m in maps]))[0])
    images = np.stack(images)
    return images, _std_map(images)


def noise_figure(generator, seed, num_draws=4, psi=1.0, truncation_cutoff=None, hold="const", class_label=None):
    """A grid of stochastic variation: row 0 varies every block's noise, row `k + 1` only block `k`.

    Each row holds `num_draws` images and, last, the std map (gray, opaque). Reading down
    the rows shows which resolution's noise moves which details.

    Args:
        generator: a `keras_stylegan.Generator`.
        seed: the seed of z.
        num_draws: noise draws per row.
        psi: truncation strength.
        truncation_cutoff: truncate only layers below this index.
        hold: noise of the blocks not varied: `"const"` or `"none"`.
        class_label: class index for a conditional generator (default: seed s takes class s % num_classes).

    Returns:
        uint8 array `[(num_blocks + 1) * H, (num_draws + 1) * W, C]`.

    Example:
    >>> g = keras_stylegan.Generator(resolution=16, z_dim=16, w_dim=16, channel_base=64, channel_max=16)
    >>> noise_figure(g, seed=3, num_draws=2).shape  # rows: all, b4, b8, b16
    (64, 48, 3)
    """
    rows = []
    for block in [None] + list(range(len(block_shapes(generator.resolution)))):
        images, std_map = noise_variation(generator, seed, num_draws, psi, truncation_cutoff, block=block, hold=hold,
                                          class_label=class_label)
        std_image = np.repeat(std_map[..., None], images.shape[-1], axis=-1)
        if images.shape[-1] in (2, 4):
            std_image[..., -1] = 255  # opaque alpha
        rows.extend(list(images) + [std_image])
    return image_grid(np.stack(rows), cols=num_draws + 1)


__all__ = ["check_animation_path", "check_image_format", "check_output_path", "compiled_synthesis", "generate",
           "generate_images",
           "image_grid", "interpolate", "layer_block_shapes", "map_seeds", "noise_figure", "noise_variation",
           "parse_seeds", "parse_styles",
           "save_animation", "save_image", "seeds_to_z", "slerp", "style_mixing_grid", "style_ranges", "synthesize",
           "to_uint8", "NOISE_MODES"]
