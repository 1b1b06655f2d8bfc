"""k-means clusters of a dataset's thumbnails, for self-conditioned training.

A self-conditioned GAN (Liu et al. 2020, "Diverse Image Generation via Self-Conditioned GANs")
conditions G and D on clusters of the unlabeled data: D judges each fake against its cluster, so G
cannot drop whole kinds of images for one shape that fools D. `kstylegan train --clusters K` labels
the data this way (equal-sized clusters, so a sample's cluster `seed % K` follows the data's mix).
NumPy and Pillow only.
"""
import numpy as np
from PIL import Image

THUMBNAIL_SIDE = 8
BALANCED_ITERATIONS = 20  # each balanced step sorts every point-centre pair: a few are enough


def thumbnails(images, side=THUMBNAIL_SIDE):
    """`[N, side*side*C]` float32 thumbnails in [0, 1] of uint8 images `[N, H, W, C]` (box filter; with
    an alpha channel the colours are premultiplied, so transparent pixels' stray colour does not count)."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(f"`images` must be [N, H, W, C] with 1 to 4 channels. Received shape: {images.shape}")
    channels = images.shape[-1]
    rows = np.empty((len(images), side, side, channels), np.float32)
    for i, image in enumerate(images):
        pil = Image.fromarray(image[..., 0] if channels == 1 else image, None if channels != 2 else "LA")
        rows[i] = np.asarray(pil.resize((side, side), Image.BOX), np.float32).reshape(side, side, channels)
    rows /= 255.0
    if channels in (2, 4):
        rows[..., :-1] *= rows[..., -1:]
    return rows.reshape(len(images), -1)


def kmeans(points, num_clusters, seed=0, iterations=100, balanced=False):
    """Lloyd's k-means with k-means++ seeding: the cluster (0..num_clusters-1) of each row of `points`.

    With `balanced`, every cluster gets `len(points) // num_clusters` points or one more (each step
    fills the clusters from the closest point-centre pairs up): a conditional generator that draws
    its classes uniformly then draws them as often as the data has them.

    >>> points = np.array([[0.0], [0.1], [0.2], [5.0]])
    >>> kmeans(points, 2).tolist(), kmeans(points, 2, balanced=True).tolist()
    ([0, 0, 0, 1], [0, 0, 1, 1])
    """
    points = np.asarray(points)
    points = points if points.dtype in (np.float32, np.float64) else points.astype(np.float64)
    if not 1 <= num_clusters <= len(points):
        raise ValueError(f"`num_clusters` must be from 1 to the number of points ({len(points)}). "
                         f"Received: {num_clusters}")
    rng = np.random.RandomState(seed)
    squared = (points ** 2).sum(1)
    centres = np.empty((num_clusters, points.shape[1]), points.dtype)
    centres[0] = points[rng.randint(len(points))]
    nearest = ((points - centres[0]) ** 2).sum(1)
    for k in range(1, num_clusters):
        total = nearest.sum()
        # All points on the centres already (duplicates): any point will do.
        pick = rng.choice(len(points), p=nearest / total) if total > 0 else rng.randint(len(points))
        centres[k] = points[pick]
        nearest = np.minimum(nearest, ((points - centres[k]) ** 2).sum(1))
    labels = None
    for _ in range(max(1, iterations)):
        distances = squared[:, None] - 2 * points @ centres.T + (centres ** 2).sum(1)[None]
        new_labels = _fill(distances, num_clusters) if balanced else distances.argmin(1)
        if labels is not None and np.array_equal(new_labels, labels):
            break
        labels = new_labels
        for k in range(num_clusters):
            members = points[labels == k]
            if len(members):
                centres[k] = members.mean(0)
    return labels.astype(np.int32)


def _fill(distances, num_clusters):
    """Balanced assignment: pairs (point, cluster) taken from the closest up, each cluster taking at most
    its share (`N // K`, the first `N % K` clusters one more).

    Done in rounds rather than pair by pair: until some cluster is full, taking pairs in order means
    every point goes to its nearest open cluster, in the order of that distance. So each round sorts
    the unassigned points by it, takes them up to the point that fills a cluster, closes that cluster
    and goes again: at most K rounds of vectorized work, the same labels as the pair-by-pair greedy.
    """
    count = len(distances)
    room = np.full(num_clusters, count // num_clusters)
    room[: count % num_clusters] += 1
    labels = np.full(count, -1)
    unassigned = np.arange(count)
    while len(unassigned):
        open_clusters = np.flatnonzero(room > 0)
        candidate = distances[unassigned][:, open_clusters]
        nearest = candidate.argmin(1)  # ties: the lower cluster, as the pair order has it
        order = np.argsort(candidate[np.arange(len(nearest)), nearest], kind="stable")  # ties: lower point
        chosen = open_clusters[nearest[order]]
        # The round ends at the first position where a cluster reaches its room.
        by_cluster = np.argsort(chosen, kind="stable")
        rank = np.empty(len(chosen), np.int64)
        rank[by_cluster] = np.arange(len(chosen)) - np.searchsorted(chosen[by_cluster], chosen[by_cluster])
        stop = np.flatnonzero(rank + 1 == room[chosen])[0] + 1
        labels[unassigned[order[:stop]]] = chosen[:stop]
        room -= np.bincount(chosen[:stop], minlength=num_clusters)
        unassigned = unassigned[labels[unassigned] < 0]
    return labels


def cluster_labels(images, num_clusters, seed=0, side=THUMBNAIL_SIDE):
    """Class ids `[N]` (int32): the balanced k-means cluster of each image's `side`x`side` thumbnail
    (clusters of `N // num_clusters` images or one more).

    Example:
    >>> images = np.zeros((40, 16, 16, 1), np.uint8)
    >>> images[20:, 4:12, 4:12] = 255  # half black, half with a white square
    >>> labels = cluster_labels(images, 2)
    >>> sorted(np.bincount(labels).tolist()), bool(labels[0] != labels[-1])
    ([20, 20], True)
    """
    return kmeans(thumbnails(images, side), num_clusters, seed=seed, iterations=BALANCED_ITERATIONS, balanced=True)
