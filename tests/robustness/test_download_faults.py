"""The download cache against a real HTTP server on 127.0.0.1 that serves the bad responses seen in the wild.

For each fault: nothing is pinned in checksums.json, no corrupt file sits under the cache's final
name, the error names the cache path and the ledger entry, and the good file downloads afterwards
without editing anything by hand.
"""
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest
from click.testing import CliRunner

from keras_stylegan.cli.main import cli
from keras_stylegan.zoo import ModelCard, register, unregister
from keras_stylegan.zoo.download import ChecksumError, DownloadError, download
from robustness.download_server import HTML_ERROR_PAGE, digest, model_bytes

GOOD = model_bytes(seed=0)
UPDATED = model_bytes(seed=1)  # the same model re-uploaded with other weights: same length, other bytes

pytestmark = pytest.mark.usefixtures("cache")  # every test gets its own cache


def pins(cache):
    path = cache / "checksums.json"
    return json.loads(path.read_text()) if path.exists() else {}


def target(cache):
    return cache / "models" / "ffhq_256.pkl"


def assert_nothing_kept(cache):
    """No file under the final name, no partial bytes, nothing pinned."""
    assert not target(cache).exists()
    assert not os.path.exists(str(target(cache)) + ".part")
    assert pins(cache) == {}


def assert_names_cache_and_ledger(message, url, cache):
    assert str(target(cache)) in message, message
    assert f"ledger entry {url!r} of {cache / 'checksums.json'}" in message, message
    assert "\n" not in message


def assert_good_download_follows(server, cache, content=GOOD):
    server.content, server.status, server.content_type, server.cut, server.send_length = (
        content, 200, "application/octet-stream", "never", True)
    path = download(server.url, progress=False)
    assert path == str(target(cache))
    assert open(path, "rb").read() == content
    assert pins(cache) == {server.url: digest(content)}


def test_html_error_page_with_status_200_is_refused(server, cache):
    server.content, server.content_type = HTML_ERROR_PAGE, "text/html"
    with pytest.raises(DownloadError, match="HTML page, not a model file") as info:
        download(server.url, progress=False)
    assert_names_cache_and_ledger(str(info.value), server.url, cache)
    assert_nothing_kept(cache)
    assert_good_download_follows(server, cache)


def test_body_cut_short_without_content_length_is_refused(server, cache):
    server.send_length, server.cut = False, "first"  # half the pickle, then the connection closes
    with pytest.raises(DownloadError, match="cut short or not a StyleGAN model") as info:
        download(server.url, progress=False)
    assert_names_cache_and_ledger(str(info.value), server.url, cache)
    assert_nothing_kept(cache)
    assert_good_download_follows(server, cache)


def test_body_cut_short_with_content_length_is_kept_apart_then_resumed_with_if_range(server, cache):
    server.cut = "always"
    with pytest.raises(DownloadError, match=r"connection closed after 20534 of 41068 bytes") as info:
        download(server.url, progress=False, retries=0)
    assert str(target(cache)) in str(info.value)
    assert not target(cache).exists() and pins(cache) == {}
    assert os.path.getsize(str(target(cache)) + ".part") == len(GOOD) // 2
    server.cut = "never"
    assert open(download(server.url, progress=False), "rb").read() == GOOD
    assert server.requests[-1] == {"range": f"bytes={len(GOOD) // 2}-", "if_range": server.current_etag()}
    assert pins(cache) == {server.url: digest(GOOD)}
    assert sorted(os.listdir(cache / "models")) == ["ffhq_256.pkl"]


def test_resume_across_an_upstream_change_restarts_instead_of_splicing(server, cache):
    server.cut = "first"
    with pytest.raises(DownloadError, match="calling again resumes"):
        download(server.url, progress=False, retries=0)
    old_etag = server.current_etag()
    server.content = UPDATED  # replaced upstream between the partial download and the resume
    path = download(server.url, progress=False)
    assert server.requests[-1] == {"range": f"bytes={len(GOOD) // 2}-", "if_range": old_etag}
    assert open(path, "rb").read() == UPDATED  # not GOOD's first half glued to UPDATED's second half
    assert pins(cache) == {server.url: digest(UPDATED)}


def test_resume_with_last_modified_when_there_is_no_etag(server, cache):
    server.etag, server.last_modified, server.cut = None, "Tue, 01 Sep 2020 10:00:00 GMT", "first"
    with pytest.raises(DownloadError):
        download(server.url, progress=False, retries=0)
    server.content, server.last_modified = UPDATED, "Wed, 02 Sep 2020 10:00:00 GMT"
    assert open(download(server.url, progress=False), "rb").read() == UPDATED
    assert server.requests[-1]["if_range"] == "Tue, 01 Sep 2020 10:00:00 GMT"


