"""Quality per CPU-hour: our trainer against NVIDIA's stylegan2-ada-pytorch, same data, same network
size, same wall-clock budget, scored with the same sliced Wasserstein distance.

Both trainers run in turn (never together: they would share the CPU) for `--minutes` of wall clock
from the start of their process (imports, data loading and graph building count), then are stopped.
Every network snapshot written inside the budget (one per tick of `--tick` kimg) is scored: `--num`
images of its EMA generator (fixed seeds, constant noise) against `--num` real images, with
`keras_stylegan.metrics.swd.sliced_wasserstein_distance` (x1e3, mean over the 32 and 16 px levels),
and diversity (mean L1 distance between two images, pixels in [0, 1]; a collapsed generator scores
far below the data's). The table gives every snapshot's kimg and seconds, so the runs compare per
kimg as well as per minute (the machine may be shared); the summary is the mean of the last three.

NVIDIA's trainer is not part of this project: the user checks out
https://github.com/NVlabs/stylegan2-ada-pytorch and makes a Python environment for it (torch,
click, requests, psutil, pillow, scipy). It runs on a CPU through a small driver this script
writes into the output directory: NVIDIA's own `train.py` builds the `auto` kwargs, then the
network size is set (channel base/max; fp16 off, which NVIDIA's code would try on any device)
and `training_loop` runs with its device set to the CPU (its custom ops use their reference code
there). The driver also renders NVIDIA's snapshots (its own pickles, made by this run) to .npy.

    python benchmarks/versus_official_training.py --outdir runs/versus \
        --official ~/stylegan2-ada-pytorch --official-python ~/sg2ada-venv/bin/python --minutes 20

Same network size on both sides (`--cbase`, `--cmax`, 2 mapping layers); otherwise each trainer runs its
own recipe: NVIDIA's `auto` at `--batch` (32), ours `--cfg cpu` as a user gets it (batch 8 with
self-conditioning on 32 clusters; `--ours-batch` / `--ours-option` change it).

Without `--data`, the 32x32 glyph set of `benchmarks/datasets.py` is built in the output directory.
`--skip-official` / `--skip-ours` reuse a finished side's run directory (scores only).
"""
import argparse
import functools
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from datasets import glyph_zip  # noqa: E402

RESOLUTION = 32
SNAPSHOT_TIME_FILE = "snapshot_times.json"

# Runs in NVIDIA's environment (torch), not ours; written next to its run at run time.
OFFICIAL_DRIVER = r'''
"""Runs NVIDIA's stylegan2-ada-pytorch on a CPU, or renders its snapshots (written by versus_official_training.py)."""
import json, os, sys, types
import numpy as np

repo, command, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.path.insert(0, repo)
import torch

if command == "train":
    import train as nvidia_train
    from training import training_loop

    class _NoEvent:  # CUDA timing events: no device to time on a CPU
        def __init__(self, *args, **kwargs): pass
        def record(self, *args, **kwargs): pass
        def synchronize(self): pass
        def elapsed_time(self, other): return 0.0

    class _CpuTorch(types.ModuleType):
        """`torch` as NVIDIA's loop sees it: the CPU as its device, no CUDA calls."""
        def __init__(self):
            super().__init__("torch")
            self.cuda = types.SimpleNamespace(Event=_NoEvent, current_stream=lambda *a: None,
                                              max_memory_allocated=lambda *a: 0, reset_peak_memory_stats=lambda *a: None)
        def __getattr__(self, name): return getattr(torch, name)
        @staticmethod
        def device(*args, **kwargs): return torch.device("cpu")

    torch.Tensor.pin_memory = lambda self, *args, **kwargs: self  # no pinned memory without CUDA
    torch.utils.data.Sampler.__init__ = lambda self, *args, **kwargs: None  # torch 2 dropped its data_source argument
    torch.set_num_threads(spec["threads"])
    _, args = nvidia_train.setup_training_loop_kwargs(
        data=spec["data"], cfg="auto", batch=spec["batch"], snap=1, metrics=[], seed=spec["seed"],
        workers=1, kimg=spec["kimg"])
    for kwargs in (args.G_kwargs.synthesis_kwargs, args.D_kwargs):
        kwargs.channel_base, kwargs.channel_max, kwargs.num_fp16_res = spec["cbase"], spec["cmax"], 0
    args.G_kwargs.mapping_kwargs.num_layers = spec["map"]
    args.data_loader_kwargs.pin_memory = False
    args.kimg_per_tick = spec["tick"]
    args.image_snapshot_ticks = None  # its 1024-image grid per tick would cost it minutes on a CPU; we render our own
    os.makedirs(spec["run_dir"], exist_ok=True)
    with open(os.path.join(spec["run_dir"], "training_options.json"), "w") as f:
        json.dump(args, f, indent=2)
    training_loop.torch = _CpuTorch()
    training_loop.training_loop(run_dir=spec["run_dir"], rank=0, **args)

elif command == "generate":
    import legacy
    for pkl, out in spec["snapshots"]:
        with open(pkl, "rb") as f:  # a snapshot this benchmark's own run wrote
            G = legacy.load_network_pkl(f)["G_ema"].eval().float()
        z = torch.from_numpy(np.random.RandomState(spec["seed"]).randn(spec["num"], G.z_dim).astype("float32"))
        with torch.no_grad():
            chunks = [G(chunk, torch.zeros([len(chunk), G.c_dim]), noise_mode="const") for chunk in z.split(256)]
        images = (torch.cat(chunks) * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
        np.save(out, images)
'''


