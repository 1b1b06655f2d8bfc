"""A generator as a versioned SavedModel for TensorFlow Serving, with four signatures.

| signature         | inputs                                                   | outputs                         |
| ----------------- | -------------------------------------------------------- | ------------------------------- |
| `serving_default` | `z` float32 `[N, z_dim]`, `psi` float32 `[]` (+ `labels`) | `images` uint8 `[N, H, W, C]`   |
| `seeds`           | `seeds` int64 `[N]`, `psi` float32 `[]` (+ `labels`)      | `images` uint8 `[N, H, W, C]`   |
| `mapping`         | `z` float32 `[N, z_dim]` (+ `labels`)                     | `ws` float32 `[N, num_ws, w_dim]` (untruncated) |
| `synthesis`       | `ws` float32 `[N, num_ws, w_dim]`                        | `images` uint8 `[N, H, W, C]`   |

`labels` (int32 `[N]`, class ids) is an input only for conditional models. Noise is the stored
`noise_mode="const"` maps, so a request always gives the same images. Pixels are NVIDIA's
`(x * 127.5 + 128)` clipped and truncated to uint8, as `keras_stylegan.sampling.to_uint8`.

The `seeds` signature computes z in-graph exactly as `np.random.RandomState(seed).randn(z_dim)`
(see `numpy_random.py`), so seed 42 served is seed 42 of `kstylegan sample --seeds 42`.
"""
import os
import re

import tensorflow as tf

from keras_stylegan.export.numpy_random import randn_from_seeds
from keras_stylegan.utils.files import atomic_directory

# What a SavedModel folder holds: `--overwrite` replaces a version folder only if it holds nothing else.
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")
SAVED_MODEL_ENTRIES = ("saved_model.pb", "saved_model.pbtxt", "variables", "assets", "assets.extra",
                       "fingerprint.pb", "keras_metadata.pb")


IMAGE_DTYPES = ("uint8", "float32")  # served pixels, or the raw [-1, 1] images


def check_generator(generator):
    needed = ("mapping", "synthesis", "z_dim", "num_classes", "num_ws", "w_dim")
    if not all(hasattr(generator, name) for name in needed):
        raise ValueError(f"`generator` must be a keras_stylegan.Generator. Received: {type(generator).__name__}")
    return generator


def check_image_dtype(image_dtype):
    if image_dtype not in IMAGE_DTYPES:
        raise ValueError(f"`image_dtype` must be one of {IMAGE_DTYPES}. Received: {image_dtype!r}")
    return image_dtype


def to_uint8(images):
    """[-1, 1] -> uint8 in-graph: `keras_stylegan.utils.images.to_uint8` as TF ops (the cast truncates the same way)."""
    return tf.cast(tf.clip_by_value(images * 127.5 + 128.0, 0.0, 255.0), tf.uint8)


