"""Projection of a real image into W or W+ (Karras et al. 2020, "Analyzing and Improving the Image
Quality of StyleGAN", section 5; the schedule of NVIDIA's stylegan2-ada-pytorch `projector.py`).

Adam optimizes one w (or one w per layer for W+) together with the generator's constant noise
maps. It starts from the mean w of 10k mapped latents, jitters w with noise that ramps down
(`w_std * 0.05`, quadratic ramp over the first 75% of the steps), ramps the learning rate up
over the first 5% and down (cosine) over the last 25%, penalizes spatially correlated noise at
every scale (weight 1e5) and renormalizes the noise maps after every step.
"""
import dataclasses
import math
import os

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from keras_stylegan.data.images import canonical_image, convert_channels, fit_image
from keras_stylegan.editing.encoder import load_encoder
from keras_stylegan.layers.noise import noise_layers
from keras_stylegan.networks.mapping import W_AVG_SAMPLES, w_statistics  # noqa: F401 - public here too
from keras_stylegan.utils.images import to_pil_image, to_uint8  # noqa: F401 - public here too

INITIAL_LEARNING_RATE = 0.1
INITIAL_NOISE_FACTOR = 0.05
LR_RAMPDOWN_LENGTH = 0.25
LR_RAMPUP_LENGTH = 0.05
NOISE_RAMP_LENGTH = 0.75
REGULARIZE_NOISE_WEIGHT = 1e5
ADAM_BETAS = (0.9, 0.999)
ADAM_EPSILON = 1e-8

# LPIPS reads VGG16 after the last ReLU of each of its five stages (relu1_2 ... relu5_3).
VGG_LAYERS = ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3")
VGG_MAX_SIZE = 224
VGG_MIN_SIZE = 32  # five 2x poolings
VGG_BGR_MEAN = (103.939, 116.779, 123.68)  # Keras' "caffe" preprocessing of the ImageNet weights
PERCEPTUAL_CHOICES = ("vgg16", None)


@dataclasses.dataclass
class Projection:
    """What `project` found.

    Args:
        ws: float32 `[1, num_ws, w_dim]`: the projected w repeated per layer (W), or W+ latents.
        image: uint8 `[H, W, C]`: the generator's image of `ws` with the optimized `noise`.
        noise: `{variable path: float32 [h, w]}`: the optimized noise maps (`noise_mode="const"`).
        target: uint8 `[H, W, C]`: the target as the generator sees it (resized, channels converted).
        history: one dict per step: `step`, `loss`, `distance` (perceptual), `pixel`, `noise_reg`,
            `learning_rate`; steps stored as snapshots also carry `image` (uint8).
    """

    ws: np.ndarray
    image: np.ndarray
    noise: dict
    target: np.ndarray
    history: list


def read_target(target, channels, resolution):
    """Loads a target image and fits it to a generator: center crop, resize, channel conversion.

    Uses the same Pillow pipeline as `keras_stylegan.data`, so a projection sees the pixels
    training saw.

    Args:
        target: a path to an image file, or a uint8 array `[H, W]` or `[H, W, C]` (C = 1..4).
        channels: the generator's channels (1-4).
        resolution: the generator's `(height, width)`.

    Returns:
        uint8 `[height, width, channels]`.

    Example:
    >>> read_target(np.zeros([40, 30, 3], "uint8"), 4, (16, 16)).shape
    (16, 16, 4)
    """
    if isinstance(target, (str, os.PathLike)):
        path = os.fspath(target)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"target image not found: {path}")
        try:
            with Image.open(path) as image:
                image = canonical_image(image)
        except Exception as e:  # Pillow raises many types for bad files
            raise ValueError(f"target {path} is not a readable image ({type(e).__name__})") from None
    else:
        pixels = np.asarray(target)
        if pixels.ndim == 3 and 1 <= pixels.shape[-1] <= 4:
            pixels = pixels[..., 0] if pixels.shape[-1] == 1 else pixels
        elif pixels.ndim != 2:
            raise ValueError(f"target must be an image path or a uint8 [H, W, C] array with 1 <= C <= 4. "
                             f"Received shape: {pixels.shape}")
        if pixels.dtype != np.uint8:
            raise ValueError(f"target array must be uint8. Received dtype: {pixels.dtype}")
        image = to_pil_image(pixels)
    height, width = resolution
    pixels = np.asarray(fit_image(image, (width, height), "crop"), np.uint8)
    return convert_channels(pixels[..., None] if pixels.ndim == 2 else pixels, channels)


def noise_variables(generator):
    """The `noise_const` maps of every `NoiseInjection` layer of the synthesis network."""
    return [layer.noise_const for layer in noise_layers(generator.synthesis)]


