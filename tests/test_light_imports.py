"""The CLI checks its input before TensorFlow loads (TF logs to stderr on load, breaking one-line errors)."""
import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["keras_stylegan", "keras_stylegan.cli.main", "keras_stylegan.sampling",
                                    "keras_stylegan.editing", "keras_stylegan.metrics", "keras_stylegan.zoo"])
def test_importing_does_not_load_tensorflow(module):
    code = f"import sys, {module}; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"], f"{module} loads TensorFlow/Keras on import"



@pytest.mark.parametrize("package", ["keras_stylegan.editing", "keras_stylegan.training"])
def test_no_lazy_name_is_also_a_submodule(package):
    """Loading a submodule sets it as an attribute of its package, so a lazy name equal to a
    submodule's name turns into that module once a sibling name loads it (`edit` did, after
    `parse_strengths`: `kstylegan edit` then failed with "'module' object is not callable")."""
    import importlib
    import pkgutil

    module = importlib.import_module(package)
    submodules = {info.name for info in pkgutil.iter_modules(module.__path__)}
    assert not set(module._LAZY) & submodules


def test_edit_is_the_function_after_its_siblings_load():
    code = ("from keras_stylegan.editing import parse_strengths\n"
            "from keras_stylegan.editing import edit\n"
            "print(callable(edit))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True"]
