"""Presets on hubs (`hf://`, `kaggle://`) through the real clients, offline: their own caches, filled by the test.

`huggingface_hub` runs in its offline mode (`HF_HUB_OFFLINE`) on a cache laid out as it lays one
out (`models--OWNER--REPO/{blobs,snapshots/COMMIT,refs}`); `kagglehub` reads a versioned handle
from `KAGGLEHUB_CACHE`, filled with kagglehub's own cache functions. Nothing reaches a network.
"""
import base64
import hashlib
import http.server
import json
import os
import shutil
import sys
import threading

import numpy as np
import pytest
from click.testing import CliRunner

from keras_stylegan import Discriminator, Generator, zoo
from keras_stylegan.cli.main import cli
from keras_stylegan.zoo import hub
from keras_stylegan.zoo.presets import save_preset

TINY = dict(resolution=16, channels=3, z_dim=8, w_dim=8, channel_base=64, channel_max=8, mapping_layers=1)
TINY_D = dict(resolution=16, channels=3, channel_base=64, channel_max=8, mbstd_group_size=2)
HF_TEST_TOKEN = "hf_standin_test_token"
COMMIT = "4f1c2bd7a6e0f5e9c3b8a1d2e4f6a8b0c2d4e6f8"


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    g, d = Generator(**TINY), Discriminator(**TINY_D)
    g.mapping.w_avg.assign(np.linspace(-1, 1, 8).astype("float32"))
    path = save_preset(tmp_path_factory.mktemp("preset") / "tiny", g, d, metadata={"source": "test"})
    return path, g, d


def same_images(g, g2):
    z = np.random.RandomState(1).randn(2, 8).astype("float32")
    np.testing.assert_array_equal(np.asarray(g2(z, noise_mode="const")), np.asarray(g(z, noise_mode="const")))
    return True


# Hugging Face

def put_in_hf_cache(cache, repo_id, files, ref="main", commit=COMMIT):
    """Lays `files` ({name: bytes}) out as huggingface_hub caches a download of `repo_id` at `ref`."""
    root = os.path.join(cache, "models--" + repo_id.replace("/", "--"))
    snapshot = os.path.join(root, "snapshots", commit)
    os.makedirs(os.path.join(root, "blobs"), exist_ok=True)
    os.makedirs(snapshot, exist_ok=True)
    os.makedirs(os.path.join(root, "refs"), exist_ok=True)
    for name, data in files.items():
        blob = os.path.join(root, "blobs", hashlib.sha256(data).hexdigest())
        with open(blob, "wb") as f:
            f.write(data)
        os.symlink(os.path.relpath(blob, snapshot), os.path.join(snapshot, name))
    with open(os.path.join(root, "refs", ref), "w") as f:
        f.write(commit)


def read_files(directory):
    return {name: open(os.path.join(directory, name), "rb").read() for name in os.listdir(directory)}


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    pytest.importorskip("huggingface_hub")  # the `hub` and `test` extras install it
    from huggingface_hub import constants
    cache = str(tmp_path / "hf-cache")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", cache)  # what HF_HUB_CACHE sets at import
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # what HF_HUB_OFFLINE=1 sets
    return cache


def test_hf_preset_loads_offline_from_the_clients_cache(preset, hf_cache):
    path, g, d = preset
    put_in_hf_cache(hf_cache, "someone/tiny-stylegan", read_files(path))
    g2 = Generator.from_preset("hf://someone/tiny-stylegan")
    assert same_images(g, g2)
    g3, d3 = zoo.load("hf://someone/tiny-stylegan", discriminator=True)
    image = g(np.zeros([2, 8], "float32"), noise_mode="const")
    np.testing.assert_array_equal(np.asarray(d3(image)), np.asarray(d(image)))
    put_in_hf_cache(hf_cache, "someone/generator-only", {name: data for name, data in read_files(path).items()
                                                         if not name.startswith("discriminator")}, ref="v1")
    assert same_images(g, zoo.load("hf://someone/generator-only@v1"))
    with pytest.raises(ValueError, match="has no discriminator"):
        zoo.load("hf://someone/generator-only@v1", discriminator=True)


