"""Keeps TensorFlow's start-up lines off the terminal for the CLI (`kstylegan --verbose` shows them).

TensorFlow's C++ core writes several lines to file descriptor 2 while it loads and probes for CUDA
(`cudart_stub`, `cuInit`, `cpu_feature_guard`), before absl logging starts, so
`TF_CPP_MIN_LOG_LEVEL` cannot hide them. The CLI therefore loads TensorFlow with descriptor 2
pointed at a temporary file: the text is dropped when loading succeeds and replayed when it fails.
The hook wraps the loader of the `tensorflow` module, so TensorFlow still loads only when a
command first needs it (input is checked before that).
"""
import contextlib
import importlib.abc
import importlib.util
import os
import sys
import tempfile


@contextlib.contextmanager
def _descriptor_2_captured():
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield captured
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


class _QuietTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tensorflow":
            return None
        sys.meta_path.remove(self)  # one shot
        spec = importlib.util.find_spec("tensorflow")
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        execute = spec.loader.exec_module

        def exec_module(module):
            with _descriptor_2_captured() as captured:
                try:
                    execute(module)
                    module.config.list_physical_devices()  # the CUDA probe logs here, not at import
                except BaseException as error:
                    captured.seek(0)
                    replay, failure = captured.read(), error
                else:
                    failure = None
            if failure is not None:
                os.write(2, replay)
                raise failure

        spec.loader.exec_module = exec_module
        return spec


def install():
    """Quiets the next load of TensorFlow in this process (no-op if it is loaded already)."""
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietTensorFlow) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlow())


def uninstall():
    """Lets TensorFlow's start-up lines through (`kstylegan --verbose`)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _QuietTensorFlow)]
