"""Presets on model hubs: `hf://owner/repo` (Hugging Face) and `kaggle://owner/model/keras/variant` (Kaggle).

Files are fetched and cached by the hubs' own clients, `huggingface_hub` and `kagglehub`
(`pip install keras-stylegan[hub]`), so their caches, offline modes (`HF_HUB_OFFLINE=1`, a
versioned Kaggle handle already in `KAGGLEHUB_CACHE`) and logins (`hf auth login`,
`~/.kaggle/kaggle.json`) work as usual. Only the files a load needs are fetched, `config.json`
first: a repository that is not a preset is refused before any weights are downloaded.

URIs:
- `hf://owner/repo`, or `hf://owner/repo@revision` (a branch, tag or commit);
- `kaggle://owner/model/framework/variation`, or `.../variation/version` (a number). Without a
  version the latest one is asked of Kaggle, so offline use needs the version.

Example:
>>> parse_hub_uri("hf://someone/emoji-stylegan@v1")
('hf', 'someone/emoji-stylegan', 'v1')
>>> parse_hub_uri("kaggle://someone/stylegan/keras/emoji/2")
('kaggle', 'someone/stylegan/keras/emoji/2', None)
"""
import os
import re

from keras_stylegan.zoo import presets

SCHEMES = ("hf", "kaggle")
_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}"
_HF = re.compile(rf"^(?P<repo>{_NAME}/{_NAME})(?:@(?P<revision>[A-Za-z0-9][A-Za-z0-9._/-]{{0,199}}))?$")
_KAGGLE = re.compile(rf"^{_NAME}/{_NAME}/{_NAME}/{_NAME}(?:/(?P<version>[0-9]{{1,9}}))?$")
_CLIENTS = {"hf": "huggingface_hub", "kaggle": "kagglehub"}
_HUB_NAMES = {"hf": "Hugging Face", "kaggle": "Kaggle"}


class HubClientMissing(ImportError, ValueError):
    """The optional client of a hub is not installed (a `ValueError` too, so the CLI reports it in one line)."""


def is_hub_uri(text):
    """Whether `text` names a preset on a hub (`hf://...`, `kaggle://...`).

    Example:
    >>> is_hub_uri("hf://someone/emoji-stylegan"), is_hub_uri("emoji")
    (True, False)
    """
    scheme, separator, _ = str(text).partition("://")
    return bool(separator) and scheme.lower() in SCHEMES


def parse_hub_uri(uri):
    """`(scheme, handle, revision)` of a hub URI; `ValueError` naming the expected form otherwise."""
    scheme, separator, handle = str(uri).partition("://")
    scheme = scheme.lower()
    if not separator or scheme not in SCHEMES:
        raise ValueError(f"not a hub URI: {uri!r} (expected hf://owner/repo or kaggle://owner/model/keras/variant)")
    if scheme == "hf":
        match = _HF.match(handle)
        if not match:
            raise ValueError(f"malformed Hugging Face URI {uri!r}: expected hf://owner/repo or "
                             "hf://owner/repo@revision")
        return scheme, match.group("repo"), match.group("revision")
    if not _KAGGLE.match(handle):
        raise ValueError(f"malformed Kaggle URI {uri!r}: expected kaggle://owner/model/framework/variation "
                         "or kaggle://owner/model/framework/variation/version")
    return scheme, handle, None


def _client(scheme):
    import importlib

    name = _CLIENTS[scheme]
    try:
        return importlib.import_module(name)
    except ImportError:
        raise HubClientMissing(f"{scheme}:// presets need the {name} package: pip install "
                               f"'keras-stylegan[hub]' (or pip install {name})") from None


def _one_line(error):
    text = str(error).strip()
    return (text.splitlines()[0].strip() if text else "") or type(error).__name__