def learning_rate_at(t, initial=INITIAL_LEARNING_RATE):
    """NVIDIA's ramp at progress `t` in [0, 1): linear warm-up, cosine ramp-down."""
    ramp = min(1.0, (1.0 - t) / LR_RAMPDOWN_LENGTH)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    return initial * ramp * min(1.0, t / LR_RAMPUP_LENGTH)


def noise_regularization(noise_maps):
    """Sum over maps and scales (down to 8 px) of squared mean neighbour products, both axes.

    An axis of length 1 (the base of a 4:1 generator) has no neighbours and adds nothing.
    """
    loss = 0.0
    for noise in noise_maps:
        x = noise[None, :, :, None]
        while True:
            for axis in (1, 2):
                if x.shape[axis] > 1:
                    loss += tf.reduce_mean(x * tf.roll(x, 1, axis=axis)) ** 2
            if min(x.shape[1], x.shape[2]) <= 8:
                break
            x = tf.nn.avg_pool2d(x, 2, 2, "VALID")
    return loss


def _vgg_feature_model(vgg_weights, input_size, seed):
    """VGG16 up to the LPIPS layers, with ImageNet weights, a local weights file or seeded random weights."""
    shape = input_size + (3,)
    if vgg_weights == "imagenet":
        try:
            vgg = keras.applications.VGG16(include_top=False, weights="imagenet", input_shape=shape)
        except Exception as e:  # Keras raises a bare Exception when the download fails
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise OSError(f"could not get the VGG16 ImageNet weights ({reason}); offline, pass "
                          "vgg_weights=PATH (CLI: --vgg-weights PATH) to a copy of "
                          "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5, or vgg_weights=None") from None
    elif vgg_weights is None:
        vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=shape)
        rng = np.random.RandomState(seed)  # He-normal, seeded: a reproducible random feature extractor
        for layer in vgg.layers:
            if isinstance(layer, keras.layers.Conv2D):
                kernel = layer.kernel
                fan_in = np.prod(kernel.shape[:-1])
                kernel.assign(rng.randn(*kernel.shape).astype(np.float32) * np.sqrt(2.0 / fan_in))
    else:
        path = os.fspath(vgg_weights)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"vgg_weights must be 'imagenet', None or a weights file. Received: {path!r} "
                                    "(no such file)")
        try:
            vgg = keras.applications.VGG16(include_top=False, weights=path, input_shape=shape)
        except Exception as e:
            raise ValueError(f"could not load VGG16 (include_top=False) weights from {path}: "
                             f"{str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}") from None
    return keras.Model(vgg.inputs, [vgg.get_layer(name).output for name in VGG_LAYERS])


def _vgg_input_size(resolution):
    """Long side scaled to 224 (kept when smaller), each side at least 32."""
    scale = min(VGG_MAX_SIZE, max(resolution)) / max(resolution)
    return tuple(max(VGG_MIN_SIZE, round(side * scale)) for side in resolution)


class PerceptualDistance:
    """LPIPS-style distance on VGG16 features (no learned LPIPS weights).

    Features at five layers are unit-normalized along channels; the distance is the squared
    difference summed over channels, averaged over positions and summed over layers.

    Only RGB enters VGG: gray is repeated to three channels. An image with alpha is seen twice,
    composited over black and over white: the two composites fix both colour and alpha (their
    difference is the alpha), so alpha is matched by the perceptual term alone, with no arbitrary
    background colour and no need for a pixel term.

    Args:
        target: uint8 `[H, W, C]`.
        vgg_weights: `"imagenet"`, a path to VGG16 notop weights, or `None` (seeded random weights).
        seed: seed of the random weights.

    Call arguments:
        images: `[1, H, W, C]` on the [-1, 1] scale.

    Example:
    >>> distance = PerceptualDistance(np.zeros([16, 16, 3], "uint8"), vgg_weights=None)
    >>> float(distance(tf.fill([1, 16, 16, 3], -1.0))) < 1e-6
    True
    """

    def __init__(self, target, vgg_weights="imagenet", seed=0):
        self.channels = target.shape[-1]
        self.input_size = _vgg_input_size(target.shape[:2])
        self.model = _vgg_feature_model(vgg_weights, self.input_size, seed)
        self.target_features = self.features(tf.constant(target[None], tf.float32) / 127.5 - 1)

    def rgb_views(self, images):
        """[-1, 1] images -> batch of RGB views on the [0, 255] scale."""
        pixels = (images + 1) * 127.5
        has_alpha = self.channels in (2, 4)
        colour = pixels[..., : self.channels - has_alpha]
        if colour.shape[-1] == 1:
            colour = tf.repeat(colour, 3, axis=-1)
        if not has_alpha:
            return colour
        alpha = pixels[..., -1:] / 255
        over_black = colour * alpha
        return tf.concat([over_black, over_black + 255 * (1 - alpha)], axis=0)

    def features(self, images):
        x = self.rgb_views(tf.cast(images, tf.float32))
        if tuple(x.shape[1:3]) != self.input_size:
            x = tf.image.resize(x, self.input_size, method="bilinear", antialias=True)
        x = x[..., ::-1] - tf.constant(VGG_BGR_MEAN)
        return [f * tf.math.rsqrt(tf.reduce_sum(f ** 2, axis=-1, keepdims=True) + 1e-20) for f in self.model(x)]

    def __call__(self, images):
        return sum(tf.reduce_sum(tf.reduce_mean(tf.reduce_sum((a - b) ** 2, axis=-1), axis=(1, 2)))
                   for a, b in zip(self.features(images), self.target_features))


