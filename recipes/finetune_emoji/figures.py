"""Before/after figures and SWD of a fine-tuning run against its data.

Draws the same latents and classes through the model the run started from (`--before`, the
`emoji` preset) and through the run's snapshot (default: the latest), next to real images of
the set, and writes `<out>_reals.png`, `<out>_before.png` and `<out>_after.png` (RGBA over white,
scaled 2x). Image i of each grid uses seed i and the class of a real image drawn at random, so the
classes follow the set's labels. Then measures the sliced Wasserstein distance (ProGAN's, x1e3)
of the source and of every snapshot against the set: as many generated images as real ones,
classes drawn from the set's labels, averaged over `--repeats` draws of the latents.

    python recipes/finetune_emoji/figures.py --run runs/finetune_emoji/run --data animals.zip \
        --out docs/images/finetune
"""
import argparse
import json
import os

import numpy as np

from keras_stylegan.data.images import read_images
from keras_stylegan.metrics import compute_metrics
from keras_stylegan.metrics.swd import sliced_wasserstein_distance
from keras_stylegan.sampling import generate, image_grid, save_image, seeds_to_z, to_uint8
from keras_stylegan.training.run import list_snapshots, training_seconds
from keras_stylegan.zoo import load

SCALE = 2  # 32x32 glyphs are hard to see at their size


def on_white(images):
    """RGBA uint8 `[N, H, W, 4]` -> RGB composited over white (gray and RGB pass through as RGB)."""
    images = np.asarray(images, "float32")
    if images.shape[-1] in (2, 4):
        alpha = images[..., -1:] / 255.0
        images = images[..., :-1] * alpha + 255.0 * (1 - alpha)
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    return np.round(images).astype(np.uint8)


def save_grid(images, path, cols):
    grid = image_grid(on_white(images), cols=cols)
    save_image(grid.repeat(SCALE, axis=0).repeat(SCALE, axis=1), path)


def mean_swd(generator, reals, labels, repeats):
    """SWD x1e3 (levels and average) of `generator` against `reals`, averaged over `repeats` latent draws."""
    runs = [compute_metrics(generator, reals, "swd", num_images=len(reals), batch_size=64, seed=seed,
                            real_labels=labels) for seed in range(1, repeats + 1)]
    return {key: round(float(np.mean([run[key] for run in runs])), 2) for key in runs[0]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="the fine-tuning run directory")
    parser.add_argument("--data", required=True, help="the set it was fine-tuned on (with its dataset.json)")
    parser.add_argument("--before", default="emoji", help="the model the run started from")
    parser.add_argument("--snapshot", default=None, help="snapshot for the 'after' figure (default: the latest)")
    parser.add_argument("--out", required=True, help="path prefix of the figures, e.g. docs/images/finetune")
    parser.add_argument("--num", type=int, default=16, help="images per figure")
    parser.add_argument("--cols", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3, help="latent draws the SWD is averaged over")
    args = parser.parse_args()
    snapshots = {os.path.basename(path): (kimg, path) for kimg, path in list_snapshots(args.run)}
    if not snapshots:
        raise SystemExit(f"error: {args.run} has no network snapshot yet")
    name = args.snapshot or max(snapshots, key=lambda key: snapshots[key][0])
    if name not in snapshots:
        raise SystemExit(f"error: {args.run} has no snapshot {name!r}: it has {sorted(snapshots)}")
    before = load(args.before)
    reals, info = read_images(args.data, before.resolution, channels=before.channels)
    if before.num_classes and info.labels is None:
        raise SystemExit(f"error: {args.before} is conditional: --data must carry labels (dataset.json)")
    labels = info.labels if before.num_classes else None

    rng = np.random.RandomState(0)
    shown = rng.choice(len(reals), args.num, replace=len(reals) < args.num)
    z = seeds_to_z(list(range(args.num)), before.z_dim)
    classes = labels[rng.choice(len(reals), args.num)] if labels is not None else None
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    save_grid(reals[shown], f"{args.out}_reals.png", args.cols)
    save_grid(to_uint8(generate(before, z, labels=classes)), f"{args.out}_before.png", args.cols)
    after = load(snapshots[name][1])
    save_grid(to_uint8(generate(after, z, labels=classes)), f"{args.out}_after.png", args.cols)

    half = len(reals) // 2
    order = rng.permutation(len(reals))
    table = [dict(model=args.before, kimg=0, seconds=0, **mean_swd(before, reals, labels, args.repeats))]
    for snapshot, (kimg, path) in sorted(snapshots.items(), key=lambda item: item[1][0]):
        table.append(dict(model=snapshot, kimg=kimg, seconds=round(training_seconds(args.run, kimg)),
                          **mean_swd(load(path), reals, labels, args.repeats)))
    floor = sliced_wasserstein_distance(reals[order[:half]], reals[order[half:]], seed=0)
    result = dict(images=len(reals), after=name, swd_x1e3=table,
                  swd_x1e3_data_half_vs_half={k: round(float(v), 2) for k, v in floor.items()})
    print(json.dumps(result, indent=1))
    print(f"figures: {args.out}_reals.png, {args.out}_before.png, {args.out}_after.png")


if __name__ == "__main__":
    main()
