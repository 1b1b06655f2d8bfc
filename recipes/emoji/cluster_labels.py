"""Labels the emoji with k-means clusters of their thumbnails, for a self-conditioned GAN.

Writes a copy of the zip with NVIDIA's `dataset.json` (`{"labels": [[name, cluster], ...]}`), so
`kstylegan train --cond` trains a generator conditioned on the cluster (Liu et al. 2020, "Diverse
Image Generation via Self-Conditioned GANs"): the discriminator judges each image against its
cluster, so the generator cannot drop whole kinds of emoji (flags, faces, hands) for one
silhouette. Also writes `<out>.png`, one row of members per cluster.

    python recipes/emoji/cluster_labels.py --data emoji64.zip --out emoji64_clusters.zip --clusters 32
"""
import argparse
import json
import os
import zipfile

import numpy as np
from PIL import Image

from keras_stylegan.data.clusters import kmeans
from keras_stylegan.data.images import read_images, scan_source


def thumbnails(source, size):
    """Premultiplied RGBA thumbnails `[N, size*size*4]` in [0, 1], with the source's file names."""
    names = scan_source(source).names
    images, info = read_images(source, size, channels=4)
    if info.num_skipped:
        raise SystemExit(f"error: {info.num_skipped} unreadable images in {source}: labels would not line up")
    images = images.astype("float32") / 255.0
    images[..., :3] *= images[..., 3:]  # transparent pixels carry stray colour: premultiply
    return images.reshape(len(images), -1), names


def preview(source, clusters, path, per_row=16, size=32):
    images, _ = read_images(source, size, channels=4)
    k = clusters.max() + 1
    sheet = Image.new("RGBA", (per_row * size, k * size), (255, 255, 255, 255))
    rng = np.random.RandomState(0)
    for cluster in range(k):
        members = np.flatnonzero(clusters == cluster)
        for column, index in enumerate(rng.permutation(members)[:per_row]):
            sheet.alpha_composite(Image.fromarray(images[index], "RGBA"), (column * size, cluster * size))
    sheet.convert("RGB").save(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="zip of emoji PNGs (render_emoji.py)")
    parser.add_argument("--out", required=True, help="zip to write: the same images plus dataset.json")
    parser.add_argument("--clusters", type=int, default=32)
    parser.add_argument("--size", type=int, default=8, help="thumbnail side the clusters are computed on")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.out == args.data:
        raise SystemExit("error: --out must differ from --data (the source is copied, not changed)")
    points, names = thumbnails(args.data, args.size)
    clusters = kmeans(points, args.clusters, seed=args.seed)
    with zipfile.ZipFile(args.data) as source, zipfile.ZipFile(args.out + ".partial", "w") as target:
        for item in source.infolist():
            if item.filename != "dataset.json":
                target.writestr(item, source.read(item))
        labels = [[name, int(c)] for name, c in zip(names, clusters)]
        target.writestr("dataset.json", json.dumps({"labels": labels}))
    os.replace(args.out + ".partial", args.out)
    preview(args.data, clusters, os.path.splitext(args.out)[0] + ".png")
    sizes = np.bincount(clusters, minlength=args.clusters)
    print(f"wrote {args.out}: {len(names)} images in {args.clusters} clusters, sizes {sorted(sizes.tolist())}")


if __name__ == "__main__":
    main()