def test_hf_errors_are_one_line(preset, hf_cache):
    path, g, _ = preset
    put_in_hf_cache(hf_cache, "someone/a-bert", {"config.json": json.dumps({"model_type": "bert"}).encode()})
    with pytest.raises(ValueError, match="hf://someone/a-bert is not a keras_stylegan preset"):
        zoo.load("hf://someone/a-bert")
    with pytest.raises(OSError, match="not in the local Hugging Face cache"):
        zoo.load("hf://someone/never-downloaded")
    files = read_files(path)
    del files["model.weights.h5"]
    put_in_hf_cache(hf_cache, "someone/half-cached", files)
    with pytest.raises(OSError, match="model.weights.h5 is not in the local Hugging Face cache"):
        zoo.load("hf://someone/half-cached")
    for uri in ("hf://someone", "hf://a/b/c", "hf://-x/y", "hf://owner/repo@", "kaggle://a/b/keras"):
        with pytest.raises(ValueError, match="malformed"):
            zoo.load(uri)


class FakeHubHandler(http.server.BaseHTTPRequestHandler):
    """A stand-in for huggingface.co: downloads (`/OWNER/REPO/resolve/REVISION/FILE`) and the upload API.

    Uploads follow the calls huggingface_hub makes: `POST /api/repos/create`, `/api/validate-yaml`
    (for a README.md), `/api/models/OWNER/REPO/preupload/REVISION` (answered "regular" for every
    file, so contents come inline in the commit: no LFS, no Xet) and `.../commit/REVISION` (NDJSON:
    a header line, then one line per file with its content in base64). Writes need the test's token.
    """

    repos = {}  # {repo_id: {filename: bytes}}
    commits = []  # [(repo_id, summary, [paths])] in the order they arrived
    requested = []

    def do_HEAD(self):  # noqa: N802 - http.server's naming
        self.answer(body=False)

    def do_GET(self):  # noqa: N802
        self.answer(body=True)

    def answer(self, body):
        parts = self.path.split("/")
        repo_id, filename = "/".join(parts[1:3]), "/".join(parts[5:])
        self.requested.append((self.command, filename if parts[3:4] == ["resolve"] else self.path))
        files = self.repos.get(repo_id)
        data = None if files is None else files.get(filename)
        if data is None:
            self.send_response(404)
            self.send_header("X-Error-Code", "RepoNotFound" if files is None else "EntryNotFound")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("X-Repo-Commit", COMMIT)
        self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_POST(self):  # noqa: N802
        self.requested.append(("POST", self.path))
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Authorization") != "Bearer " + HF_TEST_TOKEN:
            return self.reply(401, {"error": "Invalid credentials in Authorization header"}, "Unauthorized")
        parts = self.path.split("?")[0].split("/")  # ['', 'api', 'models', OWNER, REPO, ACTION, REVISION]
        if self.path == "/api/repos/create":
            request = json.loads(body)
            repo_id = f"{request['organization']}/{request['name']}"
            if repo_id in self.repos:
                return self.reply(409, {"error": "You already created this model repo", "url": repo_id})
            self.repos[repo_id] = {}
            return self.reply(200, {"url": f"http://{self.headers['Host']}/{repo_id}", "name": repo_id})
        if self.path == "/api/validate-yaml":
            return self.reply(200, {"errors": [], "warnings": []})
        if len(parts) == 7 and parts[:3] == ["", "api", "models"] and parts[5] in ("preupload", "commit"):
            repo_id = "/".join(parts[3:5])
            if repo_id not in self.repos:
                return self.reply(404, {"error": "Repository not found"}, "RepoNotFound")
            if parts[6] != "main":
                return self.reply(404, {"error": "Invalid rev id"}, "RevisionNotFound")
            if parts[5] == "preupload":
                files = json.loads(body)["files"]
                return self.reply(200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
                                                   "oid": None} for f in files]})
            lines = [json.loads(line) for line in body.splitlines() if line.strip()]
            assert lines[0]["key"] == "header" and all(line["key"] == "file" for line in lines[1:]), lines
            added = {line["value"]["path"]: base64.b64decode(line["value"]["content"]) for line in lines[1:]}
            self.repos[repo_id].update(added)
            self.commits.append((repo_id, lines[0]["value"]["summary"], sorted(added)))
            return self.reply(200, {"commitUrl": f"http://{self.headers['Host']}/{repo_id}/commit/{COMMIT}",
                                    "commitOid": COMMIT})
        return self.reply(404, {"error": f"the stand-in hub does not know {self.path}"})

    def reply(self, status, payload, error_code=None):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if error_code:
            self.send_header("X-Error-Code", error_code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def hf_server(tmp_path, monkeypatch):
    """A local stand-in for huggingface.co that the client is pointed at (what HF_ENDPOINT does at import)."""
    pytest.importorskip("huggingface_hub")
    from huggingface_hub import constants, hf_api

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeHubHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(hf_api.api, "endpoint", endpoint)  # the client behind huggingface_hub.create_repo & co.
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_TOKEN", HF_TEST_TOKEN)  # the login `hf auth login` would give; never a real one
    monkeypatch.setattr(FakeHubHandler, "repos", {})
    monkeypatch.setattr(FakeHubHandler, "commits", [])
    monkeypatch.setattr(FakeHubHandler, "requested", [])
    yield FakeHubHandler
    server.shutdown()
    server.server_close()


def test_hf_preset_downloads_through_the_client(preset, hf_server):
    path, g, _ = preset
    hf_server.repos["someone/tiny-stylegan"] = read_files(path)
    hf_server.repos["someone/a-bert"] = {"config.json": json.dumps({"model_type": "bert"}).encode(),
                                         "model.safetensors": b"0" * 64}
    hf_server.repos["someone/empty"] = {"README.md": b"# nothing"}
    assert same_images(g, zoo.load("hf://someone/tiny-stylegan"))
    fetched = {name for command, name in hf_server.requested if command == "GET" and not name.startswith("/")}
    assert fetched == {"config.json", "metadata.json", "model.weights.h5"}, hf_server.requested  # no D unless asked
    with pytest.raises(ValueError, match="hf://someone/a-bert is not a keras_stylegan preset"):
        zoo.load("hf://someone/a-bert")
    assert ("GET", "model.safetensors") not in hf_server.requested  # refused before any weights are fetched
    with pytest.raises(ValueError, match="is not a keras_stylegan preset: the repository has no config.json"):
        zoo.load("hf://someone/empty")
    with pytest.raises(ValueError, match="no such Hugging Face repository"):
        zoo.load("hf://someone/missing")


# Kaggle

@pytest.fixture
def kaggle_cache(tmp_path, monkeypatch):
    pytest.importorskip("kagglehub")
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "kaggle-cache"))
    return tmp_path / "kaggle-cache"


