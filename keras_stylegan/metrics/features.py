"""Image features for FID, KID and precision/recall: Keras' ImageNet InceptionV3, pool 2048-d.

NVIDIA (`stylegan2-ada-pytorch`) and TTUR compute FID on the 2015 TensorFlow Inception graph:
TTUR downloads `TTUR_INCEPTION_URL` (a frozen GraphDef), NVIDIA a TorchScript translation of it
(`NVIDIA_INCEPTION_URL`), which this package cannot run. `InceptionFeatures` uses instead Keras'
`InceptionV3(include_top=False, pooling="avg")` with its "imagenet" weights (downloaded once and
cached by Keras in `~/.keras/models`): the same architecture and layer (pool_3), but other
weights and resizing, so FID/KID/precision/recall numbers here are NOT comparable with NVIDIA's
tables; compare models with each other under the same extractor only.
"""
import os

import numpy as np

from keras_stylegan.data import convert_channels

NVIDIA_INCEPTION_URL = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt"
TTUR_INCEPTION_URL = "http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz"
INCEPTION_SIZE = 299
INCEPTION_FEATURES = 2048


class InceptionFeatures:
    """Callable: uint8 images `[N, H, W, C]` -> float64 features `[N, 2048]` (InceptionV3 pool_3).

    Gray is repeated to RGB and alpha composited onto black (`keras_stylegan.data.convert_channels`);
    images are resized to 299x299 (bilinear, antialiased) and scaled to [-1, 1] as InceptionV3 expects.

    Args:
        weights: `"imagenet"` (Keras' download, cached), a path to InceptionV3 notop weights
            (`inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5`), or `None` (random
            weights: a smoke-test extractor only).
        batch_size: images per forward pass.

    Example:
    >>> extract = InceptionFeatures(weights=None)
    >>> extract(np.zeros([2, 32, 32, 3], "uint8")).shape
    (2, 2048)
    """

    def __init__(self, weights="imagenet", batch_size=32):
        import keras

        shape = (INCEPTION_SIZE, INCEPTION_SIZE, 3)
        if weights not in ("imagenet", None) and not os.path.isfile(os.fspath(weights)):
            raise FileNotFoundError(f"`weights` must be 'imagenet', None or a weights file. Received: {weights!r} "
                                    "(no such file)")
        try:
            self.model = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=weights,
                                                        input_shape=shape)
        except Exception as e:  # Keras raises a bare Exception when the download fails
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise OSError(f"could not load the InceptionV3 weights {weights!r} ({reason}); offline, pass a copy of "
                          "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5 (CLI: --inception-weights)") \
                from None
        self.batch_size = batch_size

    def __call__(self, images):
        import tensorflow as tf

        images = np.asarray(images)
        if images.ndim != 4 or images.dtype != np.uint8:
            raise ValueError(f"images must be uint8 [N, H, W, C]. Received: {images.dtype} {images.shape}")
        features = []
        for start in range(0, len(images), self.batch_size):
            x = tf.constant(convert_channels(images[start: start + self.batch_size], 3), tf.float32)
            x = tf.image.resize(x, (INCEPTION_SIZE, INCEPTION_SIZE), method="bilinear", antialias=True)
            features.append(self.model(x / 127.5 - 1, training=False).numpy())
        return np.concatenate(features).astype(np.float64)
