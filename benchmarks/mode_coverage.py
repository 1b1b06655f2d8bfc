"""Mode-coverage benchmark: does the trainer learn every mode of a simple multimodal dataset?

The data is 16x16 RGB: one disc on black, at one of 4 positions, in one of 8 colours (32 modes,
equally likely). A small StyleGAN2 is trained with `keras_stylegan.training.run.train`, then
4,096 generated images are classified by position and colour; the script prints, per snapshot,
how many of the 32 modes appear, the share of images that are a clean disc, and the spread of
mode frequencies. A trainer that collapses (one silhouette for every z) covers few modes here.

    python benchmarks/mode_coverage.py --outdir runs/modes --kimg 60
"""
import argparse

import numpy as np

CENTERS = [(4, 4), (4, 12), (12, 4), (12, 12)]
COLORS = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255], [255, 0, 255],
                   [255, 255, 255], [255, 128, 0]], np.float32)


def make_discs(num, seed=0):
    """uint8 [num, 16, 16, 3] discs and their mode ids (position * 8 + colour)."""
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[:16, :16] + 0.5
    modes = rng.randint(0, len(CENTERS) * len(COLORS), num)
    images = np.zeros([num, 16, 16, 3], np.uint8)
    for i, mode in enumerate(modes):
        (cy, cx), color = CENTERS[mode // len(COLORS)], COLORS[mode % len(COLORS)]
        inside = (yy - cy) ** 2 + (xx - cx) ** 2 <= 3.0 ** 2
        images[i][inside] = color.astype(np.uint8)
    return images, modes


def classify(images):
    """Mode id per image, or -1 when it is not one clean disc of a palette colour."""
    x = images.astype(np.float32)
    quadrant_energy = np.stack([x[:, cy - 4: cy + 4, cx - 4: cx + 4].sum(axis=(1, 2, 3)) for cy, cx in CENTERS], 1)
    position = quadrant_energy.argmax(axis=1)
    modes = np.full(len(images), -1)
    for i, p in enumerate(position):
        cy, cx = CENTERS[p]
        patch = x[i, cy - 2: cy + 2, cx - 2: cx + 2].reshape(-1, 3).mean(axis=0)  # the disc's core
        distances = np.linalg.norm(COLORS - patch, axis=1)
        outside = quadrant_energy[i].sum() - quadrant_energy[i, p]
        if distances.min() < 60 and outside < 0.1 * quadrant_energy[i, p]:
            modes[i] = p * len(COLORS) + distances.argmin()
    return modes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outdir", required=True)
    parser.add_argument("--kimg", type=float, default=60)
    parser.add_argument("--cmax", type=int, default=32)
    parser.add_argument("--aug", default="none")
    parser.add_argument("--gamma", type=float, default=None, help="R1 weight (default: the trainer's)")
    parser.add_argument("--mbstd", type=int, default=4, help="discriminator minibatch-stddev group size")
    args = parser.parse_args()
    from keras_stylegan.training.run import list_snapshots, train
    from keras_stylegan.zoo import load

    images, _ = make_discs(4096)
    assert (classify(images) >= 0).all()  # the classifier recognizes every real image
    train(images, args.outdir, resolution=16, channels=3, kimg=args.kimg, channel_max=args.cmax, z_dim=32,
          w_dim=32, mapping_layers=2, batch_size=32, mbstd_group_size=args.mbstd, r1_gamma=args.gamma, augment=args.aug, snapshot_ticks=5, verbose=2)
    print("| kimg | modes covered (of 32) | clean discs | most / least frequent covered mode |")
    print("|---|---|---|---|")
    z = np.random.RandomState(1).randn(4096, 32).astype("float32")
    for kimg, snapshot in list_snapshots(args.outdir):
        g = load(snapshot)
        # The `cpu` preset self-conditions on equal-sized clusters: uniform classes draw them as the data has them.
        classes = np.random.RandomState(2).randint(0, g.num_classes, len(z)) if g.num_classes else None
        fakes = np.concatenate([np.asarray(g(z[i: i + 512], labels=None if classes is None else classes[i: i + 512],
                                             noise_mode="const")) for i in range(0, len(z), 512)])
        modes = classify(np.clip((fakes + 1) * 127.5, 0, 255))
        counts = np.bincount(modes[modes >= 0], minlength=32)
        covered = counts[counts > 0]
        print(f"| {kimg} | {len(covered)} | {(modes >= 0).mean():.2f} | "
              f"{covered.max() if len(covered) else 0} / {covered.min() if len(covered) else 0} |")


if __name__ == "__main__":
    main()
