"""Download cache for pretrained models: atomic, resumable, checksummed.

Files land in `cache_dir(subdir)/<filename>`. Bytes arrive in `<filename>.part`, are
verified, then renamed into place, so a file under its final name is always complete.
NVIDIA publishes no checksums: unless a sha256 is given, the first successful download
of a URL records its hash in `<root>/checksums.json` (trust on first use), and every
later download or cache hit of that URL must match it.
"""
import hashlib
import http.client
import inspect
import json
import os
import re
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from tqdm import tqdm

from keras_stylegan.version import __version__

RETRY_BACKOFF_SECONDS = 1.0  # pause before the first retry, doubled for each later one
_CHUNK_BYTES = 1 << 20
_LEDGER_NAME = "checksums.json"
_DRIVE_HOSTS = ("drive.google.com", "docs.google.com")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_PARTIAL = ".part"


class DownloadError(OSError):
    """A file could not be downloaded or its cached copy cannot be used."""


class ChecksumError(DownloadError):
    """Downloaded or cached bytes do not match the expected sha256."""


def cache_dir(subdir=None):
    """Returns the download cache folder (not created).

    The root is `$KERAS_STYLEGAN_CACHE` if set, else `$KERAS_HOME/keras_stylegan` if
    `KERAS_HOME` is set, else `~/.keras/keras_stylegan`.

    Args:
        subdir: optional folder inside the root, e.g. `"models"`.

    Example:
    >>> import os
    >>> os.path.basename(cache_dir("models"))
    'models'
    """
    if os.environ.get("KERAS_STYLEGAN_CACHE"):
        root = os.environ["KERAS_STYLEGAN_CACHE"]
    elif os.environ.get("KERAS_HOME"):
        root = os.path.join(os.environ["KERAS_HOME"], "keras_stylegan")
    else:
        root = os.path.join("~", ".keras", "keras_stylegan")
    root = os.path.expanduser(root)
    return os.path.join(root, subdir) if subdir else root


