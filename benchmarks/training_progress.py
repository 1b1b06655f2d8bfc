"""Training benchmark: speed (kimg/hour) and sliced Wasserstein distance to the data per snapshot.

Optionally trains first (32x32 RGBA emoji in the README's figures), then prints one row per
network snapshot of the run: images shown, wall-clock hours, kimg/hour and SWD (x1e3, patch
statistics of a Laplacian pyramid; lower is closer to the data). A falling SWD shows training works.

    python benchmarks/training_progress.py --data ../shared/data/emoji64.zip --run runs/emoji32 \\
        --train-kimg 200 --resolution 32 --channels 4
"""
import argparse
import json
import os

import numpy as np

from keras_stylegan.data.images import read_images
from keras_stylegan.metrics.swd import sliced_wasserstein_distance
from keras_stylegan.zoo import load


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--run", required=True)
    parser.add_argument("--train-kimg", type=float, default=0, help="train (or resume) to this many kimg first")
    parser.add_argument("--resolution", default="32")
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--num", type=int, default=1024, help="images per side of each SWD")
    args = parser.parse_args()
    if args.train_kimg:
        from keras_stylegan.training.run import train

        train(args.data, args.run, resolution=args.resolution, channels=args.channels, kimg=args.train_kimg,
              channel_max=64, z_dim=128, w_dim=128, mapping_layers=2, batch_size=32, snapshot_ticks=5, verbose=2)
    stats = [json.loads(line) for line in open(os.path.join(args.run, "stats.jsonl"))]
    snapshots = sorted(d for d in os.listdir(args.run) if d.startswith("network-snapshot-"))
    g = load(os.path.join(args.run, snapshots[0]))
    reals, _ = read_images(args.data, g.resolution, channels=g.channels)
    reals = reals[np.random.RandomState(0).permutation(len(reals))[: args.num]]
    half = len(reals) // 2
    floor = sliced_wasserstein_distance(reals[:half], reals[half:], seed=0)["swd_avg"]
    z = np.random.RandomState(1).randn(len(reals), g.z_dim).astype("float32")
    print(f"data: {len(reals)} images; SWD between two halves of the data (the floor): {floor:.1f}")
    print("| kimg | hours | kimg/hour | SWD x1e3 (avg) |\n|---|---|---|---|")
    import keras

    from keras_stylegan.training.run import build_gan

    options = json.load(open(os.path.join(args.run, "training_options.json")))
    keras.utils.set_random_seed(options["seed"])  # the run's initialization, as train() does
    for snapshot in [None] + snapshots:
        kimg = float(snapshot.rsplit("-", 1)[1]) if snapshot else 0.0
        g = load(os.path.join(args.run, snapshot)) if snapshot else build_gan(options).generator_ema
        fakes = np.concatenate([np.asarray(g(z[i: i + 256], noise_mode="const")) for i in range(0, len(z), 256)])
        fakes = np.clip(np.rint((fakes + 1) * 127.5), 0, 255).astype(np.uint8)
        swd = sliced_wasserstein_distance(reals, fakes, seed=0)["swd_avg"]
        seconds = sum(s["sec_per_tick"] for s in stats if s["kimg"] <= kimg + 1e-6)
        print(f"| {kimg:.0f} | {seconds / 3600:.2f} | {kimg * 3600 / max(seconds, 1):.0f} | {swd:.1f} |")


if __name__ == "__main__":
    main()
