"""Training is TensorFlow-only: starting it on another Keras backend is one clear line."""
import pytest

from keras_stylegan.training.backend_check import TrainingBackendError, check_training_backend


def test_tensorflow_backend_passes():
    assert check_training_backend("tensorflow") == "tensorflow"


@pytest.mark.parametrize("backend", ["jax", "torch", "numpy", "openvino"])
def test_other_backends_fail_in_one_line_naming_the_backend(backend, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", backend)
    with pytest.raises(TrainingBackendError) as error:
        check_training_backend(backend)
    message = str(error.value)
    assert "\n" not in message
    assert f"Keras is running on {backend!r} (KERAS_BACKEND={backend})" in message
    assert "KERAS_BACKEND=tensorflow" in message
    assert isinstance(error.value, ValueError)  # the CLI turns ValueErrors into `Error: ...`, exit 2


def test_backend_set_in_keras_json_is_named(monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    with pytest.raises(TrainingBackendError, match=r"running on 'jax' \(set in ~/.keras/keras.json\)"):
        check_training_backend("jax")


def test_reads_the_backend_keras_runs_on(monkeypatch):
    import keras

    assert check_training_backend() == keras.backend.backend() == "tensorflow"  # the suite runs on TensorFlow
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    with pytest.raises(TrainingBackendError, match="Keras is running on 'jax'"):
        check_training_backend()


def test_train_command_on_another_backend_is_one_line_exit_2(tmp_path):
    """Wired into the CLI (and `train`/`StyleGAN`), checked before Keras loads: works even without jax."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, KERAS_BACKEND="jax")
    done = subprocess.run([sys.executable, "-m", "keras_stylegan.cli.main", "train", "--data", str(tmp_path),
                           "--outdir", str(tmp_path / "run")], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: training runs on the TensorFlow backend only"), lines
    assert not (tmp_path / "run").exists()