def sha256_of(path, chunk_bytes=_CHUNK_BYTES):
    """Returns the hex sha256 of a file, read in chunks.

    Args:
        path: file to hash.
        chunk_bytes: bytes read at a time.

    Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "abc.txt")
    >>> _ = open(path, "wb").write(b"abc")
    >>> sha256_of(path)[:16]
    'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_bytes), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _is_drive_url(url):
    return urllib.parse.urlsplit(url).hostname in _DRIVE_HOSTS


def file_id_from_drive_url(url):
    """Returns the file id of a Google Drive link.

    Understands `.../file/d/<id>/view`, `.../open?id=<id>` and `.../uc?id=<id>&export=download`.

    Args:
        url: a `drive.google.com` or `docs.google.com` link.

    Example:
    >>> file_id_from_drive_url("https://drive.google.com/file/d/1AbC_-9/view?usp=sharing")
    '1AbC_-9'
    """
    if not _is_drive_url(url):
        raise ValueError(f"url must be a Google Drive link. Received: {url!r}")
    parts = urllib.parse.urlsplit(url)
    in_path = re.search(r"/d/([^/]+)", parts.path)
    in_query = urllib.parse.parse_qs(parts.query).get("id")
    file_id = in_path[1] if in_path else in_query[0] if in_query else ""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", file_id):
        raise ValueError(f"url has no Google Drive file id. Received: {url!r}")
    return file_id


def download(url, sha256=None, filename=None, subdir="models", progress=True, retries=3, timeout=30.0):
    """Downloads a file once into the cache and returns its local path.

    A cached file is returned without network access once its sha256 matches the expected
    one (`sha256`, else the hash recorded at the URL's first download). A mismatching cached
    file is an error, never silently replaced. Interrupted downloads resume from
    `<file>.part` with an HTTP Range request. Google Drive links are fetched with gdown.

    Args:
        url: http(s) URL, or a Google Drive link.
        sha256: expected hex digest; None trusts and records the first download.
        filename: name in the cache; default from the URL's last path part (the file id
            for Drive links). Different URLs with the same name share one cache entry.
        subdir: cache folder under the root, see `cache_dir`.
        progress: show a progress bar on a terminal when the size is known.
        retries: extra attempts after a network failure, each resuming the partial file.
        timeout: seconds to wait for the server before an attempt fails.

    Example:
    >>> from keras_stylegan.zoo.download import download
    >>> path = download("https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metfaces.pkl")  # doctest: +SKIP
    """
    _check_arguments(url, sha256, filename, subdir, retries, timeout)
    is_drive = _is_drive_url(url)
    if not filename:
        last_part = urllib.parse.urlsplit(url).path.rstrip("/").split("/")[-1]
        filename = _safe_filename(file_id_from_drive_url(url) if is_drive else last_part, url)
    target = os.path.join(cache_dir(subdir), filename)
    partial = target + _PARTIAL
    expected = sha256.lower() if sha256 else _read_ledger().get(url)
    if os.path.isfile(target):
        received = sha256_of(target)
        if expected and received != expected:
            raise ChecksumError(
                f"Cached file {target} (from {url}) does not match its checksum: expected sha256 {expected}, "
                f"received {received}. Delete it to download it again."
            )
        _record_checksum(url, received)
        return target
    os.makedirs(os.path.dirname(target), exist_ok=True)
    fetch = _fetch_drive if is_drive else _fetch_http
    fetch(url, target, progress, retries, timeout)
    received = sha256_of(partial)
    if expected and received != expected:
        os.remove(partial)  # never resume from or keep bytes known to be wrong
        origin = "given" if sha256 else f"recorded at the first download in {_ledger_path()}"
        raise ChecksumError(
            f"Checksum mismatch for {url}: expected sha256 {expected} ({origin}), received {received}. "
            "The download was discarded."
        )
    os.replace(partial, target)
    _record_checksum(url, received)
    return target


def _check_arguments(url, sha256, filename, subdir, retries, timeout):
    if not isinstance(url, str) or urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"url must be an http(s) URL. Received: {url!r}")
    if sha256 is not None and not (isinstance(sha256, str) and _HEX64.fullmatch(sha256)):
        raise ValueError(f"sha256 must be 64 hexadecimal characters or None. Received: {sha256!r}")
    if filename is not None and (
        not isinstance(filename, str) or filename in ("", ".", "..") or "/" in filename or os.sep in filename
    ):
        raise ValueError(f"filename must be a plain file name without folders. Received: {filename!r}")
    if not isinstance(subdir, str) or not subdir or os.path.isabs(subdir) or ".." in re.split(r"[\\/]", subdir):
        raise ValueError(f"subdir must be a relative folder name inside the cache. Received: {subdir!r}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be an integer >= 0. Received: {retries!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a number of seconds > 0. Received: {timeout!r}")


def _safe_filename(name, url):
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", urllib.parse.unquote(name)).lstrip(".")
    # A URL without a usable last part still needs a stable, distinct name.
    return name[-200:] or "download-" + hashlib.sha256(url.encode()).hexdigest()[:16]


def _failure(url, cause, target, offline=True):
    advice = "No network? Download" if offline else "Check the URL, or download"
    return (
        f"Could not download {url} ({cause}). {advice} the file by hand and load it with "
        f"keras_stylegan.zoo.load('/path/to/{os.path.basename(target)}')."
    )


def _describe(error):
    """A short lowercase cause for an exception, on one line."""
    reason = getattr(error, "reason", error)  # URLError wraps the socket error
    if isinstance(reason, TimeoutError) or "timed out" in str(reason):
        return "timed out"
    text = " ".join(str(getattr(reason, "strerror", None) or reason or type(reason).__name__).split())
    return text[:1].lower() + text[1:300]


def _fetch_http(url, target, progress, retries, timeout):
    partial = target + _PARTIAL
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(RETRY_BACKOFF_SECONDS * 2 ** (attempt - 1))
        try:
            return _fetch_http_once(url, target, progress, timeout)
        except urllib.error.HTTPError as error:
            if error.code == 416 and os.path.exists(partial):
                os.remove(partial)  # the partial file is stale or already complete: start over
            elif error.code not in (408, 429) and error.code < 500:
                raise DownloadError(_failure(url, f"HTTP {error.code} {error.reason}", target, False)) from None
            cause = f"HTTP {error.code} {error.reason}"
        except (OSError, http.client.HTTPException) as error:  # refused, reset, timed out, cut short
            cause = _describe(error)
    kept = os.path.getsize(partial) if os.path.exists(partial) else 0
    resume_note = f" The {kept} bytes received are kept in {partial}; calling again resumes." if kept else ""
    raise DownloadError(_failure(url, cause, target) + resume_note)


def _fetch_http_once(url, target, progress, timeout):
    partial = target + _PARTIAL
    offset = os.path.getsize(partial) if os.path.exists(partial) else 0
    request = urllib.request.Request(url, headers={"User-Agent": f"keras-stylegan/{__version__}"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if offset and response.status == 206:
            served_from = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
            if not served_from or int(served_from[1]) != offset:
                os.remove(partial)
                raise ConnectionError("server resumed at the wrong offset; restarting")
        elif offset:
            offset = 0  # the server ignored the Range request and sends the whole file
        length = response.headers.get("Content-Length")
        remaining = int(length) if length and length.isdigit() else None
        total = None if remaining is None else offset + remaining
        received = 0
        with open(partial, "ab" if offset else "wb") as out, tqdm(
            total=total,
            initial=offset,
            unit="B",
            unit_scale=True,
            desc=os.path.basename(target),
            disable=None if progress and total else True,  # None: only on a terminal
        ) as bar:
            for chunk in iter(lambda: response.read(_CHUNK_BYTES), b""):
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if remaining is not None and received < remaining:
        raise ConnectionError(f"connection closed after {offset + received} of {total} bytes")


def _fetch_drive(url, target, progress, retries, timeout):
    import gdown  # pulls in requests and bs4: import only for Drive links

    partial = target + _PARTIAL
    options = {"id": file_id_from_drive_url(url), "output": partial, "quiet": not progress, "resume": True}
    accepted = inspect.signature(gdown.download).parameters  # older gdown lacks retries/timeout
    options.update({k: v for k, v in (("retries", retries), ("timeout", timeout)) if k in accepted})
    try:
        result = gdown.download(**options)
    except Exception as error:  # requests' and gdown's own errors are all reported alike
        raise DownloadError(_failure(url, _describe(error), target)) from error
    if result is None or not os.path.isfile(partial):
        raise DownloadError(_failure(url, "Google Drive sent no file", target))


def _ledger_path():
    return os.path.join(cache_dir(), _LEDGER_NAME)


def _read_ledger():
    path = _ledger_path()
    try:
        with open(path, encoding="utf-8") as f:
            ledger = json.load(f)
    except FileNotFoundError:
        return {}
    except ValueError as error:
        raise DownloadError(f"Checksum ledger {path} is not valid JSON ({error}). Repair or delete it.") from None
    if not isinstance(ledger, dict):
        raise DownloadError(f"Checksum ledger {path} must hold a JSON object. Repair or delete it.")
    return ledger


def _record_checksum(url, digest):
    ledger = _read_ledger()
    if ledger.get(url) == digest:
        return
    ledger[url] = digest
    os.makedirs(cache_dir(), exist_ok=True)
    handle, scratch = tempfile.mkstemp(dir=cache_dir(), prefix=".checksums-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            json.dump(ledger, f, indent=2, sort_keys=True)
        os.replace(scratch, _ledger_path())
    finally:
        if os.path.exists(scratch):
            os.remove(scratch)