def test_server_ignoring_if_range_is_caught_by_the_etag_of_its_answer(server, cache):
    server.cut, server.honour_if_range = "first", False
    with pytest.raises(DownloadError):
        download(server.url, progress=False, retries=0)
    server.content = UPDATED
    path = download(server.url, progress=False, retries=1)  # the 206 of another version, then a restart
    assert [r["range"] for r in server.requests] == [None, f"bytes={len(GOOD) // 2}-", None]
    assert open(path, "rb").read() == UPDATED


def test_resume_into_a_file_of_another_size_restarts(server, cache):
    # A stale Last-Modified passes If-Range, but the total size in Content-Range shows another file.
    server.etag, server.last_modified, server.cut = None, "Tue, 01 Sep 2020 10:00:00 GMT", "first"
    with pytest.raises(DownloadError):
        download(server.url, progress=False, retries=0)
    server.content = bigger = model_bytes(seed=2, size=110)
    path = download(server.url, progress=False, retries=1)
    assert [r["range"] for r in server.requests] == [None, f"bytes={len(GOOD) // 2}-", None]
    assert open(path, "rb").read() == bigger


def test_without_any_validator_a_partial_file_is_never_resumed(server, cache):
    server.etag, server.cut = None, "first"
    with pytest.raises(DownloadError) as info:
        download(server.url, progress=False, retries=0)
    assert "resumes" not in str(info.value)
    assert_nothing_kept(cache)  # bytes that cannot be matched to a version are not kept
    server.content = UPDATED
    assert open(download(server.url, progress=False), "rb").read() == UPDATED
    assert server.requests[-1]["range"] is None


@pytest.mark.parametrize("send_length", [True, False])
def test_empty_body_is_refused(server, cache, send_length):
    server.content, server.send_length = b"", send_length
    with pytest.raises(DownloadError, match="the server sent an empty file") as info:
        download(server.url, progress=False)
    assert_names_cache_and_ledger(str(info.value), server.url, cache)
    assert_nothing_kept(cache)
    assert_good_download_follows(server, cache)


def test_zip_magic_alone_does_not_make_a_model(server, cache):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a network")
    server.content = buffer.getvalue()
    with pytest.raises(DownloadError, match="cut short or not a StyleGAN model"):
        download(server.url, progress=False)
    assert_nothing_kept(cache)


@pytest.mark.parametrize("status, attempts", [(404, 1), (500, 3)])
def test_http_errors_cache_nothing(server, cache, status, attempts):
    server.status = status
    expected = rf"\(HTTP {status} .*nothing was cached at {re.escape(str(target(cache)))}"
    with pytest.raises(DownloadError, match=expected):
        download(server.url, progress=False, retries=2)
    assert len(server.requests) == attempts
    assert_nothing_kept(cache)
    assert_good_download_follows(server, cache)


def write_pin(cache, url, content):
    """A file under the final name with its hash pinned; older versions pinned bad files this way too."""
    target(cache).parent.mkdir(parents=True, exist_ok=True)
    target(cache).write_bytes(content)
    (cache / "checksums.json").write_text(json.dumps({url: digest(content)}))


def test_pinned_error_page_is_reported_then_replaced_by_refresh(server, cache):
    write_pin(cache, server.url, HTML_ERROR_PAGE)
    with pytest.raises(DownloadError, match="refresh") as info:
        download(server.url, progress=False)
    assert_names_cache_and_ledger(str(info.value), server.url, cache)
    assert server.requests == []
    path = download(server.url, progress=False, refresh=True)
    assert open(path, "rb").read() == GOOD
    assert pins(cache) == {server.url: digest(GOOD)}
    assert download(server.url, progress=False) == path  # later calls use the new pin


def test_refresh_forgets_a_bad_pin_whose_file_was_deleted(server, cache):
    write_pin(cache, server.url, b"")
    target(cache).unlink()
    with pytest.raises(ChecksumError, match="refresh") as info:
        download(server.url, progress=False)
    assert_names_cache_and_ledger(str(info.value), server.url, cache)
    assert not target(cache).exists()
    assert open(download(server.url, progress=False, refresh=True), "rb").read() == GOOD
    assert pins(cache) == {server.url: digest(GOOD)}


def test_failed_refresh_keeps_the_cached_file_and_its_pin(server, cache):
    path = download(server.url, progress=False)
    server.content = HTML_ERROR_PAGE
    with pytest.raises(DownloadError, match="HTML page"):
        download(server.url, progress=False, refresh=True)
    assert open(path, "rb").read() == GOOD
    assert pins(cache) == {server.url: digest(GOOD)}
    assert sorted(os.listdir(cache / "models")) == ["ffhq_256.pkl"]