class GeneratorFunctions:
    """The generator's serving computations as plain TF functions of tensors (shared with ONNX export).

    Args:
        generator: a `keras_stylegan.Generator`.

    Example:
    >>> functions = GeneratorFunctions(generator)
    >>> sorted(functions.signatures())
    ['mapping', 'seeds', 'serving_default', 'synthesis']
    """

    def __init__(self, generator):
        self.generator = check_generator(generator)
        self.conditional = bool(generator.num_classes)

    def checked_labels(self, labels, batch):
        """Class ids in range and one per latent, checked in-graph (one_hot would zero bad ids silently)."""
        classes = self.generator.num_classes
        checks = [
            tf.debugging.assert_non_negative(labels, message=f"`labels` must be class ids in [0, {classes})"),
            tf.debugging.assert_less(labels, classes, message=f"`labels` must be class ids in [0, {classes})"),
            tf.debugging.assert_equal(tf.shape(labels)[0], batch, message="`labels` must have one id per latent"),
        ]
        with tf.control_dependencies(checks):
            return tf.identity(labels)

    @staticmethod
    def checked_shape(tensor, name, shape):
        """Signatures check dtypes, not shapes: a wrong width would otherwise fail deep inside a matmul."""
        expected = "[" + ", ".join(["N"] + [str(side) for side in shape]) + "]"
        check = tf.debugging.assert_equal(tf.shape(tensor)[1:], tf.constant(shape, tf.int32),
                                          message=f"`{name}` must have shape {expected}")
        with tf.control_dependencies([check]):
            # NaN/inf latents would give blank images, not an error; one reduction per request
            return tf.debugging.assert_all_finite(tensor, f"`{name}` must hold finite numbers")

    def mapping(self, z, labels=None):
        z = self.checked_shape(z, "z", [self.generator.z_dim])
        labels = self.checked_labels(labels, tf.shape(z)[0]) if self.conditional else None
        return self.generator.mapping(z, labels=labels)

    def synthesis(self, ws, image_dtype="uint8"):
        ws = self.checked_shape(ws, "ws", [self.generator.num_ws, self.generator.w_dim])
        images = self.generator.synthesis(ws, noise_mode="const")
        return to_uint8(images) if image_dtype == "uint8" else images

    def generate(self, z, psi, labels=None, image_dtype="uint8"):
        psi = tf.debugging.assert_all_finite(psi, "`psi` must be a finite number")
        ws = self.generator.mapping.truncate(self.mapping(z, labels), psi)
        return self.synthesis(ws, image_dtype)

    def signatures(self, image_dtype="uint8"):
        """`{name: (function, input_signature)}`; every function returns a dict of named outputs."""
        g = self.generator
        z = tf.TensorSpec([None, g.z_dim], tf.float32, name="z")
        psi = tf.TensorSpec([], tf.float32, name="psi")
        seeds = tf.TensorSpec([None], tf.int64, name="seeds")
        ws = tf.TensorSpec([None, g.num_ws, g.w_dim], tf.float32, name="ws")
        labels = [tf.TensorSpec([None], tf.int32, name="labels")] if self.conditional else []

        def serving_default(z, psi, labels=None):
            return {"images": self.generate(z, psi, labels, image_dtype)}

        def from_seeds(seeds, psi, labels=None):
            return {"images": self.generate(randn_from_seeds(seeds, g.z_dim), psi, labels, image_dtype)}

        def mapping(z, labels=None):
            return {"ws": self.mapping(z, labels)}

        def synthesis(ws):
            return {"images": self.synthesis(ws, image_dtype)}

        return {
            "serving_default": (serving_default, [z, psi] + labels),
            "seeds": (from_seeds, [seeds, psi] + labels),
            "mapping": (mapping, [z] + labels),
            "synthesis": (synthesis, [ws]),
        }


def export_saved_model(generator, directory, version=1, overwrite=False):
    """Writes `directory/<version>/`, a SavedModel as TensorFlow Serving loads it.

    See the module docstring for the signatures. Serve `directory` (the parent of the version
    folders): TF Serving picks the highest version. The version is written under a hidden
    temporary name (TF Serving ignores it) and renamed into place once complete; a version it
    replaces is deleted only after that.

    Args:
        generator: a `keras_stylegan.Generator`.
        directory: the model's base directory (created if needed).
        version: positive int, the version folder's name.
        overwrite: replace an existing `directory/<version>/` (only if it holds a SavedModel).

    Returns:
        The path of the version folder.

    Example:
    >>> g = keras_stylegan.Generator(resolution=16, z_dim=16, w_dim=16, channel_base=64, channel_max=16)
    >>> path = export_saved_model(g, "served/tiny")
    >>> import tensorflow as tf
    >>> sorted(tf.saved_model.load(path).signatures)
    ['mapping', 'seeds', 'serving_default', 'synthesis']
    """
    from keras.export import ExportArchive

    from keras_stylegan.utils.files import check_directory_target

    check_generator(generator)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"`version` must be a positive int (TF Serving's version folder). Received: {version!r}")
    path = os.path.join(os.fspath(directory), str(version))
    if os.path.exists(path) and not overwrite:
        raise ValueError(f"`directory` already holds version {version} ({path}): pass another `version` "
                         "(TF Serving serves the highest) or `overwrite=True`")
    check_directory_target(path, overwrite, SAVED_MODEL_ENTRIES, SAVED_MODEL_FILES, "SavedModel")  # before tracing
    archive = ExportArchive()
    for name, (function, input_signature) in GeneratorFunctions(generator).signatures().items():
        archive.add_endpoint(name, function, input_signature=input_signature)
    with atomic_directory(path, overwrite, SAVED_MODEL_ENTRIES, SAVED_MODEL_FILES, "SavedModel") as tmp:
        try:
            archive.write_out(tmp, verbose=False)
        except tf.errors.OpError as error:  # TF's file system reports a full disk as its own error type
            reason = re.sub(r"\s*\[Op:\w+\]$", "", error.message).rsplit("; ", 1)[-1]  # drop TF's op and path
            raise OSError(f"cannot write {path}: {reason}") from None
    return path
