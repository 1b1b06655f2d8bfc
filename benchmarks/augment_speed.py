"""ADA augmentation cost per batch on this machine, per pipeline, forward and forward + backward.

Compares NVIDIA's presets (`blit`, `geom`, `color`, `bgc`, `bgcfnc`) with the previous default's work
(`blit+color`: the pixel-gather blit ops and the per-pixel colour ops, no resampling), on batches of
32 images of 32x32 RGB by default. The trainer augments reals (forward) and fakes (forward + backward).
Nothing is asserted: it prints milliseconds per batch (wall clock and process CPU time).

    python benchmarks/augment_speed.py --resolution 32 --batch 32 --p 0.2 1.0
"""
import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_stylegan.training.augment import PIPELINES, augment  # noqa: E402

OLD_BLIT_COLOR = ("xflip", "rotate90", "xint", "brightness", "contrast", "hue", "saturation")


def measure(step, images, min_seconds):
    """(wall ms, CPU ms) per call after a warm-up call that traces the function."""
    step(images).numpy()
    runs, wall, cpu = 0, time.perf_counter(), time.process_time()
    while True:
        step(images).numpy()
        runs += 1
        elapsed = time.perf_counter() - wall
        if elapsed >= min_seconds and runs >= 3:
            return 1000 * elapsed / runs, 1000 * (time.process_time() - cpu) / runs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--p", type=float, nargs="+", default=[0.2, 1.0])
    parser.add_argument("--pipelines", nargs="+", default=["blit+color", "blit", "color", "geom", "bgc", "bgcfnc"])
    parser.add_argument("--xla", action="store_true", help="compile with XLA (jit_compile=True)")
    parser.add_argument("--seconds", type=float, default=2.0, help="minimum measuring time per figure")
    args = parser.parse_args()

    shape = [args.batch, args.resolution, args.resolution, args.channels]
    images = tf.constant(np.random.default_rng(0).uniform(-1, 1, shape).astype("float32"))
    seed = tf.constant([1, 2])
    print(f"batch {args.batch} x {args.resolution}x{args.resolution}x{args.channels}, xla={args.xla}, "
          f"{os.cpu_count()} CPUs; ms per batch (wall / CPU)")
    print(f"{'pipeline':<12} {'p':>5} {'forward':>17} {'forward+backward':>19}")
    for name in args.pipelines:
        ops = OLD_BLIT_COLOR if name == "blit+color" else PIPELINES[name]
        for p in args.p:
            def forward(x, ops=ops, p=p):
                return augment(x, p, seed, ops)

            def both(x, ops=ops, p=p):
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    total = tf.reduce_sum(augment(x, p, seed, ops))
                return tape.gradient(total, x)

            fwd = measure(tf.function(forward, jit_compile=args.xla), images, args.seconds)
            bwd = measure(tf.function(both, jit_compile=args.xla), images, args.seconds)
            print(f"{name:<12} {p:>5.2f} {fwd[0]:>8.1f} / {fwd[1]:>6.1f} {bwd[0]:>10.1f} / {bwd[1]:>6.1f}")


if __name__ == "__main__":
    main()
