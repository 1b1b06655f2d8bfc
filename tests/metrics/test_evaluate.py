"""`compute_metrics` with a tiny feature extractor, and `kstylegan metrics` end to end (random-weight networks)."""
import keras
import numpy as np
import pytest
from click.testing import CliRunner

from keras_stylegan.cli.main import cli
from keras_stylegan.metrics import (InceptionFeatures, compute_metrics, frechet_inception_distance,
                                    sliced_wasserstein_distance)
from keras_stylegan.metrics.evaluate import _generated_batches, _generated_labels
from keras_stylegan.zoo.presets import save_preset
from test_sampling import make_generator


class TinyFeatures:
    """Channel means and standard deviations of 4x4 cells: 2 * 16 * C features; counts what it saw."""

    def __init__(self):
        self.seen = 0

    def __call__(self, images):
        self.seen += len(images)
        n, h, w, c = images.shape
        cells = images.reshape(n, 4, h // 4, 4, w // 4, c).astype(np.float64)
        return np.concatenate([cells.mean(axis=(2, 4)).reshape(n, -1), cells.std(axis=(2, 4)).reshape(n, -1)], 1)


@pytest.fixture(scope="module")
def g():
    return make_generator(resolution=16, channels=3)


def real_images(n=24):
    return np.random.default_rng(0).integers(0, 256, [n, 16, 16, 3]).astype(np.uint8)


def test_compute_metrics_with_a_tiny_extractor(g):
    features = TinyFeatures()
    results = compute_metrics(g, real_images(), "fid50k,kid50k,pr50k3,swd", num_images=20, feature_extractor=features,
                              batch_size=8, seed=3)
    assert list(results) == ["fid50k", "kid50k", "pr50k3_precision", "pr50k3_recall", "swd_16", "swd_avg"]
    assert features.seen == 20 + 24  # one pass over the generated and the real images
    generated = np.concatenate(list(_generated_batches(g, 20, 8, 3, False)))
    assert generated.shape == (20, 16, 16, 3) and generated.dtype == np.uint8
    reference = TinyFeatures()
    assert results["fid50k"] == pytest.approx(frechet_inception_distance(reference(real_images()),
                                                                         reference(generated)))
    assert results["swd_avg"] == pytest.approx(sliced_wasserstein_distance(real_images(), generated, seed=3)["swd_avg"])
    assert 0 <= results["pr50k3_precision"] <= 1 and 0 <= results["pr50k3_recall"] <= 1
    assert compute_metrics(g, real_images(), ["fid50k"], num_images=20, feature_extractor=TinyFeatures(),
                           batch_size=8, seed=3) == {"fid50k": results["fid50k"]}
    with pytest.raises(ValueError, match="`metrics` must name some of"):
        compute_metrics(g, real_images(), "fid", feature_extractor=features)
    with pytest.raises(ValueError, match="fid50k need real images"):
        compute_metrics(g, None, "fid50k", feature_extractor=features)
    with pytest.raises(ValueError, match=r"real images must be \(16, 16, 3\)"):
        compute_metrics(g, real_images()[..., :1], "swd", num_images=4)


def test_conditional_metrics_draw_classes_as_frequent_as_in_the_data():
    rng = np.random.default_rng(0)
    drawn = _generated_labels(rng, 2000, 3, real_labels=np.array([2] * 90 + [0] * 10))
    assert set(drawn) == {0, 2} and 0.87 < np.mean(drawn == 2) < 0.93
    assert set(_generated_labels(rng, 2000, 3)) == {0, 1, 2}
    assert _generated_labels(rng, 5, 0) is None
    cg = make_generator(resolution=16, channels=3, num_classes=3)
    swd = [compute_metrics(cg, real_images(), "swd", num_images=16, batch_size=8, seed=3,
                           real_labels=np.full(24, c))["swd_avg"] for c in (1, 2, 2)]
    assert swd[1] == swd[2] and swd[0] != swd[1]
    with pytest.raises(ValueError, match="`real_labels` must be one class id in"):
        compute_metrics(cg, real_images(), "swd", num_images=16, real_labels=np.full(24, 3))
    with pytest.raises(ValueError, match="`real_labels` must be one class id in"):
        compute_metrics(cg, real_images(), "swd", num_images=16, real_labels=np.full(23, 1))


def test_inception_features_handle_channels():
    extract = InceptionFeatures(weights=None, batch_size=2)
    gray = np.random.default_rng(0).integers(0, 256, [3, 20, 20, 1]).astype(np.uint8)
    features = extract(gray)
    assert features.shape == (3, 2048) and features.dtype == np.float64
    np.testing.assert_allclose(extract(np.repeat(gray, 3, axis=-1)), features, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="uint8"):
        extract(gray.astype(np.float32))
    with pytest.raises(FileNotFoundError, match="no such file"):
        InceptionFeatures(weights="missing.h5")


def test_metrics_cli(g, tmp_path):
    preset = save_preset(tmp_path / "tiny", g)
    data = tmp_path / "real.npy"
    np.save(data, real_images(8))
    vgg = tmp_path / "vgg.weights.h5"
    keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3)).save_weights(vgg)
    result = CliRunner().invoke(cli, ["metrics", "--metrics", "swd,ppl_wend", "--model", str(preset), "--data",
                                      str(data), "--num", "8", "--batch", "4", "--vgg-weights", str(vgg)])
    assert result.exit_code == 0, result.output
    lines = dict(line.split() for line in result.stdout.strip().splitlines())
    assert list(lines) == ["swd_16", "swd_avg", "ppl_wend"]
    assert all(np.isfinite(float(value)) and float(value) >= 0 for value in lines.values())
    for args, message in [(["--metrics", "fid50k"], "Error: --data is required"),
                          (["--metrics", "is50k", "--data", str(data)], "Error: `metrics` must name some of"),
                          (["--metrics", "swd", "--data", str(data), "--num", "0"],
                           "Error: Invalid value for '--num': 0 is not in the range 1<=x<=1000000"),
                          (["--metrics", "kid50k", "--data", str(data), "--num", "4", "--inception-weights",
                            str(tmp_path / "none.h5")], "Error: `weights` must be 'imagenet'")]:
        bad = CliRunner().invoke(cli, ["metrics", "--model", str(preset)] + args)
        assert bad.exit_code == 2 and bad.output.startswith(message), bad.output
