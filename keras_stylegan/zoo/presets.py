"""Presets: a directory in KerasHub's layout, or in this package's earlier layout (still read).

Layout written by `save_preset` (KerasHub's: any Keras user can read it without this package's
helpers):

- `config.json`: the generator as Keras serializes it (`module`, `class_name`, `config`,
  `registered_name`), so `keras.saving.deserialize_keras_object(json.load(f))` rebuilds it;
- `model.weights.h5`: its weights in Keras' own weights format (what `model.save_weights`
  writes), so `model.load_weights(".../model.weights.h5")` works on that model;
- `metadata.json`: ours: card, source, license, metrics, weights dtype, versions, date;
- `discriminator.json` and `discriminator.weights.h5`: the same two files for the discriminator,
  when there is one (named like KerasHub's `task.json` / `task.weights.h5` pair).

Weights may be stored in float16 to halve the size (Keras' format stores any dtype; loading
casts to the float32 variables). The earlier layout (`config.json` holding
`{"generator": {...}, "discriminator": {...}}` constructor arguments, weights keyed by variable
path) is still read, so presets already in users' caches and the shipped emoji model load.

A preset is written into a temporary directory and renamed into place, so a half-written preset
never exists under the final name; an existing directory is replaced only if it is a preset, and
only when asked (`overwrite=True`). HDF5 files are built in memory and written with plain file
I/O, so a full disk is an ordinary `OSError` (h5py's own file driver can crash the process when a
write fails on close).
"""
import datetime
import io
import json
import os

import numpy as np

from keras_stylegan.utils.files import atomic_directory, check_directory_target, load_hdf5_variables, write_bytes

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
D_CONFIG_FILE = "discriminator.json"
D_WEIGHTS_FILE = "discriminator.weights.h5"
README_FILE = "README.md"  # the model card a hub shows; written by `upload_preset` if the repo has none
ENCODER_FILE = "encoder.keras"  # `kstylegan encoder train` saves beside the weights
PRESET_FILES = (CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE, D_CONFIG_FILE, D_WEIGHTS_FILE, README_FILE, ENCODER_FILE)
MAX_CONFIG_BYTES = 2**20  # a config is a few hundred bytes: anything larger is not one of ours
_CLASSES = {"generator": "Generator", "discriminator": "Discriminator"}


# The earlier layout: weights keyed by variable path (read only, for presets saved before KerasHub's layout)

def _variable_key(variable):
    """The variable's path inside its model (the model's own unique name dropped)."""
    return variable.path.split("/", 1)[1]


def _load_legacy_weights(model, path):
    load_hdf5_variables(path, {_variable_key(variable): variable for variable in model.weights})


# KerasHub's layout

def _keras_config(model):
    """`keras.saving.serialize_keras_object(model)` without the dtype policy: weights always load as float32."""
    import keras

    config = keras.saving.serialize_keras_object(model)
    config["config"] = {k: v for k, v in config["config"].items() if k != "dtype"}
    return config


def _keras_weights_bytes(model):
    """The model's weights in Keras' own `.weights.h5` format, built in memory (see the module's docstring)."""
    try:  # the writer behind `model.save_weights`, pointed at memory instead of a file
        from keras.src.saving.saving_lib import H5IOStore, _save_state
    except ImportError:  # a Keras that moved them: the public writer through a scratch file
        import shutil
        import tempfile

        scratch = tempfile.mkdtemp()
        try:
            model.save_weights(os.path.join(scratch, WEIGHTS_FILE))
            with open(os.path.join(scratch, WEIGHTS_FILE), "rb") as f:
                return f.read()
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    buffer = io.BytesIO()
    store = H5IOStore(buffer, mode="w")
    _save_state(model, weights_store=store, assets_store=None, inner_path="", visited_saveables=set())
    store.close()
    return buffer.getvalue()


def _as_float16(data):
    """The same HDF5 file with every float32 weight stored as float16 (Keras casts back when loading)."""
    import h5py

    out = io.BytesIO()
    with h5py.File(io.BytesIO(data), "r") as source, h5py.File(out, "w") as target:
        def copy(name, item):
            if isinstance(item, h5py.Dataset):
                value = item[()]
                if value.dtype == np.float32 and "seed_generator" not in name:
                    value = value.astype(np.float16)
                copied = target.create_dataset(name, data=value)
            else:
                copied = target.require_group(name)
            copied.attrs.update(dict(item.attrs))

        source.visititems(copy)
        target.attrs.update(dict(source.attrs))
    return out.getvalue()


