"""Per-pixel noise injection with learned strength (Karras et al. 2019, section 3.2)."""
import keras
from keras import ops

from keras_stylegan.layers.serialization import register
from keras_stylegan.utils.checks import NOISE_MODES, check_noise_mode  # noqa: F401 - public here too


@register
class NoiseInjection(keras.layers.Layer):
    """Adds single-channel Gaussian noise scaled by a learned strength.

    StyleGAN (2019) learns one strength per channel; StyleGAN2 one scalar. The layer
    also stores a fixed noise map (`noise_const`, NVIDIA's `noise_const` / `noise{i}`)
    for reproducible images.

    Args:
        per_channel: per-channel strengths (StyleGAN 2019) or one scalar (StyleGAN2).
        seed: seed of the random noise stream.

    Call arguments:
        inputs: `[N, H, W, C]`.
        noise_mode: `"random"` (fresh noise each call), `"const"` (the stored map) or
            `"none"` (no noise).
        noise: an explicit map `[N, H, W, 1]` to add instead of drawing one (ignored when
            `noise_mode="none"`).

    Example:
    >>> layer = NoiseInjection(per_channel=False)
    >>> x = np.zeros([1, 4, 4, 2], "float32")
    >>> bool(np.all(layer(x, noise_mode="none") == 0))
    True
    """

    def __init__(self, per_channel=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.per_channel = bool(per_channel)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        _, height, width, channels = input_shape
        self.noise_strength = self.add_weight(
            name="noise_strength", shape=(int(channels),) if self.per_channel else (),
            initializer="zeros",
        )
        self.noise_const = self.add_weight(
            name="noise_const", shape=(int(height), int(width)),
            initializer=keras.initializers.RandomNormal(stddev=1.0, seed=self.seed), trainable=False,
        )

    def call(self, inputs, noise_mode="random", noise=None):
        check_noise_mode(noise_mode)
        if noise_mode == "none":
            return inputs
        if noise is not None:
            noise = ops.cast(noise, inputs.dtype)
        elif noise_mode == "const":
            noise = ops.cast(self.noise_const, inputs.dtype)[None, :, :, None]
        else:
            shape = (ops.shape(inputs)[0], inputs.shape[1], inputs.shape[2], 1)
            noise = keras.random.normal(shape, dtype=inputs.dtype, seed=self.seed_generator)
        return inputs + noise * ops.cast(self.noise_strength, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(per_channel=self.per_channel, seed=self.seed)
        return config


def noise_layers(model):
    """Every `NoiseInjection` layer inside `model` (a network or block), in build order."""
    return [layer for layer in model._flatten_layers(include_self=False) if isinstance(layer, NoiseInjection)]