def put_in_kaggle_cache(handle, directory):
    """Copies a preset's files where kagglehub caches a download of `handle`, marking each complete as it does."""
    from kagglehub.cache import Cache
    from kagglehub.handle import parse_model_handle

    parsed, cache = parse_model_handle(handle), Cache()
    for name, data in read_files(directory).items():
        target = cache.get_path(parsed, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(data)
        cache.mark_as_complete(parsed, name)


def test_kaggle_preset_loads_from_the_clients_cache(preset, kaggle_cache):
    path, g, d = preset
    put_in_kaggle_cache("someone/tiny-stylegan/keras/tiny/3", path)
    assert same_images(g, Generator.from_preset("kaggle://someone/tiny-stylegan/keras/tiny/3"))
    g2, d2 = zoo.load("kaggle://someone/tiny-stylegan/keras/tiny/3", discriminator=True)
    image = g(np.zeros([2, 8], "float32"), noise_mode="const")
    np.testing.assert_array_equal(np.asarray(d2(image)), np.asarray(d(image)))



class FakeKaggleHandler(http.server.BaseHTTPRequestHandler):
    """A stand-in for Kaggle's API as kagglehub's `model_upload` calls it (`POST /v1/SERVICE/METHOD`, JSON).

    Each file goes up as a blob (`StartBlobUpload` hands out a token and an upload URL, here on
    this server, that takes a `PUT`); `CreateModelInstance` (or, once the variation exists,
    `CreateModelInstanceVersion`) then names the blobs of a new version by their tokens.
    """

    models = set()  # {"owner/model"}
    versions = {}  # {"owner/model/framework/variation": [{filename: bytes} per version]}
    notes = []
    blobs = {}  # {token: (filename, bytes or None until PUT)}

    def do_POST(self):  # noqa: N802 - http.server's naming
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        if self.headers.get("Authorization") != KAGGLE_TEST_AUTH:
            return self.reply(401, {"code": 401, "message": "Unauthenticated"})
        method = self.path.rsplit("/", 1)[-1]
        model = f"{request.get('ownerSlug')}/{request.get('modelSlug', request.get('slug'))}"
        if method == "GetModel":
            return self.reply(200, {"ownerSlug": request["ownerSlug"]}) if model in self.models else self.reply(
                404, {"code": 404, "message": "Model not found"})
        if method == "CreateModel":
            self.models.add(model)
            return self.reply(200, {"ref": model})
        if method == "StartBlobUpload":
            token = f"blob{len(self.blobs)}"
            self.blobs[token] = (request["name"], None)
            return self.reply(200, {"token": token, "createUrl": f"http://{self.headers['Host']}/upload/{token}"})
        if method in ("CreateModelInstance", "CreateModelInstanceVersion"):
            body = request["body"]
            variation = body.get("instanceSlug") or request.get("instanceSlug")
            framework = (body.get("framework") or request.get("framework")).removeprefix("MODEL_FRAMEWORK_").lower()
            handle = f"{model}/{framework}/{variation}"
            if method == "CreateModelInstance" and handle in self.versions:
                return self.reply(200, {"error": "Instance already exists", "errorCode": 409})
            assert not body.get("directories"), body  # a preset is flat
            self.versions.setdefault(handle, []).append(dict(self.blobs[f["token"]] for f in body["files"]))
            self.notes.append(body.get("versionNotes", ""))
            return self.reply(200, {"url": f"/models/{handle}/{len(self.versions[handle])}"})
        return self.reply(404, {"code": 404, "message": f"the stand-in does not know {self.path}"})

    def do_PUT(self):  # noqa: N802
        token = self.path.rsplit("/", 1)[-1]
        self.blobs[token] = (self.blobs[token][0], self.rfile.read(int(self.headers["Content-Length"])))
        self.reply(200, {})

    def reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


KAGGLE_TEST_AUTH = "Basic " + base64.b64encode(b"someone:kaggle-standin-key").decode()


@pytest.fixture
def kaggle_server(kaggle_cache, monkeypatch):
    """A local stand-in for Kaggle's API that kagglesdk is pointed at, with a fake legacy login."""
    from kagglesdk import kaggle_env

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeKaggleHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setitem(kaggle_env._env_to_endpoint, kaggle_env.KaggleEnv.PROD,  # where api.kaggle.com is set
                        f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.delenv("KAGGLE_API_ENVIRONMENT", raising=False)
    monkeypatch.delenv("KAGGLE_API_TOKEN", raising=False)
    monkeypatch.setenv("HOME", str(kaggle_cache.parent))  # no ~/.kaggle/access_token of the machine's user
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(kaggle_cache.parent / "no-kaggle-config"))
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "kaggle-standin-key")
    for name, value in (("models", set()), ("versions", {}), ("notes", []), ("blobs", {})):
        monkeypatch.setattr(FakeKaggleHandler, name, value)
    yield FakeKaggleHandler
    server.shutdown()
    server.server_close()