def _hf_download(uri, repo, revision, filename, optional=False):
    """One file of a Hugging Face repository through `huggingface_hub` (its cache, offline mode and login)."""
    hf = _client("hf")
    from huggingface_hub import errors

    try:
        return hf.hf_hub_download(repo_id=repo, filename=filename, revision=revision)
    except errors.LocalEntryNotFoundError:
        if optional:
            return None
        raise OSError(f"{uri}: {filename} is not in the local Hugging Face cache and the hub cannot be reached "
                      "(offline, or HF_HUB_OFFLINE=1)") from None
    except errors.RevisionNotFoundError:
        raise ValueError(f"{uri}: no revision {revision!r} in that repository") from None
    except errors.RepositoryNotFoundError:
        raise ValueError(f"{uri}: no such Hugging Face repository (or it is private or gated: log in with "
                         "`hf auth login`)") from None
    except errors.EntryNotFoundError:
        if optional:
            return None
        if filename == presets.CONFIG_FILE:
            raise ValueError(f"{uri} is not a keras_stylegan preset: the repository has no {filename}") from None
        raise ValueError(f"{uri}: the preset has no {filename}") from None
    except errors.HFValidationError as error:
        raise ValueError(f"malformed Hugging Face URI {uri!r}: {_one_line(error)}") from None
    except (OSError, ValueError) as error:  # network failures, HTTP errors
        raise OSError(f"{uri}: cannot fetch {filename} from Hugging Face: {_one_line(error)[:200]}") from None


def _kaggle_download(uri, handle, filename, optional=False):
    """One file of a Kaggle model variation through `kagglehub` (its cache and login)."""
    kagglehub = _client("kaggle")
    try:
        return kagglehub.model_download(handle, path=filename)
    except Exception as error:  # kagglehub raises requests', its own and plain exceptions alike
        status = getattr(getattr(error, "response", None), "status_code", None)
        text = _one_line(error)
        not_found = status == 404 or "not present" in text or "404" in text
        if not_found and optional:
            return None
        if not_found and filename == presets.CONFIG_FILE:
            raise ValueError(f"{uri} is not a keras_stylegan preset, or no such Kaggle model: no {filename} "
                             f"({text[:150]})") from None
        if not_found:
            raise ValueError(f"{uri}: the preset has no {filename}") from None
        if isinstance(error, MemoryError):
            raise
        raise OSError(f"{uri}: cannot fetch {filename} from Kaggle: {text[:200]}") from None


def fetch_preset(uri, discriminator=False):
    """Fetches the files of the preset at a hub `uri` that a load needs; returns the local directory holding them.

    `config.json` comes first, so a repository that is not a preset is refused before any weights
    are downloaded.

    Example:
    >>> fetch_preset("hf://someone")
    Traceback (most recent call last):
    ...
    ValueError: malformed Hugging Face URI 'hf://someone': expected hf://owner/repo or hf://owner/repo@revision
    """
    scheme, handle, revision = parse_hub_uri(uri)
    if scheme == "hf":
        def download(name, optional=False):
            return _hf_download(uri, handle, revision, name, optional)
    else:
        def download(name, optional=False):
            return _kaggle_download(uri, handle, name, optional)

    config = download(presets.CONFIG_FILE)
    directory = os.path.dirname(config)
    try:
        layout = presets.preset_layout(directory)
    except ValueError as error:
        raise ValueError(f"{uri} is not a keras_stylegan preset: {_one_line(error)}") from None
    if discriminator:
        if layout == "keras":
            download(presets.D_CONFIG_FILE, optional=True)  # into the same directory: has_discriminator sees it
        if not presets.has_discriminator(directory):
            raise ValueError(f"the preset {uri} has no discriminator")
    needed = presets.weights_files(directory, discriminator)
    try:
        download(presets.METADATA_FILE, optional=True)
    except OSError:
        pass  # metadata is informative only (an older cached version may lack it): the networks load without it
    paths = [download(name) for name in needed]
    if any(os.path.dirname(path) != directory for path in paths):  # a push between two downloads
        raise OSError(f"{uri} changed while its files were downloaded: try again")
    return directory


