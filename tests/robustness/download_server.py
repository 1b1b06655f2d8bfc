"""A real HTTP server on 127.0.0.1, run in a thread by the tests, that serves one file and misbehaves on request.

Nothing here mocks the downloader: it talks HTTP over a socket to this server, which answers the
way a CDN, a proxy or a broken link does (error pages with 200, bodies cut short, files replaced
between two requests, servers that ignore `If-Range`).
"""
import hashlib
import http.server
import re
import threading

import numpy as np
import pytest

from official_pickles import dumps, persistent_module

HTML_ERROR_PAGE = (b"<!DOCTYPE html>\n<html><head><title>Quota exceeded</title></head>"
                   b"<body>Too many users have viewed or downloaded this file recently.</body></html>\n")


def digest(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh download cache for one test, retried without waiting (use with `usefixtures` or by name)."""
    from keras_stylegan.zoo import download as download_module

    monkeypatch.setenv("KERAS_STYLEGAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(download_module, "RETRY_BACKOFF_SECONDS", 0.0)
    return tmp_path / "cache"


@pytest.fixture
def server():
    """A `FileServer` of `model_bytes(seed=0)`, closed after the test."""
    file_server = FileServer(model_bytes(seed=0))
    yield file_server
    file_server.close()


def model_bytes(seed=0, size=100):
    """A small stylegan2-ada-pytorch pickle (about 40 KB) that the safe reader accepts; same length for every seed."""
    weight = np.random.RandomState(seed).randn(size, size).astype("float32")
    return dumps({"G_ema": persistent_module("Generator", {"fc.weight": weight}, {"z_dim": size})}, protocol=4)


class FileServer:
    """Serves `content` at `url`; each attribute changes how the next responses behave.

    Attributes:
        content: the file's bytes.
        etag: the ETag sent, `"auto"` (derived from `content`, so it changes with it) or None.
        last_modified: the Last-Modified header sent, or None.
        status: answer every request with this error status when not 200.
        content_type: the Content-Type header.
        send_length: send Content-Length; without it the body ends when the connection closes.
        cut: "never", "first" (only the first request) or "always": send half the body, then close.
        honour_range: answer `Range: bytes=N-` with 206 (else always 200 with the whole file).
        honour_if_range: send the whole file when `If-Range` names another version (RFC 9110);
            when False, the server resumes whatever it holds now, as broken servers do.
        requests: `{"range", "if_range"}` of every request, in order.
    """

    def __init__(self, content, path="/pretrained/ffhq%20256.pkl"):
        self.content = content
        self.etag = "auto"
        self.last_modified = None
        self.status = 200
        self.content_type = "application/octet-stream"
        self.send_length = True
        self.cut = "never"
        self.honour_range = True
        self.honour_if_range = True
        self.requests = []
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}{path}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def current_etag(self):
        if self.etag == "auto":
            return '"' + hashlib.sha256(self.content).hexdigest()[:16] + '"'
        return self.etag

    def close(self):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def _handler(self):
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):  # HTTP/1.0: one response per connection
            def do_GET(self):
                range_header, if_range = self.headers.get("Range"), self.headers.get("If-Range")
                server.requests.append({"range": range_header, "if_range": if_range})
                if server.status != 200:
                    self.send_error(server.status)
                    return
                content, etag = server.content, server.current_etag()
                start = 0
                match = re.fullmatch(r"bytes=(\d+)-", range_header or "")
                same_version = if_range is None or if_range in (etag, server.last_modified)
                if match and server.honour_range and (same_version or not server.honour_if_range):
                    start = int(match[1])
                    if start >= len(content):
                        self.send_error(416)
                        return
                body = content[start:]
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(content) - 1}/{len(content)}")
                if etag:
                    self.send_header("ETag", etag)
                if server.last_modified:
                    self.send_header("Last-Modified", server.last_modified)
                self.send_header("Content-Type", server.content_type)
                if server.send_length:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                cut = server.cut == "always" or (server.cut == "first" and len(server.requests) == 1)
                self.wfile.write(body[: len(body) // 2] if cut else body)

            def log_message(self, *args):
                pass

        return Handler
