"""`.keras` files of our models load in a new process after a bare `import keras_stylegan`.

Keras finds custom classes only in its registry; saving and loading in one process always finds
them, so every check here saves in one process and loads in another.
"""
import os
import subprocess
import sys
import textwrap

import pytest

SAVE = textwrap.dedent("""
    import sys
    import numpy as np
    import keras_stylegan
    g = keras_stylegan.Generator(resolution=8, z_dim=8, w_dim=8, channel_base=32, channel_max=8, mapping_layers=1)
    d = keras_stylegan.Discriminator(resolution=8, channel_base=32, channel_max=8, mbstd_group_size=2)
    z = np.random.RandomState(0).randn(2, 8).astype("float32")
    np.save(sys.argv[1] + "/images.npy", np.asarray(g(z, noise_mode="const")))
    g.save(sys.argv[1] + "/g.keras")
    d.save(sys.argv[1] + "/d.keras")
    gan = keras_stylegan.StyleGAN(g, d)
    gan.compile()
    gan.fit(np.zeros([4, 8, 8, 3], "float32"), batch_size=2, epochs=1, verbose=0)
    gan.save(sys.argv[1] + "/gan.keras")
""")


def _run(code, *args, env=None):
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, **(env or {})))
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("keras_files"))
    _run(SAVE, directory)
    return directory


def test_keras_load_model_in_a_fresh_process(saved):
    load = textwrap.dedent("""
        import sys
        import numpy as np
        import keras_stylegan  # the only import of ours: it must be enough
        import keras
        g = keras.saving.load_model(sys.argv[1] + "/g.keras")
        d = keras.saving.load_model(sys.argv[1] + "/d.keras")
        gan = keras.saving.load_model(sys.argv[1] + "/gan.keras")
        z = np.random.RandomState(0).randn(2, 8).astype("float32")
        error = np.abs(np.asarray(g(z, noise_mode="const")) - np.load(sys.argv[1] + "/images.npy")).max()
        through_zoo = keras_stylegan.zoo.load(sys.argv[1] + "/g.keras")
        print(type(g).__name__, type(d).__name__, type(gan).__name__, int(gan.nimg.numpy()), error,
              type(through_zoo).__name__)
    """)
    names = _run(load, saved).stdout.split()
    assert names[:4] == ["Generator", "Discriminator", "StyleGAN", "4"]
    assert float(names[4]) < 1e-6
    assert names[5] == "Generator"


def test_keras_imported_before_keras_stylegan(saved):
    load = "import sys, keras, keras_stylegan; print(type(keras.saving.load_model(sys.argv[1] + '/g.keras')).__name__)"
    assert _run(load, saved).stdout.split() == ["Generator"]


def test_cli_reads_a_keras_file_without_tensorflow_start_up_lines(saved):
    out = os.path.join(saved, "grid.png")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-m", "keras_stylegan.cli.main", "sample", "--model",
                           os.path.join(saved, "g.keras"), "--n", "2", "--out", out],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert os.path.getsize(out) > 0
    noise = [line for line in done.stderr.splitlines()
             if "absl" in line or "cuda" in line.lower() or line[:1] in "IWEF" and line[1:5].isdigit()]
    assert noise == []