def test_unpinned_cached_file_is_checked_before_it_is_pinned(server, cache):
    target(cache).parent.mkdir(parents=True)
    target(cache).write_bytes(GOOD[: len(GOOD) // 2])  # placed by hand, cut short
    with pytest.raises(DownloadError, match="not pinned") as info:
        download(server.url, progress=False)
    assert_names_cache_and_ledger(str(info.value), server.url, cache)
    assert pins(cache) == {}
    target(cache).write_bytes(GOOD)
    assert download(server.url, progress=False) == str(target(cache))
    assert pins(cache) == {server.url: digest(GOOD)} and server.requests == []


@pytest.fixture
def card(server):
    card = ModelCard(name="local-faulty", architecture="stylegan2", resolution="16x16", channels=3,
                     generator=dict(architecture="stylegan2", resolution=16), urls=[server.url],
                     source_format="pytorch-pickle", license="test")
    register(card)
    yield card
    unregister(card.name)


def run_cli(*args):
    result = CliRunner().invoke(cli, ["zoo", "download", *args])
    return result.exit_code, result.output


def assert_one_error_line(exit_code, output, cache_path):
    assert exit_code == 2, output
    assert output.startswith("Error: ") and output.count("\n") == 1, output
    assert str(cache_path) in output and "Traceback" not in output


def test_cli_download_errors_and_refresh(server, cache, card):
    cached = cache / "models" / "local-faulty.pkl"
    server.content = HTML_ERROR_PAGE
    exit_code, output = run_cli("local-faulty")
    assert_one_error_line(exit_code, output, cached)
    assert "HTML page" in output and not cached.exists() and pins(cache) == {}

    server.content = GOOD
    assert run_cli("local-faulty") == (0, f"{cached}\n")
    assert pins(cache) == {server.url: digest(GOOD)}

    server.content = UPDATED  # changed upstream after the pin
    cached.unlink()
    exit_code, output = run_cli("local-faulty")
    assert_one_error_line(exit_code, output, cached)
    assert "--refresh" in output and not cached.exists()

    not_ours = write_preset(cache, "local-faulty", card_in_metadata="made-by-hand")
    assert run_cli("local-faulty", "--refresh") == (0, f"{cached}\n")
    assert cached.read_bytes() == UPDATED and pins(cache) == {server.url: digest(UPDATED)}
    assert (not_ours / "config.json").exists()  # not converted by zoo.load for this card: left alone

    shutil.rmtree(not_ours)
    converted = write_preset(cache, "local-faulty")
    assert run_cli("local-faulty", "--refresh") == (0, f"{cached}\n")
    assert not converted.exists()  # converted from the old file: zoo.load converts the new one

    server.status = 404
    converted = write_preset(cache, "local-faulty")
    exit_code, output = run_cli("local-faulty", "--refresh")
    assert_one_error_line(exit_code, output, cached)
    assert cached.read_bytes() == UPDATED and converted.exists()  # a failed refresh loses nothing


def write_preset(cache, card_name, card_in_metadata=None):
    """A preset directory as zoo.load leaves it after converting a card's pickle (contents abridged)."""
    directory = cache / "presets" / card_name
    directory.mkdir(parents=True)
    (directory / "config.json").write_text("{}")
    (directory / "metadata.json").write_text(json.dumps({"card": card_in_metadata or card_name}))
    return directory


FULL_DISK_SCRIPT = """
import resource, signal, sys
from keras_stylegan.zoo.download import DownloadError, download
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), int(sys.argv[2])))
try:
    download(sys.argv[1], progress=False, retries=2)
except DownloadError as error:
    print(error)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_full_disk_is_one_error_naming_the_cache_and_leaves_nothing(server, cache):
    write_pin(cache, server.url, GOOD)  # a verified earlier download of the same file
    target(cache).unlink()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run([sys.executable, "-c", FULL_DISK_SCRIPT, server.url, str(len(GOOD) // 3)],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    message = result.stdout.strip()
    assert message.startswith(f"Cannot write the download cache at {target(cache)}: File too large."), message
    assert_names_cache_and_ledger(message, server.url, cache)
    assert len(server.requests) == 1  # not retried as if the network had failed
    assert os.listdir(cache / "models") == []  # the partial bytes are removed, freeing the space
    assert pins(cache) == {server.url: digest(GOOD)}
    assert open(download(server.url, progress=False), "rb").read() == GOOD
