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
