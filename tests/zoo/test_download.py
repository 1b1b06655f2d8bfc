"""The download cache against a local HTTP server that can drop connections mid-file.

The bad responses seen in the wild (error pages with 200, empty or cut-short bodies, files that
change between two requests) are in tests/robustness/test_download_faults.py.
"""
import json
import os
import re
import socket

import pytest

from keras_stylegan.zoo.download import (
    ChecksumError,
    DownloadError,
    cache_dir,
    download,
    file_id_from_drive_url,
    model_file_problem,
    sha256_of,
)
from robustness.download_server import HTML_ERROR_PAGE, digest, model_bytes

CONTENT = model_bytes(seed=0)

pytestmark = pytest.mark.usefixtures("cache")  # every test gets its own cache


def ledger(cache):
    return json.loads((cache / "checksums.json").read_text())


def ranges(server):
    return [request["range"] for request in server.requests]


def test_success_caches_file_and_records_checksum(server, cache):
    path = download(server.url, progress=False)
    assert path == str(cache / "models" / "ffhq_256.pkl")
    assert open(path, "rb").read() == server.content
    assert ledger(cache) == {server.url: digest(server.content)}
    assert os.listdir(cache / "models") == ["ffhq_256.pkl"]  # no partial file, no resume state


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


def test_explicit_sha256_is_trusted_without_the_format_check(server, cache):
    server.content = b"any bytes the caller vouches for"
    path = download(server.url, sha256=digest(server.content), progress=False)
    assert open(path, "rb").read() == server.content


def test_trust_on_first_use_refuses_changed_content(server, cache):
    path = download(server.url, progress=False)
    original = server.content
    server.content = model_bytes(seed=1)
    os.remove(path)
    with pytest.raises(ChecksumError) as info:
        download(server.url, progress=False)
    message = str(info.value)
    assert server.url in message and digest(original) in message and digest(server.content) in message
    assert f"pinned in ledger entry {server.url!r} of {cache / 'checksums.json'}" in message
    assert os.listdir(cache / "models") == []
    assert ledger(cache) == {server.url: digest(original)}


def test_dropped_connection_is_resumed_with_range(server):
    server.cut = "first"
    path = download(server.url, retries=2)  # progress on: a no-op bar off a terminal
    assert open(path, "rb").read() == server.content
    assert server.requests == [{"range": None, "if_range": None},
                               {"range": f"bytes={len(server.content) // 2}-", "if_range": server.current_etag()}]


def test_dropped_every_time_leaves_only_partial_file_then_resumes(server, cache):
    server.cut = "always"
    with pytest.raises(DownloadError, match=re.escape(server.url) + r" \(connection closed after"):
        download(server.url, progress=False, retries=1)
    assert len(server.requests) == 2
    partial = cache / "models" / "ffhq_256.pkl.part"
    assert sorted(os.listdir(cache / "models")) == [partial.name, "ffhq_256.pkl.part.json"]
    kept = partial.stat().st_size
    assert kept == len(server.content) * 3 // 4  # half, then half of the rest
    server.cut = "never"
    path = download(server.url, progress=False)
    assert ranges(server)[-1] == f"bytes={kept}-"
    assert open(path, "rb").read() == server.content
    assert os.listdir(cache / "models") == ["ffhq_256.pkl"]


def test_server_ignoring_range_restarts_from_zero(server, cache):
    server.cut = "first"
    with pytest.raises(DownloadError):
        download(server.url, progress=False, retries=0)
    server.honour_range = False  # answers the range request with 200 and the whole file
    path = download(server.url, progress=False)
    assert ranges(server) == [None, f"bytes={len(server.content) // 2}-"]
    assert open(path, "rb").read() == server.content


def test_partial_file_of_unknown_origin_is_not_resumed(server, cache):
    (cache / "models").mkdir(parents=True)
    (cache / "models" / "ffhq_256.pkl.part").write_bytes(b"stale bytes from another file")
    path = download(server.url, progress=False)
    assert ranges(server) == [None]
    assert open(path, "rb").read() == server.content


def test_404_names_status_url_and_cache_path_without_retrying(server, cache):
    server.status = 404
    target = cache / "models" / "ffhq_256.pkl"
    expected = re.escape(f"{server.url} (HTTP 404 Not Found); nothing was cached at {target}")
    with pytest.raises(DownloadError, match=expected) as info:
        download(server.url, progress=False)
    assert "\n" not in str(info.value)
    assert len(server.requests) == 1
    assert os.listdir(cache / "models") == []


def test_corrupted_cached_file_is_an_error(server):
    path = download(server.url, progress=False)
    with open(path, "r+b") as f:
        f.write(b"X")
    with pytest.raises(ChecksumError, match=f"Cached file {re.escape(path)} .*Delete it.*--refresh"):
        download(server.url, progress=False)
    assert len(server.requests) == 1
    with pytest.raises(ChecksumError, match="Delete it"):
        download(server.url, sha256=digest(server.content), progress=False)


def test_model_file_problem(tmp_path):
    (tmp_path / "ok.pkl").write_bytes(CONTENT)
    (tmp_path / "page.pkl").write_bytes(b"  " + HTML_ERROR_PAGE)
    (tmp_path / "text.pkl").write_bytes(b"hello")
    (tmp_path / "half.pkl").write_bytes(CONTENT[:1000])
    (tmp_path / "empty.pkl").write_bytes(b"")
    assert model_file_problem(tmp_path / "ok.pkl") is None
    assert "HTML page" in model_file_problem(tmp_path / "page.pkl")
    assert model_file_problem(tmp_path / "text.pkl") == (
        "it is neither a pickle nor a zip file (it starts with b'hello')")
    assert "cut short" in model_file_problem(tmp_path / "half.pkl")
    assert model_file_problem(tmp_path / "empty.pkl") == "it is empty"


def test_closed_port_gives_offline_hint(cache):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/models/y.pkl"
    with pytest.raises(DownloadError) as info:
        download(url, progress=False, retries=1, timeout=5)
    assert str(info.value) == (
        f"Could not download {url} (connection refused); nothing was cached at {cache / 'models' / 'y.pkl'}. "
        "No network? Download the file by hand and load it with keras_stylegan.zoo.load('/path/to/y.pkl')."
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
    served = [HTML_ERROR_PAGE, CONTENT, CONTENT]  # Drive's quota page first, as it sends one with status 200

    def fake_gdown_download(**kwargs):  # gdown is the third-party client: our checks around it are real
        calls.append(kwargs)
        with open(kwargs["output"], "wb") as f:
            f.write(served[len(calls) - 1])
        return kwargs["output"]

    monkeypatch.setattr(gdown, "download", fake_gdown_download)
    url = "https://drive.google.com/uc?id=1Ab_c-9Z"
    target = cache / "models" / "1Ab_c-9Z"
    with pytest.raises(DownloadError, match=f"HTML page.*Nothing was cached at {re.escape(str(target))}"):
        download(url, progress=False)
    assert os.listdir(cache / "models") == [] and not (cache / "checksums.json").exists()
    path = download(url, progress=False)
    assert path == str(target)
    assert [(c["id"], c["output"]) for c in calls] == [("1Ab_c-9Z", path + ".part")] * 2
    assert ledger(cache) == {url: digest(CONTENT)}
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
        ({"refresh": "yes"}, "refresh must be True or False. Received: 'yes'"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        download(**{"url": "http://127.0.0.1:9/y.pkl", **kwargs})