def _metadata(metadata, weights_dtype, generator, discriminator):
    import keras

    from keras_stylegan.version import __version__

    parameters = generator.count_params() + (discriminator.count_params() if discriminator is not None else 0)
    return dict(metadata or {}, weights_dtype=weights_dtype, keras_version=keras.__version__,
                keras_stylegan_version=__version__, parameter_count=parameters,
                date_saved=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d@%H:%M:%S"))


def check_preset_target(directory, overwrite=False):
    """Raises `ValueError` unless a preset may be written to `directory` (see `save_preset`); returns its path.

    Example:
    >>> check_preset_target("/tmp/a-new-preset")
    '/tmp/a-new-preset'
    """
    return check_directory_target(directory, overwrite, PRESET_FILES, (CONFIG_FILE,), "preset")


def save_preset(directory, generator, discriminator=None, metadata=None, weights_dtype="float32",
                overwrite=False):
    """Writes a preset directory in KerasHub's layout, atomically.

    Nothing of the user's is ever replaced: `directory` must be new, empty, or (with
    `overwrite=True`) an existing preset holding only preset files. `""`, the working directory
    and its parents, files and other non-empty directories are refused with a `ValueError`.
    The old preset (with the `encoder.keras` trained for it, if any) is deleted only once the
    new one is in place. `Generator.save_to_preset` is the same; `upload_preset` publishes one.

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
    >>> import keras
    >>> restored = keras.saving.deserialize_keras_object(json.load(open("my_preset/config.json")))
    >>> restored.load_weights("my_preset/model.weights.h5")  # Keras' own reader works too
    """
    if weights_dtype not in ("float32", "float16"):
        raise ValueError(f"weights_dtype must be 'float32' or 'float16'. Received: {weights_dtype!r}")
    networks = [(CONFIG_FILE, WEIGHTS_FILE, generator)]
    if discriminator is not None:
        networks.append((D_CONFIG_FILE, D_WEIGHTS_FILE, discriminator))
    with atomic_directory(directory, overwrite, PRESET_FILES, (CONFIG_FILE,), "preset") as tmp:
        for config_file, weights_file, model in networks:
            with open(os.path.join(tmp, config_file), "w") as f:
                json.dump(_keras_config(model), f, indent=1)
            weights = _keras_weights_bytes(model)
            if weights_dtype == "float16":
                weights = _as_float16(weights)
            write_bytes(os.path.join(tmp, weights_file), weights)
        with open(os.path.join(tmp, METADATA_FILE), "w") as f:
            json.dump(_metadata(metadata, weights_dtype, generator, discriminator), f, indent=1, default=str)
    return os.path.abspath(os.fspath(directory))


def is_preset_dir(path):
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, CONFIG_FILE))


def read_json(path, what="file"):
    """A small JSON file (at most `MAX_CONFIG_BYTES`), any failure as one-line `ValueError`."""
    try:
        if os.path.getsize(path) > MAX_CONFIG_BYTES:
            raise ValueError(f"{path} is larger than {MAX_CONFIG_BYTES:,} bytes: not a preset {what}")
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise ValueError(f"{path} is not a valid JSON {what} ({type(error).__name__}: {error})") from None


def preset_layout(directory):
    """`"keras"` (KerasHub's layout), or `"legacy"` (this package's earlier layout); `ValueError` for anything else.

    Example:
    >>> preset_layout(save_preset("layout_example", generator))
    'keras'
    """
    directory = os.fspath(directory)
    if not is_preset_dir(directory):
        raise ValueError(f"{directory} is not a keras_stylegan preset (no {CONFIG_FILE})")
    config = read_json(os.path.join(directory, CONFIG_FILE), "config")
    if isinstance(config, dict) and "class_name" in config:
        return "keras"
    if isinstance(config, dict) and isinstance(config.get("generator"), dict):
        return "legacy"
    raise ValueError(f"{directory} is not a keras_stylegan preset: its {CONFIG_FILE} describes no generator")


def has_discriminator(directory):
    """Whether the preset at `directory` holds a discriminator (either layout)."""
    if preset_layout(directory) == "keras":
        return os.path.isfile(os.path.join(directory, D_CONFIG_FILE))
    return "discriminator" in read_json(os.path.join(directory, CONFIG_FILE), "config")


def weights_files(directory, discriminator=False):
    """The files `load_preset(directory, discriminator)` reads besides `config.json` and `metadata.json`."""
    if preset_layout(directory) == "keras":
        return [WEIGHTS_FILE] + ([D_CONFIG_FILE, D_WEIGHTS_FILE] if discriminator else [])
    return [WEIGHTS_FILE] + ([D_WEIGHTS_FILE] if discriminator else [])