def _model_card(directory, uri):
    """A short README.md for the hub page: what the model is and how to load it."""
    metadata = {}
    if os.path.isfile(os.path.join(directory, presets.METADATA_FILE)):
        metadata = presets.read_json(os.path.join(directory, presets.METADATA_FILE), "metadata file")
    config = presets.read_json(os.path.join(directory, presets.CONFIG_FILE), "config")["config"]
    lines = ["---", "library_name: keras", "tags:", "- keras-stylegan", "- stylegan", "- image-generation"]
    size = "x".join(str(side) for side in config.get("resolution", []))
    lines += ["---", "", f"# {config.get('architecture', 'StyleGAN')} generator ({size})", ""]
    for key in ("description", "license", "source"):
        if metadata.get(key):
            lines += [f"{key.capitalize()}: {metadata[key]}", ""]
    lines += ["A [keras-stylegan](https://pypi.org/project/keras-stylegan/) preset in KerasHub's layout "
              "(`config.json`, `model.weights.h5` in Keras' weights format, `metadata.json`).", "",
              "```python", "import keras_stylegan", f"generator = keras_stylegan.Generator.from_preset({uri!r})",
              "```", "", "```", f"kstylegan sample --model {uri} --seeds 0-15 --out grid.png", "```", ""]
    return "\n".join(lines).encode("utf-8")


def upload_preset(directory, uri, message=None):
    """Publishes a preset directory (KerasHub's layout) to `hf://owner/repo` or `kaggle://owner/model/keras/variant`.

    Hugging Face: the repository is created if needed, and the preset's files (plus a generated
    `README.md` model card if neither the preset nor the repository has one) are added in one
    commit. Kaggle: a new version of the model variation is created with the preset's files.
    Both use the hub's client and its login (`hf auth login`; `~/.kaggle/kaggle.json` or
    `KAGGLE_USERNAME`/`KAGGLE_KEY`).

    Args:
        directory: a preset written by `save_preset` / `Generator.save_to_preset`.
        uri: where to publish it.
        message: commit message (Hugging Face) or version notes (Kaggle).

    Returns:
        The URL of the commit (Hugging Face) or the URI (Kaggle).

    Example:
    >>> path = generator.save_to_preset("my_preset")
    >>> upload_preset(path, "hf://someone/emoji-stylegan@v2")  # hub logins are not part of this example
    Traceback (most recent call last):
    ...
    ValueError: hf://someone/emoji-stylegan@v2: uploads go to the main branch: drop '@v2'

    (`upload_preset(path, "hf://someone/emoji-stylegan")` publishes it.)
    """
    scheme, handle, revision = parse_hub_uri(uri)
    directory = os.fspath(directory)
    if presets.preset_layout(directory) != "keras":
        raise ValueError(f"{directory} is a preset in this package's earlier layout: load it and save it again "
                         "(Generator.from_preset(...).save_to_preset(new_dir)) before publishing it")
    files = [name for name in presets.PRESET_FILES if os.path.isfile(os.path.join(directory, name))]
    if scheme == "hf":
        if revision is not None:
            raise ValueError(f"{uri}: uploads go to the main branch: drop '@{revision}'")
        hf = _client("hf")
        try:
            repo_id = hf.create_repo(repo_id=handle, exist_ok=True).repo_id
            operations = [hf.CommitOperationAdd(path_in_repo=name, path_or_fileobj=os.path.join(directory, name))
                          for name in files]
            if presets.README_FILE not in files and not hf.file_exists(repo_id=repo_id, filename=presets.README_FILE):
                operations.append(hf.CommitOperationAdd(path_in_repo=presets.README_FILE,
                                                        path_or_fileobj=_model_card(directory, uri)))
            info = hf.create_commit(repo_id=repo_id, operations=operations,
                                    commit_message=message or "Upload keras-stylegan preset")
        except (OSError, ValueError) as error:
            raise OSError(f"cannot upload {directory} to {uri}: {_one_line(error)[:200]}") from None
        return str(getattr(info, "commit_url", info))
    if handle.count("/") != 3:
        raise ValueError(f"{uri}: Kaggle uploads create a new version themselves: drop the version number")
    kagglehub = _client("kaggle")
    ignored = sorted(set(os.listdir(directory)) - set(files))
    try:
        kagglehub.model_upload(handle, directory, version_notes=message or "", ignore_patterns=ignored or None)
    except Exception as error:  # kagglehub raises requests', its own and plain exceptions alike
        if isinstance(error, MemoryError):
            raise
        raise OSError(f"cannot upload {directory} to {uri}: {_one_line(error)[:200]}") from None
    return uri