def test_kaggle_upload_sends_the_preset_files_as_a_new_version(preset, kaggle_server, tmp_path):
    g, local = preset[1], read_files(preset[0])
    path = shutil.copytree(preset[0], tmp_path / "tiny")
    (path / "notes.txt").write_text("not part of the preset")  # uploads carry only the preset's files
    (tmp_path / "downloaded").mkdir()
    uri = "kaggle://someone/tiny-stylegan/keras/tiny"
    assert hub.upload_preset(path, uri, message="first") == uri
    assert kaggle_server.models == {"someone/tiny-stylegan"}
    [version] = kaggle_server.versions["someone/tiny-stylegan/keras/tiny"]
    assert version == local  # every preset file, byte for byte, and nothing else
    hub.upload_preset(path, uri, message="second")  # the variation exists now: a new version
    assert len(kaggle_server.versions["someone/tiny-stylegan/keras/tiny"]) == 2
    assert kaggle_server.notes[1] == "second"  # (kagglehub sends no notes with a variation's first version)
    # What was uploaded, cached as kagglehub caches a download of version 2, loads the same generator.
    for name, data in kaggle_server.versions["someone/tiny-stylegan/keras/tiny"][1].items():
        (tmp_path / "downloaded" / name).write_bytes(data)
    put_in_kaggle_cache("someone/tiny-stylegan/keras/tiny/2", tmp_path / "downloaded")
    assert same_images(g, zoo.load(uri + "/2"))


# The command line and a missing client

