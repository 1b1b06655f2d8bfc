"""`keras_stylegan.zoo.load`: a card name, a local file or directory, or a URL -> networks."""
import os
import urllib.parse

from keras_stylegan.zoo import presets
from keras_stylegan.zoo.registry import get_card


def _is_url(text):
    return urllib.parse.urlparse(str(text)).scheme in ("http", "https")


def _from_file(path, discriminator):
    if presets.is_preset_dir(path):
        g, d, _ = presets.load_preset(path, discriminator=discriminator)
        return g, d
    if os.path.isdir(path):
        raise ValueError(f"{path} is a directory but not a keras_stylegan preset (no config.json)")
    if path.endswith(".keras"):
        import keras

        from keras_stylegan import _registration

        _registration.register_all()
        if discriminator:
            raise ValueError(f"{path} is a single .keras model: it holds no discriminator")
        return keras.saving.load_model(path), None
    from keras_stylegan.zoo.convert import convert_pickle

    out = convert_pickle(path, discriminator=discriminator)
    return out["generator"], out["discriminator"]


def _packaged_preset(card):
    """A preset shipped inside the package (`package:presets/NAME` in the card's urls)."""
    url = card.urls[0]
    if not url.startswith("package:"):
        raise ValueError(f"card {card.name!r}: preset sources must be 'package:<path>'. Received: {url!r}")
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), url[len("package:"):])
    if not presets.is_preset_dir(path):
        raise OSError(f"the packaged preset of {card.name!r} is missing at {path}: reinstall keras-stylegan")
    return path


def _converted_cache(card):
    from keras_stylegan.zoo.download import cache_dir

    return os.path.join(cache_dir("presets"), card.name)


def load(model, discriminator=False, progress=True):
    """Loads a pretrained generator (the EMA generator), and optionally the discriminator.

    Args:
        model: a card name or alias (see `keras_stylegan.zoo.list()`), a local preset
            directory, a `.pkl` file in either of NVIDIA's official formats, a `.keras`
            file, or an http(s) URL of an official pickle.
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
    if os.path.exists(model):
        g, d = _from_file(model, discriminator)
    elif _is_url(model):
        g, d = _from_file(download(model, progress=progress), discriminator)
    else:
        card = get_card(model)
        if discriminator and card.discriminator is None:
            raise ValueError(f"the model card {card.name!r} has no discriminator")
        cached = _converted_cache(card)
        if card.source_format == "preset":
            g, d = _from_file(_packaged_preset(card), discriminator)
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
