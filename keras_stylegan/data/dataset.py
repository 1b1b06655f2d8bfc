"""`image_dataset`: decoded images into a shuffled, batched `tf.data` pipeline in [-1, 1]."""
import tensorflow as tf

from keras_stylegan.data.images import read_images


def image_dataset(source, resolution, channels=None, batch_size=16, shuffle=True, xflip=False, seed=0,
                  repeat=True, fit="crop", labels=False, drop_remainder=True):
    """Images from a folder, zip or array as float32 NHWC batches in [-1, 1].

    The images are decoded once with Pillow (see `read_images`) and held in memory as uint8;
    `tf.data` shuffles, batches, converts and flips them.

    Args:
        source: a folder of images (recursive), a `.zip` of images, a `.npz`/`.npy` file, or a
            NumPy array `[N, H, W, C]` (uint8, or float in [-1, 1]).
        resolution: an int, `(height, width)` or a `"WxH"` string (`"64x32"`: 64 wide, 32 high).
        channels: 1, 2, 3 or 4 (what the model wants); `None` keeps the source's. RGBA -> RGB
            composites onto black; colour is zeroed where alpha is 0.
        batch_size: images per batch.
        shuffle: shuffle the whole dataset every epoch.
        xflip: mirror each image left-right with probability 1/2.
        seed: seed of the shuffle and the flips.
        repeat: repeat forever.
        fit: `"crop"` (center-crop to the target aspect, then resize) or `"resize"` (stretch).
        labels: yield `(images, labels)` with int32 class ids from the source's `dataset.json`.
        drop_remainder: drop a last batch smaller than `batch_size`.

    Returns:
        `(dataset, info)`: a `tf.data.Dataset` and an `ImageInfo`.

    Example:
    >>> import numpy as np
    >>> ds, info = image_dataset(np.zeros([4, 8, 8, 3], "uint8"), 4, batch_size=2)
    >>> tuple(next(iter(ds)).shape), info.channels
    ((2, 4, 4, 3), 3)
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive int. Received: {batch_size!r}")
    images, info = read_images(source, resolution, channels=channels, fit=fit)
    if labels and info.labels is None:
        raise ValueError(f"labels=True but {info.source} has no labels (NVIDIA's dataset.json).")
    if drop_remainder and not repeat and info.num_images < batch_size:
        raise ValueError(f"`batch_size` {batch_size} is larger than the dataset ({info.num_images} images) "
                         "with drop_remainder=True and repeat=False: no batch would be produced.")
    ds = tf.data.Dataset.from_tensor_slices((images, info.labels) if labels else images)
    if shuffle:
        ds = ds.shuffle(info.num_images, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    # One random bit per image, drawn from a seeded stream that continues across epochs.
    ds = tf.data.Dataset.zip(ds, tf.data.Dataset.random(seed=seed + 1))
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)

    def convert(element, bits):
        batch = tf.cast(element[0] if labels else element, tf.float32) / 127.5 - 1
        if xflip:
            batch = tf.where(tf.reshape(bits % 2 == 1, [-1, 1, 1, 1]), tf.reverse(batch, axis=[2]), batch)
        return (batch, element[1]) if labels else batch

    ds = ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE), info
