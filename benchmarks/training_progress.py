"""Training benchmark: speed (kimg/hour) and sliced Wasserstein distance to the data per snapshot.

Reads a run made by `kstylegan train` (the emoji recipe's in the README's figures) and prints
one row per network snapshot: images shown, wall-clock hours, kimg/hour and SWD (x1e3, patch
statistics of a Laplacian pyramid; lower is closer to the data; computed by
`keras_stylegan.metrics.compute_metrics`) and diversity (mean L1 distance between two images,
pixels in [0, 1], over pairs of 256 images; a collapsed generator scores far below the data), for
a conditional run also within a class (a model that draws one picture per class scores low there).
A falling SWD at a diversity near the data's shows training works.

    python benchmarks/training_progress.py --data ../shared/data/emoji64.zip --run runs/emoji32
"""
import argparse
import json
import os

import keras
import numpy as np

from keras_stylegan.data.images import read_images
from keras_stylegan.metrics import compute_metrics, pixel_diversity
from keras_stylegan.metrics.swd import sliced_wasserstein_distance
from keras_stylegan.sampling import to_uint8
from keras_stylegan.training.run import build_gan, list_snapshots, run_labels, training_seconds
from keras_stylegan.zoo import load


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--run", required=True)
    parser.add_argument("--num", type=int, default=1024, help="images per side of each SWD")
    args = parser.parse_args()
    options = json.load(open(os.path.join(args.run, "training_options.json")))
    reals, info = read_images(args.data, options["resolution"], channels=options["channels"])
    labels = run_labels(options, reals, info)  # conditional: classes as the run saw them
    subset = np.random.RandomState(0).permutation(len(reals))[: args.num]
    reals, labels = reals[subset], (None if labels is None else labels[subset])
    half = len(reals) // 2
    floor = sliced_wasserstein_distance(reals[:half], reals[half:], seed=0)["swd_avg"]
    within = "" if labels is None else f", within a class: {pixel_diversity(reals, labels):.3f}"
    print(f"data: {len(reals)} images; SWD between two halves of the data (the floor): {floor:.1f}; "
          f"diversity: {pixel_diversity(reals):.3f}{within}")
    columns = "diversity" if labels is None else "diversity | within-class diversity"
    separator = "|---" * (5 + (labels is not None)) + "|"
    print(f"| kimg | hours | kimg/hour | SWD x1e3 (avg) | {columns} |\n{separator}")
    keras.utils.set_random_seed(options["seed"])  # the run's initialization, as train() does
    for kimg, snapshot in [(0, None)] + list_snapshots(args.run):
        g = load(snapshot) if snapshot else build_gan(options).generator_ema
        swd = compute_metrics(g, reals, "swd", num_images=len(reals), batch_size=256, seed=1,
                              real_labels=labels)["swd_avg"]
        z = np.random.RandomState(2).randn(256, g.z_dim).astype("float32")
        c = None if labels is None else np.random.RandomState(3).choice(labels, 256)
        fakes = to_uint8(np.asarray(g(z, labels=c, noise_mode="const")))
        seconds = training_seconds(args.run, kimg)
        within = "" if c is None else f" {pixel_diversity(fakes, c):.3f} |"
        print(f"| {kimg:.0f} | {seconds / 3600:.2f} | {kimg * 3600 / max(seconds, 1):.0f} | {swd:.1f} | "
              f"{pixel_diversity(fakes):.3f} |{within}")


if __name__ == "__main__":
    main()
