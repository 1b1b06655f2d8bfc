"""Minibatch standard deviation (Karras et al. 2018, section 3)."""
import keras
from keras import ops

from keras_stylegan.layers.serialization import register


@register
class MinibatchStdDev(keras.layers.Layer):
    """Appends the average standard deviation over groups of samples as new channels.

    The batch is split into groups of `group_size` (sample i joins group i % (N / G)),
    the channels into `num_channels` parts; each part's stddev over the group is
    averaged over channels and pixels and appended as a constant feature map.

    Args:
        group_size: samples per group (clipped to the batch size, which it must divide).
        num_channels: number of appended channels.

    Example:
    >>> layer = MinibatchStdDev(group_size=2)
    >>> tuple(layer(np.ones([4, 4, 4, 8], "float32")).shape)
    (4, 4, 4, 9)
    """

    def __init__(self, group_size=4, num_channels=1, **kwargs):
        super().__init__(**kwargs)
        self.group_size = None if group_size is None else int(group_size)
        self.num_channels = int(num_channels)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is not None and channels % self.num_channels:
            raise ValueError(f"num_channels ({self.num_channels}) must divide the input channels. Received: {channels}")

    def call(self, inputs):
        x = inputs
        batch = x.shape[0]
        if batch is not None and self.group_size and batch % min(self.group_size, batch):
            raise ValueError(f"group_size ({self.group_size}) must divide the batch size. Received batch: {batch}")
        _, height, width, channels = x.shape
        n = ops.shape(x)[0]
        g = n if self.group_size is None else ops.minimum(self.group_size, n)
        f = self.num_channels
        y = ops.reshape(x, (g, -1, height, width, f, channels // f))
        y = y - ops.mean(y, axis=0)
        y = ops.sqrt(ops.mean(ops.square(y), axis=0) + 1e-8)  # [n, H, W, F, c]
        y = ops.mean(y, axis=(1, 2, 4))  # [n, F]
        y = ops.tile(y[:, None, None, :], (g, height, width, 1))
        return ops.concatenate([x, ops.cast(y, x.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (input_shape[-1] + self.num_channels,)

    def get_config(self):
        config = super().get_config()
        config.update(group_size=self.group_size, num_channels=self.num_channels)
        return config
