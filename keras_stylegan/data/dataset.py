"""Decoded images into shuffled, batched `tf.data` pipelines in [-1, 1].

`image_dataset` reads any source; `training_stream` is the trainer's endless stream, in
which the k-th image shown is fixed by the seed and k alone.
"""
import numpy as np
import tensorflow as tf

from keras_stylegan.data.images import read_images


def _to_float(batch, flips=None):
    """uint8 NHWC -> float32 in [-1, 1], mirrored left-right where the bool vector `flips` is true."""
    batch = tf.cast(batch, tf.float32) / 127.5 - 1
    if flips is not None:
        batch = tf.where(tf.reshape(flips, [-1, 1, 1, 1]), tf.reverse(batch, axis=[2]), batch)
    return batch


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
        batch = _to_float(element[0] if labels else element, bits % 2 == 1 if xflip else None)
        return (batch, element[1]) if labels else batch

    ds = ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE), info


def training_stream(images, batch_size, first_image=0, labels=None, xflip=False, seed=0, class_groups=0,
                    replicas=1):
    """An endless stream of batches in which the k-th image of a run depends on `(seed, k)` only.

    Pass k counts from the start of training: pass `p = k // N` shows the N images in an order
    drawn from `(seed, p)`, and every batch's flips are drawn from `(seed, its first k)`. A run
    resumed at image `first_image` therefore sees exactly the batches an uninterrupted run
    would, and one iterator can serve many ticks (opening a `tf.data` iterator per tick, and
    closing it, costs tens of seconds on a busy CPU).

    Args:
        images: uint8 array `[N, H, W, C]` (from `read_images`).
        batch_size: images per batch.
        first_image: position k of the first image (images shown so far; a multiple of the
            batch size keeps batches aligned with an uninterrupted run).
        labels: optional int array `[N]` of class ids: yields `(images, labels)`.
        xflip: mirror each image left-right with probability 1/2.
        seed: seed of the order and the flips.
        class_groups: with `labels`, the discriminator's minibatch-stddev group size (0: off). Each
            group of every batch then holds distinct images of one class, laid out as
            `MinibatchStdDev` groups them (sample i of a device's batch joins group i % (n / G)).
            The generator's fakes take the batch's labels, so D's stddev feature compares the
            variety within one class of reals and fakes, which a generator that draws one picture
            per class cannot match. Batches are drawn from `(seed, k)`: classes in proportion to
            their size, members without replacement inside a group (not one pass per epoch).
        replicas: devices the batch is split over (in equal consecutive parts).

    Example:
    >>> import numpy as np
    >>> stream = training_stream(np.zeros([5, 4, 4, 3], "uint8"), batch_size=2, first_image=4)
    >>> tuple(next(iter(stream)).shape)
    (2, 4, 4, 3)
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive int. Received: {batch_size!r}")
    num = len(images)
    if num < 1:
        raise ValueError("`images` is empty")
    first_image = int(first_image)
    table = tf.constant(images)
    label_table = None if labels is None else tf.constant(labels, tf.int32)
    seed = tf.constant(int(seed), tf.int64)

    if class_groups and labels is not None and min(class_groups, batch_size // replicas) > 1:
        indices = _class_grouped_indices(labels, batch_size, class_groups, replicas, seed)
        ds = tf.data.Dataset.range(first_image, 2 ** 62, batch_size).map(lambda k: (k, indices(k)))
    else:
        ds = _shuffled_indices(num, batch_size, first_image, seed)

    def convert(position, index):
        flips = None
        if xflip:
            flips = tf.random.stateless_uniform(tf.shape(index), tf.stack([seed + 1, position]), maxval=2,
                                                dtype=tf.int64) == 1
        batch = _to_float(tf.gather(table, index), flips)
        return batch if label_table is None else (batch, tf.gather(label_table, index))

    return ds.map(convert).prefetch(2)


def _shuffled_indices(num, batch_size, first_image, seed):
    """(position of the batch's first image, its image indices): pass p shows all images in an order
    drawn from (seed, p)."""
    def one_pass(index):
        order = tf.random.experimental.stateless_shuffle(tf.range(num, dtype=tf.int64), tf.stack([seed, index]))
        return tf.data.Dataset.from_tensor_slices(order)

    first_pass = first_image // num
    order = tf.data.Dataset.range(first_pass, 2 ** 62).flat_map(one_pass).skip(first_image - first_pass * num)
    ds = tf.data.Dataset.zip(tf.data.Dataset.range(first_image, 2 ** 62), order).batch(batch_size,
                                                                                       drop_remainder=True)
    return ds.map(lambda positions, index: (positions[0], index))


def _class_grouped_indices(labels, batch_size, group_size, replicas, seed):
    """A function from a batch's first position k to its image indices, each minibatch-stddev group
    one class (see `training_stream`)."""
    labels = np.asarray(labels, np.int64)
    local = batch_size // replicas
    group = min(int(group_size), local)
    groups_per_device = local // group
    members = np.argsort(labels, kind="stable")
    classes, starts, counts = np.unique(labels[members], return_index=True, return_counts=True)
    if counts.max() < group:
        raise ValueError(f"class_groups: no class has {group} images to fill a minibatch-stddev group "
                         f"(largest: {counts.max()})")
    # Classes too small for a group are never drawn; the rest in proportion to their size.
    logits = tf.constant(np.where(counts >= group, np.log(counts), -np.inf)[None], tf.float32)
    members, starts, counts = (tf.constant(a, tf.int64) for a in (members, starts, counts))
    num_groups, largest = replicas * groups_per_device, int(np.max(counts))

    def indices(position):
        picked = tf.random.stateless_categorical(logits, num_groups, tf.stack([seed + 2, position]))[0]
        # Distinct members: the top `group` of random keys over each picked class's members.
        keys = tf.random.stateless_uniform([num_groups, largest], tf.stack([seed + 3, position]))
        keys = tf.where(tf.range(largest, dtype=tf.int64)[None] < tf.gather(counts, picked)[:, None], keys, -1.0)
        offsets = tf.cast(tf.math.top_k(keys, group).indices, tf.int64)
        index = tf.gather(members, tf.gather(starts, picked)[:, None] + offsets)  # [groups, group]
        # Device r's batch holds its groups' members at i % groups_per_device, as MinibatchStdDev reads them.
        index = tf.transpose(tf.reshape(index, [replicas, groups_per_device, group]), [0, 2, 1])
        return tf.reshape(index, [batch_size])

    return indices
