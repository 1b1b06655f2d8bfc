"""Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs"), NumPy only.

KID is the unbiased estimate of the squared MMD with the cubic polynomial kernel
`k(x, y) = (x . y / D + 1)^3`, averaged over random subsets (NVIDIA: 100 subsets of at most
1000). Unlike FID it has no bias from the sample size. Numbers depend on the features: with
Keras' InceptionV3 they are NOT comparable with NVIDIA's tables.
"""
import numpy as np

from keras_stylegan.metrics.fid import check_features


def polynomial_kernel(x, y):
    """`(x . y / D + 1)^3`, `[N, D] x [M, D] -> [N, M]`."""
    return (x @ y.T / x.shape[1] + 1) ** 3


def kernel_inception_distance(features_a, features_b, num_subsets=100, max_subset_size=1000, seed=0):
    """KID between two feature sets (the mean unbiased MMD^2 over subsets; lower is better).

    For subsets `x`, `y` of size `m` each:
    `sum_{i != j} k(x_i, x_j) / (m (m - 1)) + sum_{i != j} k(y_i, y_j) / (m (m - 1)) - 2 sum_{i, j} k(x_i, y_j) / m^2`.

    Args:
        features_a, features_b: `[N_a, D]`, `[N_b, D]` features.
        num_subsets: subsets averaged.
        max_subset_size: subset size cap; `m = min(N_a, N_b, max_subset_size)`, drawn without replacement.
        seed: seed of the subset draws.

    Returns:
        A float (can be slightly negative: the estimator is unbiased).

    Example:
    >>> rng = np.random.default_rng(0)
    >>> kid = kernel_inception_distance(rng.standard_normal([50, 8]), rng.standard_normal([50, 8]) + 1)
    >>> kid > 0
    True
    """
    features_a, features_b = check_features(features_a, "features_a"), check_features(features_b, "features_b")
    if features_a.shape[1] != features_b.shape[1]:
        raise ValueError(f"feature widths differ. Received: {features_a.shape[1]} and {features_b.shape[1]}")
    if isinstance(num_subsets, bool) or not isinstance(num_subsets, (int, np.integer)) or num_subsets < 1:
        raise ValueError(f"`num_subsets` must be an int >= 1. Received: {num_subsets!r}")
    size = min(len(features_a), len(features_b), int(max_subset_size))
    if size < 2:
        raise ValueError(f"`max_subset_size` must be >= 2. Received: {max_subset_size!r}")
    rng = np.random.default_rng(seed)
    total = 0.0
    for _ in range(num_subsets):
        x = features_a[rng.choice(len(features_a), size, replace=False)]
        y = features_b[rng.choice(len(features_b), size, replace=False)]
        within = polynomial_kernel(x, x), polynomial_kernel(y, y)
        off_diagonal = sum(k.sum() - np.trace(k) for k in within) / (size * (size - 1))
        total += off_diagonal - 2 * polynomial_kernel(x, y).sum() / size**2
    return float(total / num_subsets)