def run_for(command, budget_seconds, log_path, run_dir, snapshot_pattern, env=None):
    """Runs `command` for `budget_seconds` of wall clock, then stops it (its whole process group).

    Records when each snapshot appeared (polling every few seconds) in `run_dir`/snapshot_times.json:
    `{name: seconds since the start}`; only snapshots inside the budget are scored."""
    start = time.time()
    seen = {}
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        try:
            while process.poll() is None and time.time() - start < budget_seconds:
                time.sleep(2)
                _note_snapshots(run_dir, snapshot_pattern, start, seen)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
    _note_snapshots(run_dir, snapshot_pattern, start, seen)
    if process.returncode not in (0, -signal.SIGTERM, -signal.SIGKILL) and not seen:
        raise SystemExit(f"Error: {command[1]} failed (exit {process.returncode}); see {log_path}")
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, SNAPSHOT_TIME_FILE), "w") as f:
        json.dump(seen, f, indent=1)
    return seen


def _note_snapshots(run_dir, pattern, start, seen):
    if not os.path.isdir(run_dir):
        return
    for name in os.listdir(run_dir):
        if pattern(name) and name not in seen:
            seen[name] = round(os.path.getmtime(os.path.join(run_dir, name)) - start, 1)


def _snapshot_kimg(name):
    return int("".join(ch for ch in name.split("network-snapshot-")[1] if ch.isdigit()))


def in_budget(run_dir, budget_seconds):
    """`(kimg, seconds, name)` of the run's snapshots written within the budget, oldest first."""
    with open(os.path.join(run_dir, SNAPSHOT_TIME_FILE)) as f:
        times = json.load(f)
    return sorted((_snapshot_kimg(name), seconds, name) for name, seconds in times.items()
                  if seconds <= budget_seconds)


def train_official(args, data, run_dir, budget):
    driver = os.path.join(args.outdir, "official_driver.py")
    with open(driver, "w") as f:
        f.write(OFFICIAL_DRIVER)
    spec = dict(data=os.path.abspath(data), run_dir=run_dir, batch=args.batch, cbase=args.cbase, cmax=args.cmax,
                map=2, tick=args.tick, seed=0, kimg=100000, threads=args.threads)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    command = [args.official_python, driver, os.path.abspath(args.official), "train", json.dumps(spec)]
    return run_for(command, budget, os.path.join(args.outdir, "official.log"), run_dir,
                   lambda n: n.startswith("network-snapshot-") and n.endswith(".pkl"), env)


