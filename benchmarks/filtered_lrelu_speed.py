"""Filtered leaky ReLU on CPU: polyphase/strided convolutions against the dense resampling matrices.

Times one `filtered_lrelu` call (compiled with `tf.function`, float32, batch 1, up 2, down 2,
StyleGAN3-T's 12-tap Kaiser filters) for several input sizes, both methods alternating in each
round on the same load; prints the median time per method and their ratio. Picks
`DENSE_MAX_SIZE` in keras_stylegan/layers/filtered_lrelu.py.

    python benchmarks/filtered_lrelu_speed.py --sizes 16,36,52,84,148 --channels 64 --repeats 5
"""
import argparse
import statistics
import time

import numpy as np
import tensorflow as tf

from keras_stylegan.layers.filtered_lrelu import design_lowpass_filter, filtered_lrelu


def time_call(fn, x, calls):
    fn(x)  # trace and warm up
    start = time.perf_counter()
    for _ in range(calls):
        fn(x).numpy()
    return (time.perf_counter() - start) / calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="16,36,52,84,148")
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calls", type=int, default=3)
    args = parser.parse_args()
    taps = design_lowpass_filter(12, cutoff=4, width=2, fs=32)
    print("| input size | conv ms | dense ms | dense / conv |\n|---|---|---|---|")
    for size in [int(s) for s in args.sizes.split(",")]:
        x = tf.constant(np.random.RandomState(0).randn(1, size, size, args.channels).astype("float32"))
        fns = {method: tf.function(lambda x, method=method: filtered_lrelu(
            x, taps, taps, up=2, down=2, padding=(11, 10, 11, 10), clamp=256.0, method=method))
            for method in ("conv", "dense")}
        times = {"conv": [], "dense": []}
        for round_index in range(args.repeats):
            order = ("conv", "dense") if round_index % 2 == 0 else ("dense", "conv")
            for method in order:
                times[method].append(time_call(fns[method], x, args.calls))
        conv, dense = statistics.median(times["conv"]), statistics.median(times["dense"])
        print(f"| {size} | {conv * 1e3:.2f} | {dense * 1e3:.2f} | {dense / conv:.2f} |", flush=True)


if __name__ == "__main__":
    main()
