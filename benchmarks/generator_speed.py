"""Generator images/second on this machine (random weights, noise const).

Measures StyleGAN2 config-f (channel_base 32768, channel_max 512) at the given resolutions
and batch sizes, for both implementations of the modulated convolution: scaling the
activations around one shared convolution (default) and one grouped convolution with
per-sample kernels (`fused_modconv=True`). Nothing is asserted: it prints figures.

    python benchmarks/generator_speed.py --resolutions 256 1024 --batches 1 8
"""
import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_stylegan import Generator  # noqa: E402


def measure(resolution, batch, fused, min_seconds):
    g = Generator(resolution=resolution, fused_modconv=fused)
    step = tf.function(lambda z: g(z, psi=1.0, noise_mode="const"), jit_compile=False)
    z = tf.constant(np.random.RandomState(0).randn(batch, g.z_dim).astype("float32"))
    step(z).numpy()  # trace and warm up
    runs, start = 0, time.perf_counter()
    while True:
        step(z).numpy()
        runs += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds and runs >= 2:
            return runs * batch / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolutions", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--impl", choices=["scale", "grouped", "both"], default="both")
    parser.add_argument("--min-seconds", type=float, default=10.0)
    args = parser.parse_args()
    impls = {"scale": [False], "grouped": [True], "both": [False, True]}[args.impl]
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores, threads: default")
    print("| resolution | batch | modulated conv | img/s |")
    print("|---|---|---|---|")
    for resolution in args.resolutions:
        for batch in args.batches:
            for fused in impls:
                rate = measure(resolution, batch, fused, args.min_seconds)
                name = "grouped conv" if fused else "scale activations"
                print(f"| {resolution}x{resolution} | {batch} | {name} | {rate:.2f} |", flush=True)


if __name__ == "__main__":
    main()
