"""Model cards and the registry of the model zoo.

A model card describes one published model in a small JSON file: its name and
aliases, the keyword arguments of `keras_stylegan.Generator` and `Discriminator`,
where the weights come from (URLs and file format), license and paper. Built-in
cards ship in the package `keras_stylegan.cards` (the repository's `zoo/` folder);
other packages add cards through the entry-point group `keras_stylegan.zoo`. Both
are read lazily, on the first `list_cards()`, `get_card()` or `register()`.

Importing this module does not import TensorFlow.
"""
from __future__ import annotations

import dataclasses
import difflib
import importlib.metadata
import importlib.resources
import json
import math
import os
import re
import threading
import types
import warnings
from collections.abc import Mapping

from keras_stylegan.utils.shapes import format_resolution, parse_resolution

ENTRY_POINT_GROUP = "keras_stylegan.zoo"
CARDS_PACKAGE = "keras_stylegan.cards"
ARCHITECTURES = ("stylegan", "stylegan2", "stylegan3")  # as keras_stylegan.networks, without importing Keras
SOURCE_FORMATS = ("tf1-pickle", "pytorch-pickle", "preset")
REQUIRED_FIELDS = ("name", "architecture", "resolution", "generator", "urls", "source_format", "license")
_PICKLE_FORMATS = ("tf1-pickle", "pytorch-pickle")
_ID = re.compile(r"[a-z0-9][a-z0-9._-]*\Z")
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")
_ARXIV = re.compile(r"\d{4}\.\d{4,5}\Z")
_REPO = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+\Z")
_ID_RULE = "a lowercase id (letters, digits, '.', '_', '-')"
_UNSET = object()


