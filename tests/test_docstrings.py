"""Every docstring example of the library and the CLI runs and prints what it says.

Examples share one namespace (NumPy as `np`, `keras_stylegan`, the public classes and a tiny
`generator`) on top of their own module's names, and run in an empty working directory, so an
example may write files under relative paths. Only examples that need the network (NVIDIA's
servers), a user's own files or an optional package carry `# doctest: +SKIP`; the last test keeps
that list from growing unnoticed.
"""
import doctest
import importlib
import pkgutil
import re

import pytest

import keras_stylegan
import keras_stylegan.cli


def _modules():
    names = []
    for package in (keras_stylegan, keras_stylegan.cli):
        names.append(package.__name__)
        names += [info.name for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
    return sorted(set(names))


MODULES = _modules()
# Examples that cannot run here, and why (the count is checked below).
SKIPPED_EXAMPLES_AT_MOST = 23  # downloads and NVIDIA's pickles (no network), user files, onnxruntime, long runs


def _namespace():
    import numpy as np

    from keras_stylegan import Discriminator, Generator

    return dict(np=np, keras_stylegan=keras_stylegan, Generator=Generator, Discriminator=Discriminator,
                generator=Generator(resolution=16, z_dim=16, w_dim=16, channel_base=64, channel_max=16,
                                    mapping_layers=2))


@pytest.fixture(scope="module")
def namespace():
    return _namespace()


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples_run(module_name, namespace, tmp_path, monkeypatch):
    module = importlib.import_module(module_name)
    tests = [t for t in doctest.DocTestFinder().find(module, module=module) if t.examples]
    monkeypatch.chdir(tmp_path)
    report = []
    for test in tests:
        test.globs = {**vars(module), **namespace}
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        runner.run(test, out=report.append)
        assert runner.failures == 0, f"{test.name}:\n" + "".join(report)


def test_skipped_examples_are_few():
    skipped = 0
    for name in MODULES:
        for test in doctest.DocTestFinder().find(importlib.import_module(name)):
            skipped += sum(bool(example.options.get(doctest.SKIP)) for example in test.examples)
    assert skipped <= SKIPPED_EXAMPLES_AT_MOST, f"{skipped} examples skip: make new ones run"


def test_every_module_is_collected():
    assert "keras_stylegan.training.stylegan" in MODULES and "keras_stylegan.cli.main" in MODULES
    assert not [name for name in MODULES if re.search(r"\btests?\b", name)]


def test_api_reference_builds(tmp_path):
    """The API reference is generated from these docstrings by `pdoc keras_stylegan -o docs/api`."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-m", "pdoc", "keras_stylegan", "-o", str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    pages = {path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*.html")}
    for page in ("keras_stylegan.html", "keras_stylegan/networks.html", "keras_stylegan/training.html",
                 "keras_stylegan/zoo.html", "keras_stylegan/sampling.html"):
        assert page in pages, sorted(pages)
    for page, names in {"keras_stylegan/networks.html": ["Generator", "Discriminator"],
                        "keras_stylegan/training.html": ["StyleGAN", "train"]}.items():
        text = (tmp_path / page).read_text()
        assert all(f'id="{name}"' in text for name in names), page
