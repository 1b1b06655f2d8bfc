"""Training speed (kimg/hour) of the StyleGAN train step at each level of detail on this machine.

Builds the emoji recipe's networks (StyleGAN 2019, 32x32 RGBA, 64 channels, batch 32; random
weights and random images: the speed does not depend on them) and times `fit()` steps at
lod 2 (8x8), 1 (16x16) and 0 (32x32), with and without skipping the hidden levels
(`StyleGAN.set_min_lod`, what `train()` does per growing phase), and with R1 on every step
(NVIDIA's StyleGAN) or every 16 (lazy R1). Nothing is asserted: it prints a table.

    python benchmarks/training_speed.py --steps 40
"""
import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from keras_stylegan.data import training_stream  # noqa: E402
from keras_stylegan.training.run import build_gan, default_options  # noqa: E402

RECIPE = dict(channel_max=64, z_dim=128, w_dim=128, mapping_layers=2, batch_size=32, r1_gamma=0.1,
              mbstd_group_size=8)


def options(r1_interval, resolution):
    opts = default_options("stylegan", resolution, 4)
    opts.update(RECIPE, architecture="stylegan", resolution=[resolution, resolution], channels=4, augment="ada",
                augment_p=0.0, ada_target=0.6, ada_kimg=100.0, loss="logistic", lod_initial_resolution=8,
                lod_training_kimg=160.0, lod_transition_kimg=60.0, num_classes=0, seed=0, r1_interval=r1_interval)
    return opts


def measure(lod, skip, r1_interval, steps, resolution):
    opts = options(r1_interval, resolution)
    gan = build_gan(opts)
    gan.compile(learning_rate=0.002)
    # The start of the phase stabilizing this lod: lod stays constant for the whole measurement.
    nimg = int((gan.initial_lod - lod) * (opts["lod_training_kimg"] + opts["lod_transition_kimg"]) * 1000)
    images = np.random.RandomState(0).randint(0, 256, [256, resolution, resolution, 4]).astype("uint8")
    stream = training_stream(images, opts["batch_size"], first_image=0, seed=0)
    gan.nimg.assign(nimg)
    assert float(gan.lod()) == lod, (float(gan.lod()), lod)
    gan.set_min_lod(lod if skip else 0)
    gan.fit(stream, steps_per_epoch=max(r1_interval, 4), epochs=1, verbose=0)  # trace and warm up
    gan.nimg.assign(nimg)
    start = time.perf_counter()
    gan.fit(stream, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps * opts["batch_size"] / (time.perf_counter() - start) * 3.6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=48, help="timed steps per row (a multiple of 16 is fair to lazy R1)")
    parser.add_argument("--resolution", type=int, default=32)
    args = parser.parse_args()
    print("| lod (trained size) | skip hidden levels | R1 every | kimg/hour |")
    print("|---|---|---|---|")
    for lod in (2, 1, 0):
        size = args.resolution >> lod
        # Nothing is hidden at full resolution: skipping only matters while growing.
        for skip, r1_interval in ((False, 1), (True, 1), (True, 16)) if lod else ((False, 1), (False, 16)):
            speed = measure(lod, skip, r1_interval, args.steps, args.resolution)
            print(f"| {lod} ({size}x{size}) | {'yes' if skip else 'no'} | {r1_interval} | {speed:.0f} |", flush=True)


if __name__ == "__main__":
    main()