def train_ours(args, data, run_dir, budget):
    command = [sys.executable, "-c", "from keras_stylegan.cli.main import cli; cli()", "train", "--data", data,
               "--outdir", run_dir, "--cfg", "cpu", "--cbase", str(args.cbase), "--cmax", str(args.cmax),
               "--kimg", "100000", "--tick", str(args.tick), "--snap", "1"]
    if args.ours_batch:
        command += ["--batch", str(args.ours_batch)]
    command += args.ours_option
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_NUM_INTEROP_THREADS="1",
               TF_NUM_INTRAOP_THREADS=str(args.threads))
    return run_for(command, budget, os.path.join(args.outdir, "ours.log"), run_dir,
                   lambda n: n.startswith("network-snapshot-") and os.path.isdir(os.path.join(run_dir, n)), env)


def official_images(args, run_dir, snapshots):
    """Renders NVIDIA's snapshots with its own code (in its environment) to .npy, then reads them."""
    outputs = [(os.path.join(run_dir, name), os.path.join(run_dir, name[:-4] + "-fakes.npy"))
               for _, _, name in snapshots]
    todo = [pair for pair in outputs if not os.path.exists(pair[1])]
    if todo:
        spec = dict(snapshots=todo, num=args.num, seed=1)
        subprocess.run([args.official_python, os.path.join(args.outdir, "official_driver.py"),
                        os.path.abspath(args.official), "generate", json.dumps(spec)], check=True)
    return [np.load(out) for _, out in outputs]


def our_images(args, run_dir, snapshots):
    from keras_stylegan.sampling import to_uint8
    from keras_stylegan.zoo import load

    images = []
    for _, _, name in snapshots:
        generator = load(os.path.join(run_dir, name))
        rng = np.random.RandomState(1)
        z = rng.randn(args.num, generator.z_dim).astype("float32")
        labels = None
        if generator.num_classes:
            labels = np.eye(generator.num_classes, dtype="float32")[_classes(args, rng, generator.num_classes)]
        images.append(np.concatenate([to_uint8(np.asarray(generator(
            z[i:i + 256], None if labels is None else labels[i:i + 256], noise_mode="const")))
            for i in range(0, len(z), 256)]))
    return images


def _classes(args, rng, num_classes):
    """Classes to draw, as often as the data's labels (uniform if the data has none)."""
    counts = _label_counts(args.data, num_classes)
    if counts is None:
        return rng.randint(num_classes, size=args.num)
    return rng.choice(num_classes, size=args.num, p=counts / counts.sum())


@functools.lru_cache(maxsize=None)
def _label_counts(data, num_classes):
    """Images per class in `data` (`None` without labels); read once per run, not once per snapshot."""
    from keras_stylegan.data.images import scan_source

    labels = scan_source(data).labels if data else None
    return np.bincount(list(labels.values()), minlength=num_classes) if labels else None


