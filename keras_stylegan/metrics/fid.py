"""Fréchet Inception Distance (Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule"), NumPy only.

FID fits a Gaussian to each set's features and measures
`|mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))`. The feature extractor decides what the
number means: with `keras_stylegan.metrics.features.InceptionFeatures` (Keras' ImageNet
InceptionV3) values are NOT comparable with NVIDIA's or TTUR's tables, which use the 2015
TensorFlow Inception graph (see `features.py`).
"""
import numpy as np


def check_features(features, name):
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"`{name}` must be [N, D] with N >= 2. Received shape: {features.shape}")
    return features


def feature_statistics(features):
    """Mean `[D]` and covariance `[D, D]` (unbiased, as TTUR's `np.cov`) of features `[N, D]`.

    Example:
    >>> mean, cov = feature_statistics(np.eye(3))
    >>> mean.shape, cov.shape
    ((3,), (3, 3))
    """
    features = check_features(features, "features")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mean_a, cov_a, mean_b, cov_b):
    """Fréchet distance between the Gaussians `N(mean_a, cov_a)` and `N(mean_b, cov_b)`.

    `Tr((S_a S_b)^(1/2))` is the sum of the square roots of the eigenvalues of the symmetric
    matrix `S_a^(1/2) S_b S_a^(1/2)` (similar to `S_a S_b`), so no complex `sqrtm` is needed.

    Args:
        mean_a, mean_b: `[D]` means.
        cov_a, cov_b: `[D, D]` positive semi-definite covariances.

    Returns:
        A float >= 0.

    Example:
    >>> round(frechet_distance(np.zeros(2), np.eye(2), np.ones(2), 4 * np.eye(2)), 6)  # 2 + 2 * (2 - 1)^2
    4.0
    """
    mean_a, mean_b = np.asarray(mean_a, np.float64), np.asarray(mean_b, np.float64)
    cov_a, cov_b = np.asarray(cov_a, np.float64), np.asarray(cov_b, np.float64)
    if cov_a.shape != (len(mean_a),) * 2 or cov_b.shape != cov_a.shape or mean_b.shape != mean_a.shape:
        raise ValueError(f"means must be [D] and covariances [D, D] for one D. Received: {mean_a.shape}, "
                         f"{cov_a.shape}, {mean_b.shape}, {cov_b.shape}")
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    product = root_a @ cov_b @ root_a
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((product + product.T) / 2), 0, None)).sum()
    distance = np.sum(np.square(mean_a - mean_b)) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root
    return max(float(distance), 0.0)  # rounding can leave a set against itself at -1e-12


def frechet_inception_distance(features_a, features_b):
    """FID between two feature sets `[N, D]` (lower is better; a set against itself gives 0).

    Args:
        features_a, features_b: `[N_a, D]` and `[N_b, D]` features (e.g. Inception pool_3, D = 2048).

    Example:
    >>> features = np.random.default_rng(0).standard_normal([100, 4])
    >>> frechet_inception_distance(features, features) < 1e-9
    True
    """
    features_a, features_b = check_features(features_a, "features_a"), check_features(features_b, "features_b")
    if features_a.shape[1] != features_b.shape[1]:
        raise ValueError(f"feature widths differ. Received: {features_a.shape[1]} and {features_b.shape[1]}")
    return frechet_distance(*feature_statistics(features_a), *feature_statistics(features_b))
