"""`keras_stylegan.zoo.load`: a card name, a local file or directory, a hub URI or a URL -> networks."""
import json
import os
import urllib.parse
import zipfile
import zlib

from keras_stylegan.zoo import hub, presets
from keras_stylegan.zoo.registry import get_card, packaged_preset_path


def _is_url(text):
    return urllib.parse.urlparse(str(text)).scheme in ("http", "https")


def _from_file(path, discriminator):
    if presets.is_preset_dir(path):
        g, d, _ = presets.load_preset(path, discriminator=discriminator)
        return g, d
    if os.path.isdir(path):
        raise ValueError(f"{path} is a directory but not a keras_stylegan preset (no config.json)")
    if path.endswith(".keras"):
        if discriminator:
            raise ValueError(f"{path} is a single .keras model: it holds no discriminator")
        return _load_keras_generator(path), None
    from keras_stylegan.zoo.convert import convert_pickle

    out = convert_pickle(path, discriminator=discriminator)
    return out["generator"], out["discriminator"]


_KERAS_MEMBERS = ("config.json", "model.weights.h5")
_MAX_KERAS_CONFIG_BYTES = 2**20


def _keras_file_config(path):
    """The Generator settings of a `.keras` file, checked before Keras builds anything from them."""
    from keras_stylegan.zoo.pickles import EXPANSION_LIMIT, SMALL_FILE_ALLOWANCE

    limit = EXPANSION_LIMIT * os.path.getsize(path) + SMALL_FILE_ALLOWANCE
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: info for info in archive.infolist()}
            missing = [name for name in _KERAS_MEMBERS if name not in members]
            if missing:
                raise ValueError(f"{path} is not a Keras model file: it has no {' or '.join(missing)}")
            for info in members.values():
                if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    raise ValueError(f"{path}: member {info.filename!r} is encrypted or oddly compressed")
                if info.file_size > limit:
                    raise ValueError(f"{path}: member {info.filename!r} expands to {info.file_size:,} bytes, more "
                                     f"than {EXPANSION_LIMIT}x the file")
            if members["config.json"].file_size > _MAX_KERAS_CONFIG_BYTES:
                raise ValueError(f"{path}: config.json is larger than {_MAX_KERAS_CONFIG_BYTES:,} bytes")
            config = json.loads(archive.read("config.json"))
            weights_bytes = members["model.weights.h5"].file_size
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, UnicodeDecodeError,
            RecursionError) as error:
        raise ValueError(f"{path} is not a valid .keras file ({type(error).__name__}: {error})") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: config.json is not valid JSON ({error})") from None
    class_name = config.get("class_name") if isinstance(config, dict) else None
    if class_name != "Generator" or not str(config.get("module", "")).startswith("keras_stylegan"):
        raise ValueError(f"{path} holds a {str(class_name)[:60]}, not a keras_stylegan Generator")
    return config.get("config"), weights_bytes


def _load_keras_generator(path):
    """A `Generator` saved as `.keras`, checked as a zip and against its weights before Keras builds it."""
    settings, weights_bytes = _keras_file_config(path)
    presets.check_generator_size(path, settings, weights_bytes)
    import keras

    from keras_stylegan.networks import Generator

    try:
        model = keras.saving.load_model(path)
    except (ValueError, KeyError, TypeError, AttributeError, OSError, zipfile.BadZipFile, zlib.error, EOFError,
            RuntimeError, NotImplementedError, OverflowError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ValueError(f"could not load {path}: {type(error).__name__}: {message[:200]}") from None
    if not isinstance(model, Generator):
        raise ValueError(f"{path} holds a {type(model).__name__}, not a keras_stylegan Generator")
    return model


def _converted_cache(card):
    from keras_stylegan.zoo.download import cache_dir

    return os.path.join(cache_dir("presets"), card.name)


def load(model, discriminator=False, progress=True):
    """Loads a pretrained generator (the EMA generator), and optionally the discriminator.

    Args:
        model: a card name or alias (see `keras_stylegan.zoo.list()`), a local preset
            directory (KerasHub's layout or this package's earlier one), a preset on a hub
            (`hf://owner/repo`, `kaggle://owner/model/keras/variant`: see
            `keras_stylegan.zoo.hub`), a `.pkl` file in either of NVIDIA's official formats, a
            `.keras` file, or an http(s) URL of an official pickle.
        discriminator: also return the discriminator.
        progress: show a progress bar while downloading.

    Returns:
        The `Generator`, or `(generator, discriminator)` when `discriminator=True`.

    A card's pickle is downloaded once into the cache (`KERAS_HOME`, or
    `~/.keras/keras_stylegan`), converted with the safe reader, and kept as a preset so
    later loads read no pickle. Offline, a one-line error names the URL and says how to
    load a file placed by hand.

    Example:
    >>> g = keras_stylegan.zoo.load("ffhq")  # doctest: +SKIP
    >>> g = keras_stylegan.zoo.load("/path/to/stylegan2-ffhq-config-f.pkl")  # doctest: +SKIP
    """
    from keras_stylegan.zoo.download import download

    model = os.fspath(model)
    if hub.is_hub_uri(model):
        g, d, _ = presets.load_preset(hub.fetch_preset(model, discriminator=discriminator), discriminator=discriminator)
    elif os.path.exists(model):
        g, d = _from_file(model, discriminator)
    elif _is_url(model):
        g, d = _from_file(download(model, progress=progress), discriminator)
    else:
        card = get_card(model)
        if discriminator and card.discriminator is None:
            raise ValueError(f"the model card {card.name!r} has no discriminator")
        cached = _converted_cache(card)
        if card.source_format == "preset":
            g, d = _from_file(packaged_preset_path(card), discriminator)
        elif presets.is_preset_dir(cached):
            g, d, _ = presets.load_preset(cached, discriminator=discriminator)
        else:
            path = download(card.urls[0], sha256=card.sha256, filename=f"{card.name}.pkl", progress=progress)
            from keras_stylegan.zoo.convert import convert_pickle

            out = convert_pickle(path, discriminator=card.discriminator is not None)
            g, d = out["generator"], out["discriminator"]
            metadata = dict(out["metadata"], card=card.name, license=card.license, source=card.urls[0])
            presets.save_preset(cached, g, d, metadata=metadata)
    return (g, d) if discriminator else g
