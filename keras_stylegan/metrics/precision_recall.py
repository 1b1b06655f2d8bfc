"""Improved precision and recall (Kynkäänniemi et al. 2019), NumPy only.

Each set's manifold is the union of balls around its samples, each ball reaching the sample's
k-th nearest neighbour in its own set (k = 3: NVIDIA's `pr50k3`). Precision is the share of
generated samples inside the real manifold (quality); recall the share of real samples inside
the generated manifold (coverage). The paper and NVIDIA use VGG16 fc2 features; any
features work here, and numbers from other features are not comparable with theirs.
"""
import numpy as np

from keras_stylegan.metrics.fid import check_features


def _distances(a, b):
    """Euclidean distances `[len(a), len(b)]` (float64)."""
    squared = np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.clip(squared, 0, None))


def _radii(features, k, batch_size):
    """Distance of every sample to its k-th nearest neighbour in the set (itself excluded)."""
    radii = [np.partition(_distances(features[i: i + batch_size], features), k, axis=1)[:, k]
             for i in range(0, len(features), batch_size)]
    return np.concatenate(radii)  # index 0 of the partition is the sample itself (distance 0)


def _coverage(manifold, radii, probes, batch_size):
    """Share of `probes` within `radii[j]` of some `manifold[j]`."""
    inside = [np.any(_distances(probes[i: i + batch_size], manifold) <= radii[None, :], axis=1)
              for i in range(0, len(probes), batch_size)]
    return float(np.mean(np.concatenate(inside)))


def precision_recall(real_features, generated_features, k=3, batch_size=1024):
    """Precision and recall of generated samples against real ones, on k-NN manifolds.

    Args:
        real_features: `[N_r, D]`.
        generated_features: `[N_g, D]`.
        k: neighbourhood size (NVIDIA's `pr50k3`: 3).
        batch_size: rows per distance block (memory: `batch_size * max(N_r, N_g)` floats).

    Returns:
        `{"precision": float, "recall": float}`, each in [0, 1].

    Example:
    >>> points = np.random.default_rng(0).standard_normal([20, 2])
    >>> precision_recall(points, points)
    {'precision': 1.0, 'recall': 1.0}
    """
    real = check_features(real_features, "real_features")
    generated = check_features(generated_features, "generated_features")
    if real.shape[1] != generated.shape[1]:
        raise ValueError(f"feature widths differ. Received: {real.shape[1]} and {generated.shape[1]}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k < min(len(real), len(generated)):
        raise ValueError(f"`k` must be an int in [1, {min(len(real), len(generated))}) for these sets. Received: {k!r}")
    batch_size = max(1, int(batch_size))
    return {"precision": _coverage(real, _radii(real, k, batch_size), generated, batch_size),
            "recall": _coverage(generated, _radii(generated, k, batch_size), real, batch_size)}
