"""Download cache for pretrained models: atomic, resumable, checksummed, format-checked.

Files land in `cache_dir(subdir)/<filename>`. Bytes arrive in `<filename>.part` (with the
server's validator in `<filename>.part.json`), are verified, then renamed into place, so a
file under its final name is always complete and checked.

NVIDIA publishes no checksums: unless a sha256 is given, the first download of a URL that
passes the format check (pickle or zip magic, then a full parse by the safe reader of
`keras_stylegan.zoo.pickles`; nothing in the file runs) records its hash in
`<root>/checksums.json` (trust on first use), and every later download or cache hit of that
URL must match it. An error page, an empty or cut-short body or any other file that is not a
model is refused: nothing is cached and nothing is pinned. `refresh=True` (CLI:
`kstylegan zoo download --refresh`) ignores a pinned hash and the cached file, and replaces
both once a new download is verified.
"""
import hashlib
import http.client
import inspect
import json
import os
import pickle
import re
import time
import urllib.error
import urllib.parse
import urllib.request

from tqdm import tqdm

from keras_stylegan.utils.files import atomic_path
from keras_stylegan.version import __version__

RETRY_BACKOFF_SECONDS = 1.0  # pause before the first retry, doubled for each later one
_CHUNK_BYTES = 1 << 20
_LEDGER_NAME = "checksums.json"
_DRIVE_HOSTS = ("drive.google.com", "docs.google.com")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_PARTIAL = ".part"
_RESUME_STATE = ".part.json"  # beside the partial file: URL and validator of the bytes it holds
_ZIP_MAGIC = b"PK\x03\x04"
_REFRESH_HINT = "kstylegan zoo download --refresh NAME, or download(..., refresh=True)"


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


def model_file_problem(path):
    """Returns why a file is not a StyleGAN model file, or `None` when it is one.

    The check a download must pass before its hash is recorded: pickle (protocol >= 2) or
    zip magic, then a full parse by `keras_stylegan.zoo.pickles.load_official_pickle`, the
    restricted reader (no code from the file runs). It costs about one read of the file.

    Args:
        path: file to check.

    Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "page.pkl")
    >>> _ = open(path, "wb").write(b"<!DOCTYPE html><title>Quota exceeded</title>")
    >>> model_file_problem(path)
    "it is an HTML page, not a model file (it starts with b'<!DOCTYPE html><'); the server sent an error page"
    """
    with open(path, "rb") as f:
        head = f.read(16)
    if not head:
        return "it is empty"
    if head.lstrip()[:1] == b"<":
        return f"it is an HTML page, not a model file (it starts with {head!r}); the server sent an error page"
    if head[:4] != _ZIP_MAGIC and not (len(head) >= 2 and head[0] == pickle.PROTO[0] and 2 <= head[1] <= 5):
        return f"it is neither a pickle nor a zip file (it starts with {head!r})"
    from keras_stylegan.zoo.pickles import load_official_pickle

    try:
        load_official_pickle(path)
    except Exception as error:  # any failure of the safe reader means: not a model we can use
        reason = " ".join(str(error).split())[:300] or type(error).__name__
        return f"the safe reader cannot parse it, so it is cut short or not a StyleGAN model ({reason})"
    return None


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


def download(url, sha256=None, filename=None, subdir="models", progress=True, retries=3, timeout=30.0,
             refresh=False):
    """Downloads a model file once into the cache and returns its local path.

    A cached file is returned without network access once its sha256 matches the expected
    one (`sha256`, else the hash pinned at the URL's first verified download). A mismatching
    cached file is an error, never silently replaced. Without `sha256`, a download is kept and
    its hash pinned only if it is a StyleGAN model file (see `model_file_problem`): an HTML
    error page, an empty or cut-short body is refused and nothing is cached. Interrupted
    downloads resume from `<file>.part` with `Range` and `If-Range` (the server's ETag or
    Last-Modified), so bytes of a file that changed upstream are never spliced together.
    Google Drive links are fetched with gdown.

    Args:
        url: http(s) URL, or a Google Drive link.
        sha256: expected hex digest; None trusts and pins the first download that passes
            the format check.
        filename: name in the cache; default from the URL's last path part (the file id
            for Drive links). Different URLs with the same name share one cache entry.
        subdir: cache folder under the root, see `cache_dir`.
        progress: show a progress bar on a terminal when the size is known.
        retries: extra attempts after a network failure, each resuming the partial file.
        timeout: seconds to wait for the server before an attempt fails.
        refresh: ignore the URL's pinned hash and the cached file and download again (a
            partial download of the same file still resumes); the cached file and the pin
            are replaced only once the new download is verified, so a failed refresh loses
            nothing.

    Example:
    >>> from keras_stylegan.zoo.download import download
    >>> path = download("https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metfaces.pkl")  # doctest: +SKIP
    >>> path = download("https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metfaces.pkl",
    ...                 refresh=True)  # doctest: +SKIP
    """
    _check_arguments(url, sha256, filename, subdir, retries, timeout, refresh)
    is_drive = _is_drive_url(url)
    if not filename:
        last_part = urllib.parse.urlsplit(url).path.rstrip("/").split("/")[-1]
        filename = _safe_filename(file_id_from_drive_url(url) if is_drive else last_part, url)
    target = os.path.join(cache_dir(subdir), filename)
    partial = target + _PARTIAL
    pinned = None if refresh else _read_ledger().get(url)
    if sha256:
        expected, origin = sha256.lower(), "given"
    else:
        expected, origin = pinned, f"pinned in {_ledger_entry(url)}"
    if os.path.isfile(target) and not refresh:
        _record_checksum(url, _check_cached(url, target, expected, origin, trusted=bool(sha256)), target)
        return target
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
    except OSError as error:
        raise DownloadError(_cache_write_failure(url, target, error)) from None
    fetch = _fetch_drive if is_drive else _fetch_http
    fetch(url, target, progress, retries, timeout)
    try:
        received = _verify_download(url, target, expected, origin, trusted=bool(sha256))
    except DownloadError:
        _discard_partial(target)  # never resume from, or keep, bytes known to be wrong
        raise
    try:
        os.replace(partial, target)  # over the old file only now, when a refresh is verified
    except OSError as error:
        _discard_partial(target)
        raise DownloadError(_cache_write_failure(url, target, error)) from None
    _remove_quietly(target + _RESUME_STATE)
    _record_checksum(url, received, target)
    return target