def test_cli_samples_from_a_hub_preset(preset, hf_cache, tmp_path):
    path, _, _ = preset
    put_in_hf_cache(hf_cache, "someone/tiny-stylegan", read_files(path))
    out = tmp_path / "grid.png"
    result = CliRunner().invoke(cli, ["sample", "--model", "hf://someone/tiny-stylegan", "--seeds", "0-1",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 0


def test_cli_hub_errors_are_one_line(preset, hf_cache):
    path, _, _ = preset
    put_in_hf_cache(hf_cache, "someone/a-bert", {"config.json": json.dumps({"model_type": "bert"}).encode()})
    runner = CliRunner()
    for args, expected in [
        (["sample", "--model", "hf://someone/a-bert", "--seeds", "0"], "is not a keras_stylegan preset"),
        (["sample", "--model", "hf://someone", "--seeds", "0"], "malformed Hugging Face URI"),
        (["sample", "--model", "kaggle://a/b", "--seeds", "0"], "malformed Kaggle URI"),
        (["zoo", "upload", path, "hf://not a repo"], "malformed Hugging Face URI"),
        (["zoo", "upload", os.path.dirname(path), "hf://someone/x"], "not a keras_stylegan preset"),
    ]:
        result = runner.invoke(cli, args)
        assert result.exit_code == 2, (args, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and expected in lines[0], (args, result.output)


def test_missing_client_is_one_line(preset, monkeypatch):
    for name in ("huggingface_hub", "kagglehub"):
        monkeypatch.setitem(sys.modules, name, None)  # what Python does when the package is absent: ImportError
    with pytest.raises(ImportError, match=r"pip install 'keras-stylegan\[hub\]'"):
        zoo.load("hf://someone/tiny-stylegan")
    result = CliRunner().invoke(cli, ["sample", "--model", "kaggle://a/b/keras/c", "--seeds", "0"])
    assert result.exit_code == 2 and result.output.strip() == (
        "Error: kaggle:// presets need the kagglehub package: pip install 'keras-stylegan[hub]' "
        "(or pip install kagglehub)")


# Upload: huggingface_hub's real upload path against the stand-in hub, then the round trip back

PRESET_FILES = ["config.json", "discriminator.json", "discriminator.weights.h5", "metadata.json", "model.weights.h5"]


def test_hf_upload_commits_the_preset_and_loads_back(preset, hf_server, tmp_path):
    path, g, d = preset
    result = CliRunner().invoke(cli, ["zoo", "upload", path, "hf://someone/tiny-stylegan", "--message", "tiny"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"uploaded {path} to hf://someone/tiny-stylegan: http"), lines
    assert lines[0].endswith(f"/someone/tiny-stylegan/commit/{COMMIT}"), lines
    assert hf_server.commits == [("someone/tiny-stylegan", "tiny", sorted(PRESET_FILES + ["README.md"]))]
    stored = hf_server.repos["someone/tiny-stylegan"]
    local = read_files(path)
    assert sorted(local) == PRESET_FILES
    for name in PRESET_FILES:
        assert stored[name] == local[name], name
    card = stored["README.md"].replace(b"'", b'"')
    assert b"library_name: keras" in card and b'Generator.from_preset("hf://someone/tiny-stylegan")' in card

    # The round trip: what was committed downloads through the same client and gives the same networks.
    g2, d2 = zoo.load("hf://someone/tiny-stylegan", discriminator=True)
    assert same_images(g, g2)
    image = g(np.zeros([2, 8], "float32"), noise_mode="const")
    np.testing.assert_array_equal(np.asarray(d2(image)), np.asarray(d(image)))
    grids = {}
    for model in (path, "hf://someone/tiny-stylegan"):
        out = tmp_path / f"grid{len(grids)}.png"
        result = CliRunner().invoke(cli, ["sample", "--model", model, "--seeds", "0-1", "--out", str(out)])
        assert result.exit_code == 0, result.output
        grids[model] = out.read_bytes()
    assert grids[path] == grids["hf://someone/tiny-stylegan"]

    # Again into the existing repository (the hub answers 409, which exist_ok accepts): the card
    # the repository now has is kept, and the default message is used.
    hub.upload_preset(path, "hf://someone/tiny-stylegan")
    assert hf_server.commits[1] == ("someone/tiny-stylegan", "Upload keras-stylegan preset", PRESET_FILES)
    assert hf_server.repos["someone/tiny-stylegan"]["README.md"] == stored["README.md"]


def test_hf_upload_without_login_is_one_line(preset, hf_server, tmp_path, monkeypatch):
    from huggingface_hub import constants
    path, _, _ = preset
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))  # no saved login either
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "no-tokens"))
    result = CliRunner().invoke(cli, ["zoo", "upload", path, "hf://someone/tiny-stylegan"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: cannot upload {path} to hf://someone/tiny-stylegan: "), (
        result.output)
    assert hf_server.repos == {} and hf_server.commits == []


def test_upload_refuses_the_earlier_layout(tmp_path):
    os.makedirs(tmp_path / "old")
    json.dump({"generator": {"resolution": 16}}, open(tmp_path / "old" / "config.json", "w"))
    with pytest.raises(ValueError, match="earlier layout"):
        hub.upload_preset(tmp_path / "old", "hf://someone/x")


def test_local_presets_need_no_hub_client(preset, monkeypatch):
    """The clients stay optional: without them, local presets and cards load as before."""
    path, g, _ = preset
    for name in ("huggingface_hub", "kagglehub"):
        monkeypatch.setitem(sys.modules, name, None)
    assert same_images(g, Generator.from_preset(path))
    assert zoo.load("emoji").resolution == (32, 32)