def _check_arguments(generator, num_steps, perceptual, pixel_weight):
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or num_steps < 1:
        raise ValueError(f"num_steps must be a positive int. Received: {num_steps!r}")
    if perceptual not in PERCEPTUAL_CHOICES:
        raise ValueError(f"perceptual must be one of {PERCEPTUAL_CHOICES}. Received: {perceptual!r}")
    if not (isinstance(pixel_weight, (int, float)) and math.isfinite(pixel_weight) and pixel_weight >= 0):
        raise ValueError(f"pixel_weight must be a finite number >= 0. Received: {pixel_weight!r}")
    if perceptual is None and pixel_weight == 0:
        raise ValueError("nothing to optimize: pass perceptual='vgg16' or pixel_weight > 0")


def initial_ws(generator, init, target, w_avg, w_plus, encoder=None):
    """The starting latents `[1, num_ws or 1, w_dim]`: the mean w, an encoder's guess for `target`, or given.

    `init="encoder"` takes `encoder` (an `Encoder` or a path to its `.keras` file); an encoder's
    W+ answer is averaged over layers when `w_plus` is off. An array may be `[w_dim]`,
    `[num_ws, w_dim]` (W+ only) or either with a leading 1.
    """
    if isinstance(init, str) and init == "w_avg":
        return np.tile(w_avg, (1, generator.num_ws if w_plus else 1, 1)).astype(np.float32)
    if isinstance(init, str) and init == "encoder":
        if encoder is None:
            raise ValueError("init='encoder' needs encoder= (an Encoder or the path of its .keras file)")
        encoder = encoder if isinstance(encoder, keras.Model) else load_encoder(encoder)
        init = encoder.check_generator(generator)(target[None].astype(np.float32) / 127.5 - 1)
    elif isinstance(init, str):
        raise ValueError(f"init must be 'w_avg', 'encoder' or an array of ws. Received: {init!r}")
    ws = np.asarray(keras.ops.convert_to_numpy(init), np.float32)
    ws = ws.reshape((1,) * (3 - ws.ndim) + ws.shape) if ws.ndim < 3 else ws
    if ws.ndim != 3 or ws.shape[0] != 1 or ws.shape[1] not in (1, generator.num_ws) or ws.shape[2] != generator.w_dim:
        raise ValueError(f"init must hold one latent [w_dim] or [num_ws, w_dim] = [{generator.num_ws}, "
                         f"{generator.w_dim}]. Received shape: {np.shape(init)}")
    if not np.all(np.isfinite(ws)):
        raise ValueError("init holds non-finite values")
    if not w_plus:
        return ws.mean(axis=1, keepdims=True)
    return np.broadcast_to(ws, (1, generator.num_ws, generator.w_dim)).copy()


