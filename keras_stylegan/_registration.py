"""Registers the package's Keras classes as soon as Keras is loaded, so `.keras` files load anywhere.

`keras.saving.load_model` finds custom classes only in Keras' registry, which our modules fill when
they are imported. A fresh process that only did `import keras_stylegan` (which stays light: no
Keras, no TensorFlow) would not have them. `install()` therefore registers at once when Keras is
already loaded, and otherwise arranges to do so right after Keras finishes loading, by wrapping the
loader of the `keras` module (a post-import hook): nothing heavy is imported before the user does.
When Keras is first loaded by one of our own modules, registration waits until that import is
done (`keras_stylegan.__getattr__` and `zoo.load` call `register_all` again).
"""
import importlib
import importlib.abc
import importlib.util
import os
import sys

# Modules whose import registers Keras-serializable classes. Training and the encoder need
# TensorFlow, so they are registered only on that backend (their models cannot load elsewhere).
_MODULES = ("keras_stylegan.layers", "keras_stylegan.networks")
_TENSORFLOW_MODULES = ("keras_stylegan.training.stylegan", "keras_stylegan.editing.encoder")


def _backend():
    import keras

    return keras.backend.backend()


def _importing_ourselves():
    """True while one of our own modules is half-way through its import (it is what loaded Keras)."""
    return any(getattr(getattr(module, "__spec__", None), "_initializing", False)
               for name, module in list(sys.modules.items()) if name.startswith("keras_stylegan."))


def register_all():
    """Imports every module that registers serializable classes (idempotent).

    Does nothing while one of our modules is still importing (importing the others then would be
    circular); the package's lazy attribute access calls it again once that import has finished.
    """
    if "keras" not in sys.modules or _importing_ourselves():
        return
    modules = _MODULES + (_TENSORFLOW_MODULES if _backend() == "tensorflow" else ())
    for name in modules:
        importlib.import_module(name)


class _AfterKerasLoads(importlib.abc.MetaPathFinder):
    """Finds `keras` with the other finders, then runs `register_all` once its module has executed."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras":
            return None
        sys.meta_path.remove(self)  # one shot; also keeps the lookup below from finding us again
        spec = importlib.util.find_spec("keras")
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            if os.environ.get("KERAS_STYLEGAN_NO_AUTOREGISTER") != "1":
                register_all()

        spec.loader.exec_module = exec_module
        return spec


def install():
    if "keras" in sys.modules and hasattr(sys.modules["keras"], "saving"):
        register_all()
    elif not any(isinstance(finder, _AfterKerasLoads) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AfterKerasLoads())