def score(name, snapshots, images, reals, args):
    from keras_stylegan.metrics import pixel_diversity, sliced_wasserstein_distance
    from keras_stylegan.sampling import image_grid, save_image

    rows = []
    for (kimg, seconds, snapshot), fakes in zip(snapshots, images):
        swd = sliced_wasserstein_distance(reals, fakes, seed=0)["swd_avg"]
        rows.append(dict(trainer=name, snapshot=snapshot, kimg=kimg, seconds=seconds, swd=swd,
                         diversity=pixel_diversity(fakes)))
        print(f"| {name} | {kimg} | {seconds / 60:.1f} | {swd:.1f} | {rows[-1]['diversity']:.3f} |", flush=True)
    if images:
        save_image(image_grid(images[-1][:64], 8), os.path.join(args.outdir, f"{name}-last-snapshot-grid.png"))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outdir", required=True)
    parser.add_argument("--official", help="checkout of NVlabs/stylegan2-ada-pytorch")
    parser.add_argument("--official-python", default="python3", help="Python of an environment with torch for it")
    parser.add_argument("--data", help="zip or folder of 32x32 grayscale images [default: build the glyph set]")
    parser.add_argument("--minutes", type=float, default=20.0, help="wall-clock budget of each trainer")
    parser.add_argument("--num", type=int, default=2048, help="generated and real images per SWD")
    parser.add_argument("--batch", type=int, default=32, help="NVIDIA's minibatch (its reference run: 32)")
    parser.add_argument("--ours-batch", type=int, default=None,
                        help="our minibatch [default: the cpu preset's, 8]")
    parser.add_argument("--cbase", type=int, default=2048)
    parser.add_argument("--cmax", type=int, default=128)
    parser.add_argument("--tick", type=int, default=2, help="kimg per tick (one snapshot per tick)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="CPU threads per trainer")
    parser.add_argument("--ours-option", action="append", default=[],
                        help="extra `kstylegan train` argument for our run (repeatable, e.g. --ours-option=--gamma=0.1)")
    parser.add_argument("--skip-official", action="store_true", help="score an existing official run only")
    parser.add_argument("--skip-ours", action="store_true", help="score an existing run of ours only")
    args = parser.parse_args()
    if not args.skip_official and not (args.official and os.path.isfile(os.path.join(args.official, "train.py"))):
        parser.exit(2, "Error: --official must be a checkout of NVlabs/stylegan2-ada-pytorch (with train.py)\n")
    if args.minutes <= 0 or args.num < 2 or args.tick < 1:
        parser.exit(2, "Error: --minutes must be > 0, --num >= 2 and --tick >= 1\n")
    os.makedirs(args.outdir, exist_ok=True)
    data = args.data
    if data is None:
        data = os.path.join(args.outdir, "glyphs32.zip")
        if not os.path.exists(data):
            print(f"Building the glyph set: {glyph_zip(data, RESOLUTION)} images in {data}", flush=True)
    budget = args.minutes * 60
    official_dir, ours_dir = os.path.join(args.outdir, "official"), os.path.join(args.outdir, "ours")
    if not args.skip_official:
        print(f"Training NVIDIA's stylegan2-ada-pytorch for {args.minutes:g} min ...", flush=True)
        train_official(args, data, official_dir, budget)
    if not args.skip_ours:
        print(f"Training ours (--cfg cpu) for {args.minutes:g} min ...", flush=True)
        train_ours(args, data, ours_dir, budget)

    from keras_stylegan.data.images import read_images
    from keras_stylegan.sampling import image_grid, save_image

    reals, _ = read_images(data, (RESOLUTION, RESOLUTION), channels=1)
    order = np.random.RandomState(0).permutation(len(reals))
    reals_a, reals_b = reals[order[: args.num]], reals[order[args.num: 2 * args.num]]
    from keras_stylegan.metrics import pixel_diversity, sliced_wasserstein_distance

    floor = None
    if len(reals_b) == len(reals_a):
        floor = sliced_wasserstein_distance(reals_a, reals_b, seed=0)["swd_avg"]
    save_image(image_grid(reals_a[:64], 8), os.path.join(args.outdir, "reals-grid.png"))
    print(f"\nData: {len(reals)} images; SWD x1e3 of two disjoint real sets of {args.num} (the floor): "
          f"{floor if floor is None else round(floor, 1)}; diversity of the data: {pixel_diversity(reals_a):.3f}")
    print("| trainer | kimg | minutes | SWD x1e3 | diversity |\n|---|---|---|---|---|")
    rows = []
    for name, run_dir, render in (("nvidia", official_dir, official_images), ("ours", ours_dir, our_images)):
        if not os.path.exists(os.path.join(run_dir, SNAPSHOT_TIME_FILE)):
            continue
        snapshots = in_budget(run_dir, budget)
        rows += score(name, snapshots, render(args, run_dir, snapshots), reals_a, args)
    print(f"\nSummary ({args.minutes:g} min each; mean of the last three snapshots inside the budget):")
    print("| trainer | kimg reached | SWD x1e3 | diversity |\n|---|---|---|---|")
    for name in ("nvidia", "ours"):
        last = [row for row in rows if row["trainer"] == name][-3:]
        if last:
            print(f"| {name} | {last[-1]['kimg']} | {np.mean([r['swd'] for r in last]):.1f} | "
                  f"{np.mean([r['diversity'] for r in last]):.3f} |")
    with open(os.path.join(args.outdir, "scores.json"), "w") as f:
        json.dump(dict(floor=floor, minutes=args.minutes, rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
