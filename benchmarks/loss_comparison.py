"""Loss benchmark: the default loss against `--loss r3gan` on the same data, preset and image budget.

Trains one run per loss with `kstylegan train` (the same `--cfg`, resolution, `--kimg`, seed and
every other option; runs already in `--outdir` are resumed, finished ones only read), side by side
when `--jobs` > 1 so both see the same machine load, then prints a Markdown table with one row per
snapshot: images shown and, per loss, SWD x1e3 (the average over the Laplacian-pyramid levels of
`keras_stylegan.metrics`; lower is closer to the data), diversity (mean L1 between two generated
images, pixels in [0, 1]; a collapsed generator scores far below the data's) and the wall-clock
seconds per kimg of its training. Rows are matched by images shown, not by time: a shared
machine makes time an unfair budget.

    python benchmarks/loss_comparison.py --data ../shared/data/emoji64.zip --outdir runs/losses \
        --resolution 16 --kimg 40 --ticks 4 --jobs 2
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np


def train_runs(args):
    """Starts (or resumes) one `kstylegan train` per loss, `--jobs` at a time; fails on the first that fails."""
    pending = list(args.losses)
    running = []
    while pending or running:
        while pending and len(running) < args.jobs:
            loss = pending.pop(0)
            run = os.path.join(args.outdir, loss)
            command = [sys.executable, "-m", "keras_stylegan.cli.main", "train", "--data", args.data,
                       "--outdir", run, "--cfg", args.cfg, "--resolution", str(args.resolution),
                       "--kimg", f"{args.kimg:g}", "--tick", f"{args.kimg / args.ticks:g}", "--snap", "1",
                       "--seed", str(args.seed), "--loss", loss] + args.train_args
            os.makedirs(args.outdir, exist_ok=True)
            log = open(os.path.join(args.outdir, f"{loss}.log"), "a")
            print(f"training {loss}: {' '.join(command[2:])}  (log: {log.name})", flush=True)
            running.append((loss, subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT), log))
        loss, process, log = running.pop(0)
        if process.wait() != 0:
            sys.exit(f"Error: the {loss} run failed; see {log.name}")
        log.close()


def report(args):
    import keras

    from keras_stylegan.data.images import read_images
    from keras_stylegan.metrics import compute_metrics
    from keras_stylegan.metrics.swd import sliced_wasserstein_distance
    from keras_stylegan.sampling import to_uint8
    from keras_stylegan.training.run import build_gan, list_snapshots, read_stats, run_labels
    from keras_stylegan.zoo import load

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from keras_stylegan.metrics import pixel_diversity

    runs = {loss: os.path.join(args.outdir, loss) for loss in args.losses}
    options = {loss: json.load(open(os.path.join(run, "training_options.json"))) for loss, run in runs.items()}
    first = options[args.losses[0]]
    reals, info = read_images(args.data, first["resolution"], channels=first["channels"])
    # A conditional run (the `cpu` preset self-conditions on clusters) draws classes as the run saw them.
    labels = run_labels(first, reals, info)
    subset = np.random.RandomState(0).permutation(len(reals))[: args.num]
    reals, labels = reals[subset], (None if labels is None else labels[subset])
    half = len(reals) // 2
    floor = sliced_wasserstein_distance(reals[:half], reals[half:], seed=0)["swd_avg"]
    print(f"data: {len(reals)} images at {first['resolution'][1]}x{first['resolution'][0]}, {first['channels']} "
          f"channels; SWD x1e3 between two halves of the data (the floor): {floor:.1f}; "
          f"diversity: {pixel_diversity(reals):.3f}")
    for loss in args.losses:
        o = options[loss]
        print(f"{loss}: --cfg {o['cfg']} batch {o['batch_size']} lr {o['learning_rate']:g} gamma {o['r1_gamma']:g} "
              f"r1_interval {o['r1_interval']} pl_weight {o['pl_weight']:g} aug {o['augment']}")
    snapshots = {loss: dict(list_snapshots(run)) for loss, run in runs.items()}
    common = sorted(set.intersection(*(set(s) for s in snapshots.values())))
    header = " | ".join(f"{loss} SWD | {loss} diversity | {loss} sec/kimg" for loss in args.losses)
    print(f"\n| kimg | {header} |\n|---|" + "---|---|---|" * len(args.losses))
    z = np.random.RandomState(2).randn(256, first["z_dim"]).astype("float32")
    classes = None if labels is None else np.random.RandomState(3).choice(labels, len(z))
    for kimg in [0] + common:
        cells = []
        for loss in args.losses:
            if kimg == 0:
                keras.utils.set_random_seed(options[loss]["seed"])  # the run's initialization, as train() does
                g = build_gan(options[loss]).generator_ema
            else:
                g = load(snapshots[loss][kimg])
            swd = compute_metrics(g, reals, "swd", num_images=len(reals), batch_size=256, seed=1,
                                  real_labels=labels)["swd_avg"]
            fakes = to_uint8(np.asarray(g(z, labels=classes, noise_mode="const")))
            ticks = [t for t in read_stats(runs[loss]) if t["kimg"] <= kimg + 0.5]  # snapshots round kimg
            seconds = sum(t["sec_per_tick"] for t in ticks)
            speed = f"{seconds / ticks[-1]['kimg']:.0f}" if kimg and ticks else "-"
            cells.append(f"{swd:.1f} | {pixel_diversity(fakes):.3f} | {speed}")
        print(f"| {kimg} | " + " | ".join(cells) + " |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="Arguments after -- go to every `kstylegan train` (e.g. -- --mirror).")
    parser.add_argument("--data", required=True, help="images (folder, zip, .npz/.npy)")
    parser.add_argument("--outdir", required=True, help="one run per loss goes in OUTDIR/LOSS")
    parser.add_argument("--losses", nargs="+", default=["logistic", "r3gan"])
    parser.add_argument("--cfg", default="cpu")
    parser.add_argument("--resolution", type=int, default=16)
    parser.add_argument("--kimg", type=float, default=40.0, help="images shown per run, in thousands")
    parser.add_argument("--ticks", type=int, default=4, help="snapshots per run (evenly spaced)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="runs trained at once")
    parser.add_argument("--num", type=int, default=1024, help="images per side of each SWD")
    parser.add_argument("--report-only", action="store_true", help="print the table of the runs in --outdir")
    parser.add_argument("train_args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.report_only:
        train_runs(args)
    report(args)


if __name__ == "__main__":
    main()