def project(generator, target, num_steps=1000, w_plus=False, perceptual="vgg16", vgg_weights="imagenet",
            pixel_weight=0.0, seed=0, callback=None, progress=True, snapshot_every=0, init="w_avg", encoder=None):
    """Finds the w (or W+ latents) and noise maps whose image best matches `target`.

    The generator is left as it was: its noise maps are optimized in place (they are the
    `noise_mode="const"` buffers the synthesis reads) and restored afterwards.

    Args:
        generator: a `keras_stylegan.Generator` (conditional ones too: w carries the class).
        target: an image path or a uint8 array `[H, W, C]`; fitted to the generator's
            resolution (center crop + resize) and channels.
        num_steps: optimization steps (NVIDIA uses 1000).
        w_plus: optimize one w per layer (W+) instead of one w for all layers.
        perceptual: `"vgg16"` (LPIPS-style VGG16 distance, see `PerceptualDistance`) or `None`.
        vgg_weights: `"imagenet"` (downloaded once by Keras), a local VGG16 notop weights file,
            or `None` (seeded random weights: works offline, best with `pixel_weight`).
        pixel_weight: weight of the mean squared pixel error on the [-1, 1] scale (all channels).
        seed: seed of the initial noise maps, the w jitter and random VGG weights.
        callback: called as `callback(step, record)` after every step with the history record.
        progress: show a tqdm progress bar.
        snapshot_every: also store the image every this many steps in `history` (0: never);
            the last step is always stored when > 0.
        init: the start: `"w_avg"` (NVIDIA's), `"encoder"` (an encoder's guess, see
            `keras_stylegan.editing.train_encoder`) or an array of ws (`[w_dim]`, `[num_ws, w_dim]`).
        encoder: with `init="encoder"`: an `Encoder` or the path of its `.keras` file.

    Returns:
        A `Projection` (`ws`, `image`, `noise`, `target`, `history`).

    Example:
    >>> g = Generator(resolution=16, z_dim=16, w_dim=16, channel_base=64, channel_max=16, mapping_layers=2)
    >>> target = to_uint8(g.synthesis(g.mapping(np.ones([1, 16], "float32")), noise_mode="const"))[0]
    >>> result = project(g, target, num_steps=5, perceptual=None, pixel_weight=1.0, progress=False)
    >>> result.ws.shape
    (1, 6, 16)
    """
    _check_arguments(generator, num_steps, perceptual, pixel_weight)
    target = read_target(target, generator.channels, generator.resolution)
    distance = None if perceptual is None else PerceptualDistance(target, vgg_weights, seed)
    w_avg, w_std = w_statistics(generator)
    num_ws = generator.num_ws
    rng = np.random.RandomState(seed)
    noise_vars = noise_variables(generator)
    saved_noise = [v.numpy() for v in noise_vars]
    w_opt = keras.Variable(initial_ws(generator, init, target, w_avg, w_plus, encoder), name="w_opt")
    optimizer = keras.optimizers.Adam(INITIAL_LEARNING_RATE, beta_1=ADAM_BETAS[0], beta_2=ADAM_BETAS[1],
                                      epsilon=ADAM_EPSILON)
    params = [w_opt] + noise_vars
    target_images = tf.constant(target[None], tf.float32) / 127.5 - 1
    zero = tf.constant(0.0)

    @tf.function
    def step_fn(w_noise):
        with tf.GradientTape() as tape:
            tape.watch([v.value for v in noise_vars])
            ws = tf.broadcast_to(w_opt + w_noise, (1, num_ws, generator.w_dim))
            images = tf.cast(generator.synthesis(ws, noise_mode="const"), tf.float32)
            dist = zero if distance is None else distance(images)
            pixel = tf.reduce_mean((images - target_images) ** 2)
            reg = noise_regularization([v.value for v in noise_vars])
            loss = dist + pixel_weight * pixel + REGULARIZE_NOISE_WEIGHT * reg
        grads = tape.gradient(loss, [w_opt.value] + [v.value for v in noise_vars])
        optimizer.apply_gradients(zip(grads, params))
        for v in noise_vars:  # renormalize to zero mean, unit variance
            centered = v - tf.reduce_mean(v)
            v.assign(centered * tf.math.rsqrt(tf.reduce_mean(centered ** 2)))
        return dict(loss=loss, distance=dist, pixel=pixel, noise_reg=reg), images

    history = []
    try:
        for v in noise_vars:
            v.assign(rng.randn(*v.shape).astype(np.float32))
        steps = range(num_steps)
        if progress:
            from tqdm.auto import tqdm

            steps = tqdm(steps, desc="project", unit="step", disable=None)
        for step in steps:
            t = step / num_steps
            optimizer.learning_rate = learning_rate_at(t)
            w_noise_scale = w_std * INITIAL_NOISE_FACTOR * max(0.0, 1.0 - t / NOISE_RAMP_LENGTH) ** 2
            losses, images = step_fn(tf.constant(rng.randn(*w_opt.shape) * w_noise_scale, tf.float32))
            record = dict(step=step, learning_rate=learning_rate_at(t), **{k: float(v) for k, v in losses.items()})
            if snapshot_every and (step % snapshot_every == 0 or step == num_steps - 1):
                record["image"] = to_uint8(images[0])
            history.append(record)
            if progress and step % 10 == 0:
                steps.set_postfix(loss=f"{record['loss']:.4g}")
            if callback is not None:
                callback(step, record)
        ws = np.broadcast_to(w_opt.numpy(), (1, num_ws, generator.w_dim)).copy()
        image = to_uint8(generator.synthesis(ws, noise_mode="const"))[0]
        noise = {v.path: v.numpy() for v in noise_vars}
    finally:
        for v, value in zip(noise_vars, saved_noise):
            v.assign(value)
    return Projection(ws=ws, image=image, noise=noise, target=target, history=history)
