"""Projection steps to reach a reconstruction error: encoder start vs NVIDIA's w_avg start.

Builds a small random StyleGAN2 generator (seeded), trains an encoder on its samples, then
projects images of held-out seeds twice (pixel loss, NVIDIA's schedule) and prints, for each
start, the PSNR curve and the first step whose image reaches `--psnr` dB. Nothing is asserted.

    python benchmarks/encoder_projection.py --encoder-steps 400 --steps 200 --targets 4 --psnr 30
"""
import argparse
import math
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_stylegan import Generator  # noqa: E402
from keras_stylegan.editing import train_encoder  # noqa: E402
from keras_stylegan.projection import project  # noqa: E402
from keras_stylegan.projection.projector import to_uint8  # noqa: E402


def small_generator(resolution, w_dim, seed):
    keras.utils.set_random_seed(seed)
    g = Generator(resolution=resolution, z_dim=w_dim, w_dim=w_dim, channel_base=16 * resolution, channel_max=32,
                  mapping_layers=4)
    for variable in g.weights:  # keep the untrained images inside [-1, 1] (no clipping of the uint8 targets)
        if "torgb" in variable.path and variable.path.endswith("kernel"):
            variable.assign(variable.numpy() * 0.3)
    return g


def psnr(mse):
    """PSNR in dB of a mean squared error on the [-1, 1] scale (peak-to-peak 2)."""
    return 10 * math.log10(4.0 / max(mse, 1e-12))


def steps_to(curve, threshold):
    hits = [step for step, value in enumerate(curve) if value >= threshold]
    return hits[0] if hits else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--w-dim", type=int, default=64)
    parser.add_argument("--encoder-steps", type=int, default=400)
    parser.add_argument("--steps", type=int, default=200, help="projection steps")
    parser.add_argument("--targets", type=int, default=4)
    parser.add_argument("--psnr", type=float, default=30.0, help="threshold in dB")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    g = small_generator(args.resolution, args.w_dim, args.seed)
    start = time.perf_counter()
    encoder = train_encoder(g, steps=args.encoder_steps, batch_size=16, learning_rate=3e-3, base_filters=16,
                            progress=False)
    print(f"generator {args.resolution}px w_dim {args.w_dim} ({g.count_params():,} params); encoder trained "
          f"{args.encoder_steps} steps in {time.perf_counter() - start:.0f}s")
    z = np.random.RandomState(10_000 + args.seed).randn(args.targets, g.z_dim).astype(np.float32)
    targets = to_uint8(keras.ops.convert_to_numpy(g.synthesis(g.mapping(z), noise_mode="const")))
    marks = sorted({0, 10, 25, 50, 100, args.steps - 1} & set(range(args.steps)))
    results = {}
    for init in ("w_avg", "encoder"):
        curves = []
        for target in targets:
            result = project(g, target, num_steps=args.steps, perceptual=None, pixel_weight=1.0, progress=False,
                             init=init, encoder=encoder, seed=args.seed)
            curves.append([psnr(record["pixel"]) for record in result.history])
        results[init] = curves
        mean_curve = np.mean(curves, axis=0)
        print(f"{init:>8}: mean PSNR (dB) " + "  ".join(f"step {m}: {mean_curve[m]:.1f}" for m in marks))
    print(f"steps to reach {args.psnr:g} dB PSNR (per target; '-' = not within {args.steps} steps):")
    for init, curves in results.items():
        hits = [steps_to(curve, args.psnr) for curve in curves]
        reached = [h for h in hits if h is not None]
        summary = f"median {np.median(reached):.0f}" if len(reached) == len(hits) else f"{len(reached)}/{len(hits)}"
        print(f"{init:>8}: {' '.join('-' if h is None else str(h) for h in hits)}  ({summary})")


if __name__ == "__main__":
    main()
