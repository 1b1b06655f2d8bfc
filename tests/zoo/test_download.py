"""The download cache against a local HTTP server that can drop connections mid-file."""
import hashlib
import http.server
import json
import os
import re
import socket
import threading
import types

import pytest

from keras_stylegan.zoo import download as download_module
from keras_stylegan.zoo.download import (
    ChecksumError,
    DownloadError,
    cache_dir,
    download,
    file_id_from_drive_url,
    sha256_of,
)


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_STYLEGAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(download_module, "RETRY_BACKOFF_SECONDS", 0.0)
    return tmp_path / "cache"


@pytest.fixture
def server():
    """Serves `state.content` at any path; honours `Range: bytes=N-`; logs every request.

    `state.drop` is "never", "first" or "always": a dropped response announces the full
    Content-Length, sends half the body and closes the connection.
    """
    state = types.SimpleNamespace(
        content=os.urandom(50_000), requests=[], drop="never", status=200, honour_range=True
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            state.requests.append(self.headers.get("Range"))
            if state.status != 200:
                self.send_error(state.status)
                return
            match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
            start = int(match[1]) if match and state.honour_range else 0
            if start >= len(state.content) > 0 and match:
                self.send_error(416)
                return
            body = state.content[start:]
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(state.content) - 1}/{len(state.content)}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            drop = state.drop == "always" or (state.drop == "first" and len(state.requests) == 1)
            self.wfile.write(body[: len(body) // 2] if drop else body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/pretrained/ffhq%20256.pkl"
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def digest(data):
    return hashlib.sha256(data).hexdigest()


def ledger(cache):
    return json.loads((cache / "checksums.json").read_text())


def test_success_caches_file_and_records_checksum(server, cache):
    path = download(server.url, progress=False)
    assert path == str(cache / "models" / "ffhq_256.pkl")
    assert open(path, "rb").read() == server.content
    assert ledger(cache) == {server.url: digest(server.content)}
    assert not os.path.exists(path + ".part")


def test_cached_second_call_makes_no_request(server):
    first = download(server.url, progress=False)
    count = len(server.requests)
    assert download(server.url, progress=False) == first
    assert download(server.url, sha256=digest(server.content), progress=False) == first
    assert len(server.requests) == count == 1


def test_explicit_sha256_mismatch_keeps_nothing(server, cache):
    wrong = digest(b"something else")
    with pytest.raises(ChecksumError, match=f"{re.escape(server.url)}.*{wrong}.*{digest(server.content)}"):
        download(server.url, sha256=wrong, progress=False)
    assert os.listdir(cache / "models") == []
    # The right checksum then succeeds with a fresh download.
    path = download(server.url, sha256=digest(server.content).upper(), progress=False)
    assert open(path, "rb").read() == server.content


def test_trust_on_first_use_refuses_changed_content(server, cache):
    path = download(server.url, progress=False)
    original = server.content
    server.content = os.urandom(50_000)
    os.remove(path)
    with pytest.raises(ChecksumError) as info:
        download(server.url, progress=False)
    message = str(info.value)
    assert server.url in message and digest(original) in message and digest(server.content) in message
    assert os.listdir(cache / "models") == []
    assert ledger(cache) == {server.url: digest(original)}


def test_dropped_connection_is_resumed_with_range(server):
    server.drop = "first"
    path = download(server.url, retries=2)  # progress on: a no-op bar off a terminal
    assert open(path, "rb").read() == server.content
    assert server.requests == [None, f"bytes={len(server.content) // 2}-"]


def test_dropped_every_time_leaves_only_partial_file_then_resumes(server, cache):
    server.drop = "always"
    with pytest.raises(DownloadError, match=re.escape(server.url) + r" \(connection closed after"):
        download(server.url, progress=False, retries=1)
    assert len(server.requests) == 2
    partial = cache / "models" / "ffhq_256.pkl.part"
    assert os.listdir(cache / "models") == [partial.name]
    kept = partial.stat().st_size
    assert kept == len(server.content) * 3 // 4  # half, then half of the rest
    server.drop = "never"
    path = download(server.url, progress=False)
    assert server.requests[-1] == f"bytes={kept}-"
    assert open(path, "rb").read() == server.content
    assert not partial.exists()


def test_server_ignoring_range_restarts_from_zero(server, cache):
    (cache / "models").mkdir(parents=True)
    (cache / "models" / "ffhq_256.pkl.part").write_bytes(b"stale bytes from another file")
    server.honour_range = False
    path = download(server.url, progress=False)
    assert server.requests == ["bytes=29-"]
    assert open(path, "rb").read() == server.content


def test_404_names_status_and_url_without_retrying(server, cache):
    server.status = 404
    with pytest.raises(DownloadError, match=re.escape(server.url) + r" \(HTTP 404 Not Found\)") as info:
        download(server.url, progress=False)
    assert "\n" not in str(info.value)
    assert len(server.requests) == 1
    assert os.listdir(cache / "models") == []


def test_corrupted_cached_file_is_an_error(server):
    path = download(server.url, progress=False)
    with open(path, "r+b") as f:
        f.write(b"X")
    with pytest.raises(ChecksumError, match=f"Cached file {re.escape(path)} .*Delete it"):
        download(server.url, progress=False)
    assert len(server.requests) == 1
    with pytest.raises(ChecksumError, match="Delete it"):
        download(server.url, sha256=digest(server.content), progress=False)


def test_closed_port_gives_offline_hint():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/models/y.pkl"
    with pytest.raises(DownloadError) as info:
        download(url, progress=False, retries=1, timeout=5)
    assert str(info.value) == (
        f"Could not download {url} (connection refused). No network? Download the file by hand "
        "and load it with keras_stylegan.zoo.load('/path/to/y.pkl')."
    )


def test_cache_root_follows_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("KERAS_STYLEGAN_CACHE")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    assert cache_dir("models") == os.path.join(str(tmp_path / "kh"), "keras_stylegan", "models")
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == os.path.join(str(tmp_path / "home"), ".keras", "keras_stylegan")


def test_sha256_of_matches_hashlib(tmp_path):
    data = os.urandom(3000)
    (tmp_path / "f").write_bytes(data)
    assert sha256_of(tmp_path / "f", chunk_bytes=1000) == digest(data)


@pytest.mark.parametrize(
    "url",
    [
        "https://drive.google.com/file/d/1Ab_c-9Z/view?usp=sharing",
        "https://drive.google.com/open?id=1Ab_c-9Z",
        "https://drive.google.com/uc?id=1Ab_c-9Z&export=download",
        "https://docs.google.com/uc?export=download&id=1Ab_c-9Z",
    ],
)
def test_file_id_from_drive_url(url):
    assert file_id_from_drive_url(url) == "1Ab_c-9Z"


def test_file_id_from_drive_url_rejects_other_links():
    with pytest.raises(ValueError, match="Google Drive link. Received: 'https://example.com/x'"):
        file_id_from_drive_url("https://example.com/x")
    with pytest.raises(ValueError, match="no Google Drive file id"):
        file_id_from_drive_url("https://drive.google.com/drive/my-drive")


def test_drive_links_go_through_gdown_and_the_same_checks(monkeypatch, cache):
    import gdown
    calls = []

    def fake_gdown_download(**kwargs):
        calls.append(kwargs)
        with open(kwargs["output"], "wb") as f:
            f.write(b"drive bytes")
        return kwargs["output"]

    monkeypatch.setattr(gdown, "download", fake_gdown_download)
    url = "https://drive.google.com/uc?id=1Ab_c-9Z"
    path = download(url, progress=False)
    assert path == str(cache / "models" / "1Ab_c-9Z")
    assert [(c["id"], c["output"]) for c in calls] == [("1Ab_c-9Z", path + ".part")]
    assert ledger(cache) == {url: digest(b"drive bytes")}
    with pytest.raises(ChecksumError):
        download(url, filename="other.pkl", sha256=digest(b"expected"), progress=False)
    assert not (cache / "models" / "other.pkl").exists()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"url": "ftp://x/y"}, "url must be an http"),
        ({"sha256": "abc"}, "sha256 must be 64 hexadecimal characters or None. Received: 'abc'"),
        ({"filename": "../y.pkl"}, "filename must be a plain file name"),
        ({"subdir": "../elsewhere"}, "subdir must be a relative folder"),
        ({"retries": -1}, "retries must be an integer >= 0. Received: -1"),
        ({"timeout": 0}, "timeout must be a number of seconds > 0. Received: 0"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        download(**{"url": "http://127.0.0.1:9/y.pkl", **kwargs})
