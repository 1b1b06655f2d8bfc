"""The learned constant input of the synthesis network (Karras et al. 2019)."""
import keras
from keras import ops

from keras_stylegan.layers.serialization import register


@register
class ConstantInput(keras.layers.Layer):
    """A learned `[H, W, C]` tensor, repeated over the batch.

    Args:
        channels: channels of the constant.
        shape: `(height, width)` of the constant (4x4 by default; 4x2 for 2:1 outputs).
        initializer: `"normal"` (StyleGAN2) or `"ones"` (StyleGAN 2019).

    Call arguments:
        inputs: any tensor whose first dimension is the batch size (e.g. the ws).

    Example:
    >>> layer = ConstantInput(8, shape=(4, 2))
    >>> tuple(layer(np.zeros([3, 16], "float32")).shape)
    (3, 4, 2, 8)
    """

    def __init__(self, channels, shape=(4, 4), initializer="normal", **kwargs):
        super().__init__(**kwargs)
        if initializer not in ("normal", "ones"):
            raise ValueError(f"initializer must be 'normal' or 'ones'. Received: {initializer!r}")
        self.channels = int(channels)
        self.shape = tuple(int(s) for s in shape)
        self.initializer = initializer

    def build(self, input_shape):
        init = keras.initializers.RandomNormal(stddev=1.0) if self.initializer == "normal" else "ones"
        self.const = self.add_weight(name="const", shape=self.shape + (self.channels,), initializer=init)

    def call(self, inputs):
        batch = ops.shape(inputs)[0]
        const = ops.cast(self.const, self.compute_dtype)
        return ops.broadcast_to(const[None], (batch,) + self.shape + (self.channels,))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self.shape + (self.channels,)

    def get_config(self):
        config = super().get_config()
        config.update(channels=self.channels, shape=list(self.shape), initializer=self.initializer)
        return config
