"""Local presets: a directory with `config.json`, `model.weights.h5` and `metadata.json`.

`config.json` holds the generator's (and discriminator's) constructor arguments,
`model.weights.h5` the generator weights, `discriminator.weights.h5` the discriminator's
when there is one. Weights may be stored in float16 to halve the size; they are always
loaded into float32 variables. A preset is written into a temporary directory and renamed
into place, so a half-written preset never exists under the final name; an existing directory
is replaced only if it is a preset, and only when asked (`overwrite=True`).

HDF5 files are built in memory and written with plain file I/O, so a full disk is an ordinary
`OSError` (h5py's own file driver can crash the process when a write fails on close).
"""
import json
import os

import numpy as np

from keras_stylegan.utils.files import atomic_directory, check_directory_target, hdf5_bytes, write_bytes

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
D_WEIGHTS_FILE = "discriminator.weights.h5"
METADATA_FILE = "metadata.json"
ENCODER_FILE = "encoder.keras"  # `kstylegan encoder train` saves beside the weights
PRESET_FILES = (CONFIG_FILE, WEIGHTS_FILE, D_WEIGHTS_FILE, METADATA_FILE, ENCODER_FILE)
_SKIP_CONFIG = ("name", "trainable", "dtype")


def _constructor_config(model):
    return {k: v for k, v in model.get_config().items() if k not in _SKIP_CONFIG}


def _key(variable):
    """The variable's path inside its model (the model's own unique name dropped)."""
    return variable.path.split("/", 1)[1]


def _save_weights(model, path, dtype):
    """Writes every variable (by its path) into an HDF5 file, optionally as float16."""
    datasets = {}
    for variable in model.weights:
        value = np.asarray(variable.numpy())
        if dtype == "float16" and value.dtype == np.float32 and "seed_generator" not in variable.path:
            value = value.astype(np.float16)
        datasets[_key(variable)] = value
    write_bytes(path, hdf5_bytes(datasets))


def _load_weights(model, path):
    import h5py

    with h5py.File(path, "r") as f:
        stored = set()
        f.visititems(lambda name, obj: stored.add(name) if isinstance(obj, h5py.Dataset) else None)
        for variable in model.weights:
            if _key(variable) not in stored:
                raise ValueError(f"{path} has no weights for {_key(variable)}: preset and config do not match")
            value = np.asarray(f[_key(variable)][()])
            if value.shape != tuple(variable.shape):
                raise ValueError(f"{path}: {_key(variable)} has shape {value.shape}, expected {tuple(variable.shape)}")
            variable.assign(value.astype(variable.dtype))


def check_preset_target(directory, overwrite=False):
    """Raises `ValueError` unless a preset may be written to `directory` (see `save_preset`); returns its path.

    Example:
    >>> check_preset_target("/tmp/a-new-preset")
    '/tmp/a-new-preset'
    """
    return check_directory_target(directory, overwrite, PRESET_FILES, (CONFIG_FILE,), "preset")


def save_preset(directory, generator, discriminator=None, metadata=None, weights_dtype="float32",
                overwrite=False):
    """Writes a preset directory atomically.

    Nothing of the user's is ever replaced: `directory` must be new, empty, or (with
    `overwrite=True`) an existing preset holding only preset files. `""`, the working directory
    and its parents, files and other non-empty directories are refused with a `ValueError`.
    The old preset (with the `encoder.keras` trained for it, if any) is deleted only once the
    new one is in place.

    Args:
        directory: target directory.
        generator: a `keras_stylegan.Generator`.
        discriminator: optional `keras_stylegan.Discriminator`.
        metadata: JSON-serializable dict (source, license, notes, ...).
        weights_dtype: `"float32"` or `"float16"` (storage only).
        overwrite: replace an existing preset at `directory`.

    Example:
    >>> path = save_preset("my_preset", generator)
    >>> keras_stylegan.zoo.load("my_preset").num_ws == generator.num_ws
    True
    """
    if weights_dtype not in ("float32", "float16"):
        raise ValueError(f"weights_dtype must be 'float32' or 'float16'. Received: {weights_dtype!r}")
    config = {"generator": _constructor_config(generator)}
    if discriminator is not None:
        config["discriminator"] = _constructor_config(discriminator)
    with atomic_directory(directory, overwrite, PRESET_FILES, (CONFIG_FILE,), "preset") as tmp:
        with open(os.path.join(tmp, CONFIG_FILE), "w") as f:
            json.dump(config, f, indent=1)
        with open(os.path.join(tmp, METADATA_FILE), "w") as f:
            json.dump(dict(metadata or {}, weights_dtype=weights_dtype), f, indent=1, default=str)
        _save_weights(generator, os.path.join(tmp, WEIGHTS_FILE), weights_dtype)
        if discriminator is not None:
            _save_weights(discriminator, os.path.join(tmp, D_WEIGHTS_FILE), weights_dtype)
    return os.path.abspath(os.fspath(directory))


def is_preset_dir(path):
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, CONFIG_FILE))


def load_preset(directory, discriminator=False):
    """Reads a preset directory.

    Returns:
        `(generator, discriminator or None, metadata)`.
    """
    from keras_stylegan.networks import Discriminator, Generator

    directory = os.fspath(directory)
    if not is_preset_dir(directory):
        raise ValueError(f"{directory} is not a keras_stylegan preset (no {CONFIG_FILE})")
    with open(os.path.join(directory, CONFIG_FILE)) as f:
        config = json.load(f)
    metadata = {}
    if os.path.isfile(os.path.join(directory, METADATA_FILE)):
        with open(os.path.join(directory, METADATA_FILE)) as f:
            metadata = json.load(f)
    generator = Generator(**config["generator"])
    _load_weights(generator, os.path.join(directory, WEIGHTS_FILE))
    d = None
    if discriminator:
        if "discriminator" not in config:
            raise ValueError(f"the preset {directory} has no discriminator")
        d = Discriminator(**config["discriminator"])
        _load_weights(d, os.path.join(directory, D_WEIGHTS_FILE))
    return generator, d, metadata