def _check_arguments(url, sha256, filename, subdir, retries, timeout, refresh):
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
    if not isinstance(refresh, bool):
        raise ValueError(f"refresh must be True or False. Received: {refresh!r}")


def _safe_filename(name, url):
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", urllib.parse.unquote(name)).lstrip(".")
    # A URL without a usable last part still needs a stable, distinct name.
    return name[-200:] or "download-" + hashlib.sha256(url.encode()).hexdigest()[:16]


def _ledger_entry(url):
    return f"ledger entry {url!r} of {_ledger_path()}"


def _check_cached(url, target, expected, origin, trusted):
    """The sha256 of the cached `target`; raises unless it matches and the file looks like a model."""
    received = sha256_of(target)
    if expected and received != expected:
        raise ChecksumError(
            f"Cached file {target} (from {url}) does not match its checksum: expected sha256 {expected} "
            f"({origin}), received {received}. Delete it to download it again, or run {_REFRESH_HINT}."
        )
    if trusted:
        return received
    # A pinned file passed the full check when it was pinned; the magic catches pins made before that check.
    problem = _magic_problem(target) if expected else model_file_problem(target)
    if problem:
        state = f"pinned in {_ledger_entry(url)}" if expected else f"not pinned in {_ledger_entry(url)}"
        raise DownloadError(
            f"Cached file {target} (from {url}, {state}) is not usable: {problem}. Run {_REFRESH_HINT}."
        )
    return received


def _magic_problem(path):
    with open(path, "rb") as f:
        head = f.read(16)
    if head[:4] == _ZIP_MAGIC or (len(head) >= 2 and head[0] == pickle.PROTO[0] and 2 <= head[1] <= 5):
        return None
    return f"it is neither a pickle nor a zip file (it starts with {head!r})"


def _verify_download(url, target, expected, origin, trusted):
    """The sha256 of the finished partial file; raises `DownloadError` when it must not be kept."""
    partial = target + _PARTIAL
    nothing_kept = f"Nothing was cached at {target} and {_ledger_entry(url)} was not changed."
    if os.path.getsize(partial) == 0:
        raise DownloadError(f"Refused the download of {url}: the server sent an empty file. {nothing_kept}")
    received = sha256_of(partial)
    if trusted:
        if received != expected:
            raise ChecksumError(
                f"Checksum mismatch for {url}: expected sha256 {expected} (given), received {received}. "
                f"{nothing_kept}"
            )
        return received
    problem = model_file_problem(partial)
    if problem:
        raise DownloadError(f"Refused the download of {url}: {problem}. {nothing_kept}")
    if expected and received != expected:
        raise ChecksumError(
            f"Checksum mismatch for {url}: expected sha256 {expected} ({origin}), received {received}. "
            f"{nothing_kept} If the file changed upstream on purpose, run {_REFRESH_HINT}."
        )
    return received


