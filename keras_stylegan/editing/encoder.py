"""An image -> w encoder trained on the generator's own samples (a starting point for projection).

The encoder sees pairs `(G(w), w)` with `w` mapped from random z and learns to invert the
synthesis network, like the encoders of Richardson et al. 2021 ("Encoding in Style", pSp) and
Tov et al. 2021 (e4e), here in a small ResNet. It predicts an offset from the generator's mean
w, and its last layer starts at zero, so an untrained encoder answers `w_avg`: the usual start
of projection (Karras et al. 2020, section 5), which a trained one then beats.
"""
import math
import os

import keras
import numpy as np
from keras import ops

from keras_stylegan.layers.serialization import register
from keras_stylegan.utils.checks import check_finite_number, check_positive_int
from keras_stylegan.utils.shapes import parse_resolution

ENCODER_FILE = "encoder.keras"
MIN_FEATURE_SIDE = 4


@register
class EncoderBlock(keras.layers.Layer):
    """Residual block that halves the resolution: two 3x3 convs + average pool, a 1x1 shortcut.

    Args:
        filters: output channels.

    Example:
    >>> tuple(EncoderBlock(8)(np.ones([1, 8, 8, 4], "float32")).shape)
    (1, 4, 4, 8)
    """

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        self.conv0 = keras.layers.Conv2D(self.filters, 3, padding="same", name="conv0")
        self.conv1 = keras.layers.Conv2D(self.filters, 3, padding="same", name="conv1")
        self.skip = keras.layers.Conv2D(self.filters, 1, use_bias=False, name="skip")

    def build(self, input_shape):
        self.conv0.build(input_shape)
        self.conv1.build(tuple(input_shape[:-1]) + (self.filters,))
        self.skip.build(input_shape)

    def call(self, x):
        y = ops.leaky_relu(self.conv0(x), negative_slope=0.2)
        y = ops.leaky_relu(self.conv1(y), negative_slope=0.2)
        y = ops.average_pool(y, 2, 2)
        shortcut = self.skip(ops.average_pool(x, 2, 2))
        return (y + shortcut) * math.sqrt(0.5)  # keeps the variance of the sum

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        return (n, None if h is None else h // 2, None if w is None else w // 2, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters)
        return config


@register
class Encoder(keras.Model):
    """A small ResNet mapping generator images to w (or W+), trained with `train_encoder`.

    Blocks halve the resolution until the short side is 4; a dense head predicts
    `w - w_avg` (zero at initialization). `w_avg` is a stored non-trainable weight, set by
    `train_encoder` to the generator's mean w.

    Args:
        resolution: image size: int, `(height, width)` or `"WxH"` (the generator's).
        channels: image channels (1-4).
        w_dim: width of w.
        num_ws: `None` for one w `[N, w_dim]`; an int for W+ latents `[N, num_ws, w_dim]`.
        base_filters: channels of the first block (doubled per block).
        max_filters: channel cap.

    Call arguments:
        images: float `[N, H, W, C]` on the [-1, 1] scale.

    Example:
    >>> encoder = Encoder(resolution=16, channels=3, w_dim=8, base_filters=8)
    >>> tuple(encoder(np.zeros([2, 16, 16, 3], "float32")).shape)
    (2, 8)
    """

    def __init__(self, resolution, channels=3, w_dim=512, num_ws=None, base_filters=32, max_filters=256,
                 **kwargs):
        super().__init__(**kwargs)
        self.resolution = parse_resolution(resolution)
        self.channels = check_positive_int("channels", channels)
        self.w_dim = check_positive_int("w_dim", w_dim)
        self.num_ws = None if num_ws is None else check_positive_int("num_ws", num_ws)
        self.base_filters = check_positive_int("base_filters", base_filters)
        self.max_filters = check_positive_int("max_filters", max_filters)
        self.stem = keras.layers.Conv2D(self.base_filters, 3, padding="same", name="stem")
        self.blocks = []
        side = min(self.resolution)
        while side > MIN_FEATURE_SIDE:
            filters = min(self.base_filters * 2 ** (len(self.blocks) + 1), self.max_filters)
            self.blocks.append(EncoderBlock(filters, name=f"block{len(self.blocks)}"))
            side //= 2
        self.hidden = keras.layers.Dense(min(2 * self.w_dim, self.max_filters), name="hidden")
        self.head = keras.layers.Dense((self.num_ws or 1) * self.w_dim, kernel_initializer="zeros", name="head")
        self.build((None,) + self.resolution + (self.channels,))

    def build(self, input_shape=None):
        shape = (None,) + self.resolution + (self.channels,)
        self.stem.build(shape)
        shape = shape[:-1] + (self.base_filters,)
        for block in self.blocks:
            block.build(shape)
            shape = block.compute_output_shape(shape)
        self.hidden.build((None, int(np.prod(shape[1:]))))
        self.head.build((None, self.hidden.units))
        self.w_avg = self.add_weight(name="w_avg", shape=(self.w_dim,), initializer="zeros", trainable=False)
        self.built = True

    def call(self, images):
        if images.shape[1:] != self.resolution + (self.channels,):
            raise ValueError(f"images must have shape [N, {self.resolution[0]}, {self.resolution[1]}, "
                             f"{self.channels}]. Received: {tuple(images.shape)}")
        x = ops.leaky_relu(self.stem(ops.cast(images, self.compute_dtype)), negative_slope=0.2)
        for block in self.blocks:
            x = block(x)
        x = ops.leaky_relu(self.hidden(ops.reshape(x, (-1, int(np.prod(x.shape[1:]))))), negative_slope=0.2)
        offset = self.head(x)
        if self.num_ws is not None:
            offset = ops.reshape(offset, (-1, self.num_ws, self.w_dim))
        return self.w_avg + offset

    def check_generator(self, generator):
        """Raises a one-line error unless this encoder fits `generator` (size, channels, w)."""
        mine = (self.resolution, self.channels, self.w_dim)
        theirs = (tuple(generator.resolution), generator.channels, generator.w_dim)
        if mine != theirs or (self.num_ws is not None and self.num_ws != generator.num_ws):
            raise ValueError(f"the encoder (resolution, channels, w_dim, num_ws) = {mine + (self.num_ws,)} does "
                             f"not fit the generator's {theirs + (generator.num_ws,)}")
        return self

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + ((self.num_ws,) if self.num_ws else ()) + (self.w_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(resolution=list(self.resolution), channels=self.channels, w_dim=self.w_dim, num_ws=self.num_ws,
                      base_filters=self.base_filters, max_filters=self.max_filters)
        return config


def load_encoder(path):
    """Reads an `Encoder` saved with `encoder.save(path)` (a `.keras` file; no pickle involved).

    Example:
    >>> encoder = load_encoder("models/tiny/encoder.keras")  # doctest: +SKIP
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"encoder file not found: {path}")
    try:
        encoder = keras.saving.load_model(path)
    except Exception as e:  # Keras raises many types for foreign or broken files
        raise ValueError(f"{path} is not a readable .keras encoder ({type(e).__name__})") from None
    if not isinstance(encoder, Encoder):
        raise ValueError(f"{path} holds a {type(encoder).__name__}, not a keras_stylegan Encoder")
    return encoder


def default_encoder_path(model):
    """Where `kstylegan encoder train` puts an encoder by default, and where `--init encoder` looks.

    A preset directory gets `encoder.keras` inside it; a file `x.pkl` / `x.keras` gets
    `x.encoder.keras` beside it; a card name, `encoder.keras` in its converted preset in the cache.

    Example:
    >>> default_encoder_path("/tmp/no_such_model.pkl")
    '/tmp/no_such_model.encoder.keras'
    """
    model = os.fspath(model)
    if os.path.isdir(model):
        return os.path.join(model, ENCODER_FILE)
    if os.sep in model or os.path.splitext(model)[1] in (".pkl", ".keras"):
        return os.path.splitext(model)[0] + "." + ENCODER_FILE
    from keras_stylegan.zoo.download import cache_dir
    from keras_stylegan.zoo.registry import get_card

    return os.path.join(cache_dir("presets"), get_card(model).name, ENCODER_FILE)


def train_encoder(generator, steps=2000, batch_size=16, encoder=None, w_plus=False, learning_rate=1e-3,
                  pixel_weight=0.0, psi=1.0, noise_mode="random", seed=0, base_filters=32, max_filters=256,
                  callback=None, progress=True):
    """Trains an `Encoder` on pairs `(G(w), w)` drawn from `generator`.

    Each step maps a fresh batch of z to w (truncated with `psi`), renders the images and
    minimizes the mean squared error between the predicted and the true w, plus
    `pixel_weight` times the mean squared error between the images of the predicted w and
    the rendered ones (on the [-1, 1] scale). The generator is not changed.

    Args:
        generator: an unconditional `keras_stylegan.Generator`.
        steps: optimization steps.
        batch_size: images per step.
        encoder: an `Encoder` to train further (`None`: a new one fitted to the generator).
        w_plus: predict W+ latents `[N, num_ws, w_dim]` (new encoders only).
        learning_rate: Adam learning rate.
        pixel_weight: weight of the re-synthesis pixel loss (0: w loss only; > 0 is slower).
        psi: truncation of the training ws.
        noise_mode: noise of the rendered images: `"random"` (robust to noise) or `"const"`.
        seed: seed of the latents.
        base_filters, max_filters: widths of a new encoder.
        callback: called as `callback(step, losses)` with `{"loss", "w", "pixel"}` floats.
        progress: show a tqdm progress bar.

    Returns:
        The trained `Encoder` (its `w_avg` is the generator's mean w).

    Example:
    >>> g = Generator(resolution=16, z_dim=16, w_dim=16, channel_base=64, channel_max=16, mapping_layers=2)
    >>> encoder = train_encoder(g, steps=2, batch_size=4, base_filters=8, progress=False)
    >>> tuple(encoder(np.zeros([1, 16, 16, 3], "float32")).shape)
    (1, 16)
    """
    import tensorflow as tf

    from keras_stylegan.networks.mapping import w_statistics

    steps = check_positive_int("steps", steps)
    batch_size = check_positive_int("batch_size", batch_size)
    if not (isinstance(pixel_weight, (int, float)) and math.isfinite(pixel_weight) and pixel_weight >= 0):
        raise ValueError(f"pixel_weight must be a finite number >= 0. Received: {pixel_weight!r}")
    if not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        learning_rate = check_finite_number("learning_rate", learning_rate, minimum=0, minimum_open=True)
    psi = check_finite_number("psi", psi)
    if encoder is None:
        encoder = Encoder(generator.resolution, generator.channels, generator.w_dim,
                          num_ws=generator.num_ws if w_plus else None, base_filters=base_filters,
                          max_filters=max_filters)
        encoder.w_avg.assign(w_statistics(generator)[0])
    encoder.check_generator(generator)
    optimizer = keras.optimizers.Adam(learning_rate)
    variables = encoder.trainable_variables
    rng = np.random.RandomState(seed)

    @tf.function
    def train_step(z, labels):
        ws = generator.mapping(z, labels=labels, psi=psi)
        images = tf.cast(generator.synthesis(ws, noise_mode=noise_mode), tf.float32)
        target = ws if encoder.num_ws else ws[:, 0]
        with tf.GradientTape() as tape:
            predicted = tf.cast(encoder(images), tf.float32)
            w_loss = tf.reduce_mean((predicted - target) ** 2)
            pixel = tf.constant(0.0)
            if pixel_weight:
                predicted_ws = predicted if encoder.num_ws else tf.repeat(predicted[:, None], generator.num_ws, 1)
                rendered = tf.cast(generator.synthesis(predicted_ws, noise_mode="const"), tf.float32)
                pixel = tf.reduce_mean((rendered - images) ** 2)
            loss = w_loss + pixel_weight * pixel
        optimizer.apply_gradients(zip(tape.gradient(loss, [v.value for v in variables]), variables))
        return dict(loss=loss, w=w_loss, pixel=pixel)

    iterator = range(steps)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="encoder", unit="step", disable=None)
    for step in iterator:
        z = rng.randn(batch_size, generator.z_dim).astype("float32")
        labels = rng.randint(generator.num_classes, size=batch_size) if generator.num_classes else None
        losses = {k: float(v) for k, v in train_step(z, labels).items()}
        if progress and step % 10 == 0:
            iterator.set_postfix(loss=f"{losses['loss']:.4g}")
        if callback is not None:
            callback(step, losses)
    return encoder


__all__ = ["Encoder", "EncoderBlock", "default_encoder_path", "load_encoder", "train_encoder"]
