"""FID, KID and precision/recall against NumPy/SciPy references on small inputs."""
import numpy as np
import pytest
import scipy.linalg
import scipy.spatial.distance

from keras_stylegan.metrics import (feature_statistics, frechet_distance, frechet_inception_distance,
                                    kernel_inception_distance, precision_recall)


def random_covariance(rng, dims):
    a = rng.standard_normal([dims, dims])
    return a @ a.T / dims + 0.1 * np.eye(dims)


def scipy_frechet(mean_a, cov_a, mean_b, cov_b):
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2 * root)


def test_fid_closed_forms_and_scipy_reference():
    rng = np.random.default_rng(0)
    features = rng.standard_normal([200, 6]) @ rng.standard_normal([6, 6])
    assert frechet_inception_distance(features, features) == pytest.approx(0, abs=1e-9)
    # Diagonal covariances: |mu_a - mu_b|^2 + sum (sigma_a - sigma_b)^2.
    var_a, var_b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 0.25])
    mean_a, mean_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, -1.0])
    expected = 1 + 9 + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)
    assert frechet_distance(mean_a, np.diag(var_a), mean_b, np.diag(var_b)) == pytest.approx(expected, rel=1e-12)
    # General covariances: SciPy's sqrtm formula.
    cov_a, cov_b = random_covariance(rng, 5), random_covariance(rng, 5)
    mean_a, mean_b = rng.standard_normal(5), rng.standard_normal(5)
    assert frechet_distance(mean_a, cov_a, mean_b, cov_b) == pytest.approx(
        scipy_frechet(mean_a, cov_a, mean_b, cov_b), rel=1e-9)
    # Samples of two Gaussians approach their closed form.
    samples_a = rng.multivariate_normal(mean_a, cov_a, 40000)
    samples_b = rng.multivariate_normal(mean_b, cov_b, 40000)
    assert frechet_inception_distance(samples_a, samples_b) == pytest.approx(
        scipy_frechet(mean_a, cov_a, mean_b, cov_b), rel=0.02)
    mean, cov = feature_statistics(samples_a[:50])
    np.testing.assert_allclose(cov, np.cov(samples_a[:50].T))
    with pytest.raises(ValueError, match="feature widths differ"):
        frechet_inception_distance(features, features[:, :3])
    with pytest.raises(ValueError, match=r"must be \[N, D\] with N >= 2"):
        frechet_inception_distance(features[0], features)


def hand_kid(x, y):
    """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3, written out with loops."""
    m, d = len(x), x.shape[1]

    def k(a, b):
        return (np.dot(a, b) / d + 1) ** 3

    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m**2
    return xx + yy - 2 * xy


def test_kid_unbiased_estimator_by_hand():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal([12, 5]), rng.standard_normal([12, 5]) + 0.5
    # One subset holding every sample: the estimate of the whole sets (it is order-independent).
    assert kernel_inception_distance(x, y, num_subsets=1) == pytest.approx(hand_kid(x, y), rel=1e-10)
    # Subsets of 6: the mean over subsets, each drawn without replacement.
    value = kernel_inception_distance(x, y, num_subsets=3, max_subset_size=6, seed=5)
    draws = np.random.default_rng(5)
    subsets = [(draws.choice(12, 6, replace=False), draws.choice(12, 6, replace=False)) for _ in range(3)]
    assert value == pytest.approx(np.mean([hand_kid(x[i], y[j]) for i, j in subsets]), rel=1e-10)
    # Unbiased: the same distribution gives about 0 on average, far less than a shifted one.
    same = np.mean([kernel_inception_distance(rng.standard_normal([40, 5]), rng.standard_normal([40, 5]),
                                              num_subsets=1) for _ in range(30)])
    assert abs(same) < 0.1 * hand_kid(x, y)
    with pytest.raises(ValueError, match="num_subsets"):
        kernel_inception_distance(x, y, num_subsets=0)


def reference_precision_recall(real, fake, k):
    def radii(points):
        return np.sort(scipy.spatial.distance.cdist(points, points), axis=1)[:, k]

    def coverage(manifold, probes):
        return np.mean(np.any(scipy.spatial.distance.cdist(probes, manifold) <= radii(manifold)[None], axis=1))

    return coverage(real, fake), coverage(fake, real)


def test_precision_recall_planted_case():
    rng = np.random.default_rng(2)
    real = np.concatenate([rng.uniform(0, 1, [20, 2]), rng.uniform(0, 1, [20, 2]) + 50])  # two modes
    far = rng.uniform(0, 1, [20, 2]) + 100  # a mode the real data does not have
    fake = np.concatenate([real[:20] + 1e-9, far])  # copies of the first real mode, none of the second
    result = precision_recall(real, fake, k=3, batch_size=7)  # small blocks: exercise the batching
    assert result == {"precision": 0.5, "recall": 0.5}
    assert reference_precision_recall(real, fake, 3) == (0.5, 0.5)
    jittered = real * rng.uniform(0.5, 1.5, real.shape)  # a partial overlap, checked against SciPy
    partial = precision_recall(real, jittered, k=3)
    assert (partial["precision"], partial["recall"]) == pytest.approx(reference_precision_recall(real, jittered, 3))
    assert 0 < partial["precision"] < 1
    assert precision_recall(real, real) == {"precision": 1.0, "recall": 1.0}
    shifted = precision_recall(real, real + 10)
    assert shifted == {"precision": 0.0, "recall": 0.0}
    with pytest.raises(ValueError, match=r"`k` must be an int in \[1, 40\)"):
        precision_recall(real, real, k=40)