def _remove_quietly(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _discard_partial(target):
    _remove_quietly(target + _PARTIAL)
    _remove_quietly(target + _RESUME_STATE)


def _cache_write_failure(url, target, error):
    return (
        f"Cannot write the download cache at {target}: {error.strerror or error}. Nothing was cached there and "
        f"{_ledger_entry(url)} was not changed; free some space or set KERAS_STYLEGAN_CACHE to another folder."
    )


def _failure(url, cause, target, offline=True):
    advice = "No network? Download" if offline else "Check the URL, or download"
    return (
        f"Could not download {url} ({cause}); nothing was cached at {target}. {advice} the file by hand "
        f"and load it with keras_stylegan.zoo.load('/path/to/{os.path.basename(target)}')."
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
        except DownloadError:  # the cache cannot be written: retrying would not help
            _discard_partial(target)  # and its bytes would keep the disk full
            raise
        except urllib.error.HTTPError as error:
            if error.code == 416:
                _discard_partial(target)  # the partial file is stale or already complete: start over
            elif error.code not in (408, 429) and error.code < 500:
                _discard_partial(target)
                raise DownloadError(_failure(url, f"HTTP {error.code} {error.reason}", target, False)) from None
            cause = f"HTTP {error.code} {error.reason}"
        except (OSError, http.client.HTTPException) as error:  # refused, reset, timed out, cut short
            cause = _describe(error)
    if _resume_point(url, target)[0]:
        note = f" The {os.path.getsize(partial)} bytes received are kept in {partial}; calling again resumes."
    else:  # without a validator the bytes cannot be resumed safely
        _discard_partial(target)
        note = ""
    raise DownloadError(_failure(url, cause, target) + note)


def _validator(headers):
    """The server's validator for `If-Range`: a strong ETag, else Last-Modified, else None."""
    etag = headers.get("ETag")
    if etag and not etag.startswith("W/"):  # weak ETags may not be used in If-Range
        return etag
    return headers.get("Last-Modified") or None


def _resume_point(url, target):
    """(bytes to keep, resume state) of the partial file; (0, None) when it cannot be resumed safely."""
    partial = target + _PARTIAL
    try:
        offset = os.path.getsize(partial)
        with open(target + _RESUME_STATE, encoding="utf-8") as f:
            state = json.load(f)
    except (OSError, ValueError):
        return 0, None
    if not (isinstance(state, dict) and state.get("url") == url and isinstance(state.get("validator"), str)):
        return 0, None
    return offset, state


def _write_resume_state(target, url, validator, total):
    with open(target + _RESUME_STATE, "w", encoding="utf-8") as f:
        json.dump({"url": url, "validator": validator, "total": total}, f)


def _fetch_http_once(url, target, progress, timeout):
    partial = target + _PARTIAL
    offset, state = _resume_point(url, target)
    request = urllib.request.Request(url, headers={"User-Agent": f"keras-stylegan/{__version__}"})
    if offset:
        # If-Range: the server sends the rest only if the file is still the one we hold, else all of it.
        request.add_header("Range", f"bytes={offset}-")
        request.add_header("If-Range", state["validator"])
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if response.status == 206:
            served = re.match(r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("Content-Range", ""))
            if not offset or not served or int(served[1]) != offset:
                _discard_partial(target)
                raise ConnectionError("server resumed at the wrong offset; restarting")
            size_changed = served[2] != "*" and state.get("total") not in (None, int(served[2]))
            if size_changed or _validator(response.headers) not in (None, state["validator"]):
                _discard_partial(target)  # the server ignored If-Range: these bytes belong to another file
                raise ConnectionError("the file changed on the server during the download; restarting")
        else:
            offset = 0  # a full answer: to a plain request, or to If-Range when the file changed upstream
        length = response.headers.get("Content-Length")
        remaining = int(length) if length and length.isdigit() else None
        total = None if remaining is None else offset + remaining
        try:
            if not offset:
                _discard_partial(target)
                _write_resume_state(target, url, _validator(response.headers), total)
            out = open(partial, "ab" if offset else "wb", buffering=0)  # unbuffered: write errors surface here
        except OSError as error:
            raise DownloadError(_cache_write_failure(url, target, error)) from None
        received = 0
        with out, tqdm(
            total=total,
            initial=offset,
            unit="B",
            unit_scale=True,
            desc=os.path.basename(target),
            disable=None if progress and total else True,  # None: only on a terminal
        ) as bar:
            for chunk in iter(lambda: response.read(_CHUNK_BYTES), b""):
                _write_all(out, chunk, url, target)
                received += len(chunk)
                bar.update(len(chunk))
    if remaining is not None and received < remaining:
        raise ConnectionError(f"connection closed after {offset + received} of {total} bytes")


def _write_all(out, chunk, url, target):
    view = memoryview(chunk)
    try:
        while view:
            view = view[out.write(view):]  # a raw file may write fewer bytes than asked
    except OSError as error:  # a full disk, a file size limit: the cache's fault, not the network's
        raise DownloadError(_cache_write_failure(url, target, error)) from None


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


def _record_checksum(url, digest, target):
    ledger = _read_ledger()
    if ledger.get(url) == digest:
        return
    ledger[url] = digest
    try:
        with atomic_path(_ledger_path()) as scratch, open(scratch, "w", encoding="utf-8") as f:
            json.dump(ledger, f, indent=2, sort_keys=True)
    except OSError as error:
        raise DownloadError(
            f"Cannot update {_ledger_entry(url)}: {error.strerror or error}. The file is cached at {target} but "
            "not pinned; it is checked again and pinned by the next call."
        ) from None