def check_generator_size(where, settings, weights_bytes):
    """Refuses Generator settings that describe a larger network than `weights_bytes` can hold, before building it.

    A hostile or broken config could otherwise make Keras allocate a huge network.
    """
    from keras_stylegan.networks.generator import DEFAULT_CHANNEL_BASE
    from keras_stylegan.utils.shapes import parse_resolution
    from keras_stylegan.zoo.convert import (MAX_CHANNEL_BASE, MAX_CLASSES, MAX_MAPPING_LAYERS, MAX_WIDTH,
                                            ConversionError, int_setting, minimum_generator_weights)

    label = f"{where}: Generator"
    try:
        if not isinstance(settings, dict):
            raise ValueError("its config is not a dict")
        architecture = settings.get("architecture", "stylegan2")
        sizes = dict(
            resolution=max(parse_resolution(settings.get("resolution"))),
            z_dim=int_setting(settings, "z_dim", label, 512),
            w_dim=int_setting(settings, "w_dim", label, 512, minimum=1),
            num_classes=int_setting(settings, "num_classes", label, 0, maximum=MAX_CLASSES),
            mapping_layers=int_setting(settings, "mapping_layers", label, 8, maximum=MAX_MAPPING_LAYERS),
            channel_base=int_setting(settings, "channel_base", label, DEFAULT_CHANNEL_BASE.get(architecture, 32768),
                                      minimum=1, maximum=MAX_CHANNEL_BASE),
            channel_max=int_setting(settings, "channel_max", label, 512, minimum=1, maximum=MAX_WIDTH),
        )
        needed = minimum_generator_weights(sizes)
    except (ConversionError, ValueError, TypeError) as error:
        raise ValueError(f"{where}: invalid Generator settings: {str(error)[:200]}") from None
    if needed * 2 > weights_bytes:  # at least 2 bytes a weight (float16)
        raise ValueError(f"{where}: its settings describe at least {needed:,} weights, but model.weights.h5 has "
                         f"{weights_bytes:,} bytes")


def _build_keras_network(directory, config_file, weights_file, kind):
    """A network from a KerasHub-layout config, checked before it is built, with Keras reading its weights."""
    from keras_stylegan.networks import Discriminator, Generator

    config_path, weights_path = os.path.join(directory, config_file), os.path.join(directory, weights_file)
    config = read_json(config_path, "config")
    expected = _CLASSES[kind]
    class_name = config.get("class_name") if isinstance(config, dict) else None
    if class_name != expected or not str(config.get("module", "")).startswith("keras_stylegan"):
        raise ValueError(f"{config_path} describes a {str(class_name)[:60]}, not a keras_stylegan {expected}")
    settings = config.get("config")
    if not isinstance(settings, dict):
        raise ValueError(f"{config_path}: its 'config' is not a dict of {expected} settings")
    if not os.path.isfile(weights_path):
        raise ValueError(f"the preset {directory} has no {weights_file}")
    if kind == "generator":
        check_generator_size(config_path, settings, os.path.getsize(weights_path))
    cls = Generator if kind == "generator" else Discriminator
    try:
        model = cls.from_config({k: v for k, v in settings.items() if k != "dtype"})
    except (TypeError, ValueError, KeyError) as error:
        raise ValueError(f"{config_path}: invalid {expected} settings: {str(error).strip()[:200]}") from None
    try:
        model.load_weights(weights_path)
    except (ValueError, KeyError, TypeError, OSError) as error:
        message = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ValueError(f"{weights_path} does not match {config_file}: {message[:200]}") from None
    return model


def load_preset(directory, discriminator=False):
    """Reads a preset directory in either layout.

    Returns:
        `(generator, discriminator or None, metadata)`.

    Example:
    >>> g, _, metadata = load_preset(save_preset("load_example", generator, metadata={"source": "doc"}))
    >>> metadata["source"]
    'doc'
    """
    directory = os.fspath(directory)
    layout = preset_layout(directory)
    metadata = {}
    if os.path.isfile(os.path.join(directory, METADATA_FILE)):
        metadata = read_json(os.path.join(directory, METADATA_FILE), "metadata file")
    if discriminator and not has_discriminator(directory):
        raise ValueError(f"the preset {directory} has no discriminator")
    if layout == "keras":
        generator = _build_keras_network(directory, CONFIG_FILE, WEIGHTS_FILE, "generator")
        d = _build_keras_network(directory, D_CONFIG_FILE, D_WEIGHTS_FILE, "discriminator") if discriminator else None
        return generator, d, metadata
    from keras_stylegan.networks import Discriminator, Generator

    config = read_json(os.path.join(directory, CONFIG_FILE), "config")
    generator = Generator(**config["generator"])
    _load_legacy_weights(generator, os.path.join(directory, WEIGHTS_FILE))
    d = None
    if discriminator:
        d = Discriminator(**config["discriminator"])
        _load_legacy_weights(d, os.path.join(directory, D_WEIGHTS_FILE))
    return generator, d, metadata