def _freeze(value):
    """JSON-like value -> read-only mappings and tuples (a frozen card stays frozen)."""
    if isinstance(value, Mapping):
        return types.MappingProxyType({key: _freeze(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(item) for item in value)
    return value


def _thaw(value):
    """The inverse of `_freeze`: plain dicts and lists, ready for `json.dumps`."""
    if isinstance(value, Mapping):
        return {key: _thaw(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [_thaw(item) for item in value]
    return value


@dataclasses.dataclass(frozen=True)
class ModelCard:
    """One published model: architecture config, source, license and paper.

    Cards are validated when created; an invalid card raises a one-line `ValueError`
    naming where it came from and the field. `generator` and `discriminator` hold
    the keyword arguments of `keras_stylegan.Generator` and `Discriminator`.

    Args:
        name: lowercase id, e.g. `"stylegan2-ffhq-1024"`.
        aliases: other names that resolve to this card, e.g. `("ffhq",)`.
        description: one sentence for listings.
        architecture: `"stylegan"` (2019) or `"stylegan2"`.
        resolution: network output as `"WxH"`, e.g. `"1024x1024"`.
        content_resolution: `"WxH"` of the image content when it is letterboxed in the
            output (LSUN Car: `"512x384"` in a 512x512 frame), else `None`.
        channels: image channels (1-4).
        conditional: the model takes class labels.
        num_classes: number of classes (0 when unconditional).
        generator: `keras_stylegan.Generator` keyword arguments.
        discriminator: `keras_stylegan.Discriminator` keyword arguments, or `None` when
            the source has no discriminator (or one this library cannot represent).
        truncation: the source's default sampling truncation, `{"psi": .., "cutoff": ..}`.
        urls: download locations, preferred first, all in `source_format`.
        source_format: `"tf1-pickle"`, `"pytorch-pickle"` or `"preset"`.
        sha256: checksum of the file, or `None` (NVIDIA publishes none; the downloader
            records the first download's hash).
        license: license of the weights.
        paper: `{"title": .., "arxiv": ..}`.
        source_repo: GitHub `owner/name` of the code that published the weights.
        notes: provenance details and anything that could not be confirmed.

    Example:
    >>> card = ModelCard(name="tiny", architecture="stylegan2", resolution="16x16",
    ...                  generator={"architecture": "stylegan2", "resolution": 16},
    ...                  urls=["https://example.com/tiny.pkl"], source_format="pytorch-pickle",
    ...                  license="MIT")
    >>> ModelCard.from_dict(card.to_dict()) == card
    True
    """

    name: str
    aliases: tuple = ()
    description: str = ""
    architecture: str = None
    resolution: str = None
    content_resolution: str = None
    channels: int = 3
    conditional: bool = False
    num_classes: int = 0
    generator: Mapping = None
    discriminator: Mapping = None
    truncation: Mapping = None
    urls: tuple = ()
    source_format: str = None
    sha256: str = None
    license: str = None
    paper: Mapping = None
    source_repo: str = None
    notes: str = ""
    _source: dataclasses.InitVar[str] = None

    def __hash__(self):  # the dict fields are unhashable; equal cards share a name
        return hash(self.name)

    def __post_init__(self, _source):
        for field in dataclasses.fields(self):
            object.__setattr__(self, field.name, _freeze(getattr(self, field.name)))
        if isinstance(self.sha256, str):
            object.__setattr__(self, "sha256", self.sha256.lower())
        _validate(self, _source or f"model card {self.name!r}")

    @classmethod
    def from_dict(cls, data, source=None):
        """Builds and validates a card from a JSON-like dict.

        Args:
            data: the card's fields.
            source: where the dict came from, for error messages.

        Example:
        >>> card = get_card("ffhq")
        >>> ModelCard.from_dict(card.to_dict()).name
        'stylegan2-ffhq-1024'
        """
        source = source or "model card"
        if not isinstance(data, Mapping):
            raise ValueError(f"{source}: a model card must be a JSON object. Received: {type(data).__name__}")
        known = [field.name for field in dataclasses.fields(cls)]
        for key in data:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f" (did you mean `{close[0]}`?)" if close else ""
                raise ValueError(f"{source}: unknown field `{key}`{hint}. Known fields: {', '.join(known)}")
        for key in REQUIRED_FIELDS:
            if key not in data:
                raise ValueError(f"{source}: missing required field `{key}`")
        return cls(**data, _source=source)

    @classmethod
    def from_json(cls, path):
        """Reads and validates a card from a JSON file.

        Args:
            path: the `.json` file.

        Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "card.json")
        >>> get_card("cifar10").save(path)
        >>> ModelCard.from_json(path).num_classes
        10
        """
        path = str(path)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        return cls.from_dict(_parse_json(text, path), source=path)

    def to_dict(self):
        """Returns the card as plain dicts and lists (JSON-ready), fields in schema order.

        Example:
        >>> get_card("ffhq").to_dict()["generator"]["channel_base"]
        32768
        """
        return {field.name: _thaw(getattr(self, field.name)) for field in dataclasses.fields(self)}

    def to_json(self):
        """Returns the card as indented JSON text.

        Example:
        >>> '"name": "stylegan2-ffhq-1024"' in get_card("ffhq").to_json()
        True
        """
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def save(self, path):
        """Writes the card to a JSON file (read it back with `ModelCard.from_json`).

        Args:
            path: destination `.json` file.

        Example:
        >>> import os, tempfile
        >>> get_card("ffhq").save(os.path.join(tempfile.mkdtemp(), "ffhq.json"))
        """
        with open(str(path), "w", encoding="utf-8") as f:
            f.write(self.to_json())


def _parse_json(text, source):
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{source}: invalid JSON: {error}") from None


def _validate(card, source):
    """Raises a one-line ValueError naming `source` and the first bad field."""

    def check(ok, field, expected, value=_UNSET):
        if not ok:
            value = getattr(card, field) if value is _UNSET else value
            raise ValueError(f"{source}: `{field}` must be {expected}. Received: {value!r}")

    def is_text(value, allow_empty=True):
        return isinstance(value, str) and (allow_empty or value.strip() != "")

    def is_int(value, minimum):
        return isinstance(value, int) and not isinstance(value, bool) and value >= minimum

    def resolution_of(field, value):
        try:
            return parse_resolution(value, name=field)
        except ValueError:
            check(False, field, "a power-of-two resolution (an int, [height, width] or 'WxH')", value)

    check(is_text(card.name) and _ID.match(card.name), "name", _ID_RULE)
    check(isinstance(card.aliases, tuple) and all(is_text(a) and _ID.match(a) for a in card.aliases),
          "aliases", f"a list of {_ID_RULE}s")
    check(len(set(card.aliases)) == len(card.aliases) and card.name not in card.aliases, "aliases",
          "unique and different from `name`")
    check(is_text(card.description), "description", "a string")
    check(card.architecture in ARCHITECTURES, "architecture", f"one of {ARCHITECTURES}")
    check(is_text(card.resolution) and "x" in card.resolution, "resolution", "a 'WxH' string such as '1024x1024'")
    output_shape = resolution_of("resolution", card.resolution)
    check(format_resolution(output_shape) == card.resolution, "resolution", "written as 'WxH' in lowercase")
    if card.content_resolution is not None:
        match = re.fullmatch(r"(\d+)x(\d+)", str(card.content_resolution))
        fits = match and 0 < int(match[1]) <= output_shape[1] and 0 < int(match[2]) <= output_shape[0]
        check(bool(fits), "content_resolution", f"None or a 'WxH' string within {card.resolution}")
    check(is_int(card.channels, 1) and card.channels <= 4, "channels", "1, 2, 3 or 4")
    check(isinstance(card.conditional, bool), "conditional", "true or false")
    check(is_int(card.num_classes, 0), "num_classes", "an int >= 0")
    check(card.conditional == (card.num_classes > 0), "conditional", "true exactly when `num_classes` > 0")
    for field in ("generator", "discriminator"):
        kwargs = getattr(card, field)
        if kwargs is None and field == "discriminator":
            continue
        check(isinstance(kwargs, Mapping) and all(isinstance(key, str) for key in kwargs), field,
              "a JSON object of keyword arguments")
        for key in ("architecture", "resolution"):
            check(key in kwargs, field, f"a JSON object with `{key}`")
        # The networks must produce (or read) what the card says. NVIDIA trains StyleGAN3 with StyleGAN2's D.
        expected = "stylegan2" if (field, card.architecture) == ("discriminator", "stylegan3") else card.architecture
        check(kwargs["architecture"] == expected, f"{field}.architecture", f"{expected!r}", kwargs["architecture"])
        check(resolution_of(f"{field}.resolution", kwargs["resolution"]) == output_shape, f"{field}.resolution",
              f"the card's resolution {card.resolution}", kwargs["resolution"])
        check(kwargs.get("channels", 3) == card.channels, f"{field}.channels", f"{card.channels}",
              kwargs.get("channels", 3))
        check(kwargs.get("num_classes", 0) == card.num_classes, f"{field}.num_classes", f"{card.num_classes}",
              kwargs.get("num_classes", 0))
    if card.truncation is not None:
        truncation = card.truncation
        check(isinstance(truncation, Mapping) and set(truncation) <= {"psi", "cutoff"}, "truncation",
              "None or an object with `psi` and `cutoff`")
        psi, cutoff = truncation.get("psi", 1.0), truncation.get("cutoff")
        check(isinstance(psi, (int, float)) and not isinstance(psi, bool) and math.isfinite(psi),
              "truncation.psi", "a finite number", psi)
        check(cutoff is None or is_int(cutoff, 1), "truncation.cutoff", "None or an int >= 1", cutoff)
    check(card.source_format in SOURCE_FORMATS, "source_format", f"one of {SOURCE_FORMATS}")
    check(isinstance(card.urls, tuple) and len(card.urls) > 0 and all(is_text(u, False) for u in card.urls),
          "urls", "a non-empty list of strings")
    if card.source_format in _PICKLE_FORMATS:
        for url in card.urls:
            check(url.startswith(("https://", "http://")), "urls", "http(s) URLs for a pickle source", url)
    check(card.sha256 is None or (is_text(card.sha256) and _SHA256.match(card.sha256)), "sha256",
          "None or 64 hexadecimal digits")
    check(is_text(card.license, False), "license", "a non-empty string")
    if card.paper is not None:
        paper = card.paper
        check(isinstance(paper, Mapping) and set(paper) <= {"title", "arxiv", "url"} and
              is_text(paper.get("title"), False), "paper", "None or an object with `title` (and `arxiv`, `url`)")
        check(paper.get("arxiv") is None or (is_text(paper["arxiv"]) and _ARXIV.match(paper["arxiv"])),
              "paper.arxiv", "an arXiv id such as '1912.04958'", paper.get("arxiv"))
    check(card.source_repo is None or (is_text(card.source_repo) and _REPO.match(card.source_repo)),
          "source_repo", "None or a GitHub 'owner/name'")
    check(is_text(card.notes), "notes", "a string")


def _entry_points(group):
    entry_points = importlib.metadata.entry_points()
    if hasattr(entry_points, "select"):
        return list(entry_points.select(group=group))
    return list(entry_points.get(group, ()))  # Python < 3.10


def _as_card(item, source):
    if isinstance(item, ModelCard):
        return item
    if isinstance(item, Mapping):
        return ModelCard.from_dict(item, source=source)
    raise TypeError(f"{source}: expected a ModelCard or a dict. Received: {type(item).__name__}")


class Registry:
    """Model cards by name and alias: built-in cards, entry-point plugins and `register()`.

    The module functions `list_cards`, `get_card`, `register` and `unregister` use
    one shared registry; make a `Registry` of your own for an isolated set.

    Args:
        cards_package: package whose `*.json` files are the built-in cards (`None`: none).
        entry_point_group: entry-point group scanned for plugin cards (`None`: none).

    Example:
    >>> registry = Registry(cards_package=None, entry_point_group=None)
    >>> _ = registry.register(get_card("cifar10").to_dict())
    >>> registry.list()
    ['stylegan2-ada-cifar10-32']
    """

    def __init__(self, cards_package=CARDS_PACKAGE, entry_point_group=ENTRY_POINT_GROUP):
        self.cards_package = cards_package
        self.entry_point_group = entry_point_group
        self._cards = {}
        self._aliases = {}  # alias -> card name
        self._loaded = False
        self._lock = threading.RLock()

    def list(self):
        """Sorted card names (aliases excluded)."""
        self._ensure_loaded()
        return sorted(self._cards)

    def get(self, name):
        """The card with this name or alias; unknown names raise a ValueError with suggestions."""
        self._ensure_loaded()
        if not isinstance(name, str):
            raise ValueError(f"`name` must be a model card name or alias (a string). Received: {name!r}")
        key = name.strip().lower()
        key = self._aliases.get(key, key)
        if key in self._cards:
            return self._cards[key]
        close = difflib.get_close_matches(key, list(self._cards) + list(self._aliases), n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(f"Unknown model card {name!r}.{hint} See keras_stylegan.zoo.list_cards() "
                         f"for the {len(self._cards)} known cards.")

    def register(self, card, overwrite=False):
        """Adds a card (a `ModelCard` or a dict); returns the `ModelCard`."""
        card = _as_card(card, "register()")
        self._ensure_loaded()
        with self._lock:
            self._add(card, overwrite)
        return card

    def unregister(self, name):
        """Removes the card with this name or alias; returns it."""
        card = self.get(name)
        with self._lock:
            del self._cards[card.name]
            self._aliases = {alias: owner for alias, owner in self._aliases.items() if owner != card.name}
        return card

    def _add(self, card, overwrite):
        if card.name in self._cards and not overwrite:
            raise ValueError(f"A model card named {card.name!r} is already registered; pass overwrite=True "
                             "to replace it.")
        if card.name in self._aliases:
            raise ValueError(f"Model card name {card.name!r} is already an alias of {self._aliases[card.name]!r}.")
        old = self._cards.get(card.name)
        for alias in card.aliases:
            owner = alias if alias in self._cards else self._aliases.get(alias)
            if owner is not None and owner != card.name:
                raise ValueError(f"Alias {alias!r} of model card {card.name!r} is already taken by {owner!r}.")
        if old is not None:
            for alias in old.aliases:
                self._aliases.pop(alias, None)
        self._cards[card.name] = card
        self._aliases.update({alias: card.name for alias in card.aliases})

    def _ensure_loaded(self):
        with self._lock:
            if self._loaded:
                return
            snapshot = dict(self._cards), dict(self._aliases)
            try:
                for card in self._builtin_cards():
                    self._add(card, overwrite=False)
            except Exception:  # leave no half-loaded state behind; the next call raises again
                self._cards, self._aliases = snapshot
                raise
            self._loaded = True  # before plugins, which may call register() themselves
            self._load_plugins()

    def _builtin_cards(self):
        if self.cards_package is None:
            return []
        cards = []
        root = importlib.resources.files(self.cards_package)
        for entry in sorted(root.iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(".json"):
                continue
            source = f"{self.cards_package}/{entry.name}"
            card = ModelCard.from_dict(_parse_json(entry.read_text(encoding="utf-8"), source), source=source)
            if entry.name != card.name + ".json":
                raise ValueError(f"{source}: `name` must match the file name. Received: {card.name!r}")
            cards.append(card)
        return cards

    def _load_plugins(self):
        if self.entry_point_group is None:
            return
        seen = set()
        for entry_point in _entry_points(self.entry_point_group):
            if (entry_point.name, entry_point.value) in seen:
                continue
            seen.add((entry_point.name, entry_point.value))
            source = f"plugin {entry_point.name!r} ({entry_point.value})"
            snapshot = dict(self._cards), dict(self._aliases)
            try:
                items = entry_point.load()
                if callable(items) and not isinstance(items, (ModelCard, Mapping, list, tuple)):
                    items = items()
                if isinstance(items, (ModelCard, Mapping)):
                    items = [items]
                if not isinstance(items, (list, tuple)):
                    raise TypeError(f"expected a ModelCard, a dict, a list of those or a zero-argument callable "
                                    f"returning them. Received: {type(items).__name__}")
                for index, item in enumerate(items):
                    self._add(_as_card(item, f"card {index} of this plugin"), overwrite=False)
            except Exception as error:  # a broken plugin must not break the zoo
                self._cards, self._aliases = snapshot  # all of a plugin's cards or none
                message = str(error).replace("\n", " ")
                warnings.warn(f"Ignoring {self.entry_point_group} {source}: {type(error).__name__}: {message}",
                              RuntimeWarning, stacklevel=2)


_REGISTRY = Registry()


def list_cards():
    """Returns the sorted names of all model cards (built-in, plugins, registered).

    Example:
    >>> "stylegan2-ffhq-1024" in list_cards()
    True
    """
    return _REGISTRY.list()


def get_card(name):
    """Returns the model card with this name or alias.

    Args:
        name: card name or alias, case-insensitive (e.g. `"ffhq"`).

    Example:
    >>> get_card("ffhq").name
    'stylegan2-ffhq-1024'
    """
    return _REGISTRY.get(name)


def packaged_preset_path(card):
    """The directory of a preset shipped inside the package (`package:presets/NAME` in `card.urls`).

    Example:
    >>> os.path.basename(packaged_preset_path(get_card("emoji")))
    'emoji'
    """
    url = card.urls[0]
    if not url.startswith("package:"):
        raise ValueError(f"card {card.name!r}: preset sources must be 'package:<path>'. Received: {url!r}")
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), url[len("package:"):])
    if not os.path.isfile(os.path.join(path, "config.json")):
        raise OSError(f"the packaged preset of {card.name!r} is missing at {path}: reinstall keras-stylegan")
    return path


def register(card, overwrite=False):
    """Adds a model card to the zoo and returns it as a `ModelCard`.

    Args:
        card: a `ModelCard` or a dict of its fields.
        overwrite: replace a card of the same name instead of raising.

    Example:
    >>> fields = dict(get_card("cifar10").to_dict(), name="my-cifar10", aliases=[])
    >>> register(fields).name
    'my-cifar10'
    >>> _ = unregister("my-cifar10")
    """
    return _REGISTRY.register(card, overwrite=overwrite)


def unregister(name):
    """Removes a model card (by name or alias) from the zoo and returns it.

    Args:
        name: card name or alias.

    Example:
    >>> _ = register(dict(get_card("cifar10").to_dict(), name="tmp-card", aliases=[]))
    >>> unregister("tmp-card").name
    'tmp-card'
    """
    return _REGISTRY.unregister(name)
