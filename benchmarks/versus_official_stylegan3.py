"""StyleGAN3 generator speed and peak memory on CPU against NVIDIA's stylegan3 code, side by side.

NVIDIA's code is not part of this project (its licence forbids copying it): clone it yourself and
give its path and the Python of a virtualenv that has torch (on CPU NVIDIA's `filtered_lrelu` and
`upfirdn2d` run their reference PyTorch code, no custom op is compiled):

    git clone https://github.com/NVlabs/stylegan3 /tmp/stylegan3
    python -m venv /tmp/torch-venv && /tmp/torch-venv/bin/pip install torch numpy scipy
    python benchmarks/versus_official_stylegan3.py --official /tmp/stylegan3 --python /tmp/torch-venv/bin/python

Both sides build the same generator with random weights: NVIDIA's defaults for `--cfg
stylegan3-t` / `stylegan3-r` (z and w 512, 2 mapping layers, channel_base 32768 and
channel_max 512 for T, 65536 and 1024 with 1x1 convolutions and radial filters for R), batch 1,
float32. Ours runs through `keras_stylegan.sampling.compiled_synthesis` (what the CLI uses),
NVIDIA's is `G.synthesis(ws)` in `eval()` under `torch.no_grad()`.

Speed: two worker processes stay alive, one per implementation; each round times both, in
alternating order (A B, B A, ...), so both see the same machine load. The table gives the
median of the per-round ratios `NVIDIA time / our time` (> 1: we are faster), their range and
the medians of the seconds per image. With `--one-at-a-time` each side of each round is a fresh
process started after the other ended (R at 1024² does not fit twice in 24 GB). Peak memory: the
maximum resident set size of a fresh process per side that builds the generator and synthesizes
one image (it includes each framework's own baseline, also printed: the RSS after importing the
framework).
"""
import argparse
import itertools
import json
import os
import resource
import statistics
import sys
import time

from versus_official import Worker  # same directory: the JSON-lines worker protocol

CONFIGS = {  # NVIDIA's train.py defaults: config -> (channel_base, channel_max, conv_kernel, radial)
    "t": (32768, 512, 3, False),
    "r": (65536, 1024, 1, True),
}


def _version_tuple(text):
    """`"2.5.1+cpu"` -> `(2, 5, 1)`: the leading numbers of each dotted part."""
    numbers = []
    for part in text.split("+")[0].split("."):
        digits = "".join(itertools.takewhile(str.isdigit, part))
        if not digits:
            break
        numbers.append(int(digits))
    return tuple(numbers)


def _official_worker(official_path):
    sys.path.insert(0, official_path)
    try:
        import pkg_resources  # noqa: F401  (NVIDIA's torch_utils imports its parse_version)
    except ImportError:  # setuptools >= 81 has no pkg_resources: give NVIDIA's code the one function it uses
        import types
        sys.modules["pkg_resources"] = types.SimpleNamespace(parse_version=_version_tuple)
    import numpy as np
    import torch
    from training import networks_stylegan3

    torch.set_grad_enabled(False)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def setup(case):
        torch.manual_seed(0)
        channel_base, channel_max, conv_kernel, radial = CONFIGS[case["config"]]
        g = networks_stylegan3.Generator(
            z_dim=512, c_dim=0, w_dim=512, img_resolution=case["resolution"], img_channels=3,
            mapping_kwargs=dict(num_layers=2), channel_base=channel_base, channel_max=channel_max,
            conv_kernel=conv_kernel, use_radial_filters=radial).eval().requires_grad_(False)
        z = torch.from_numpy(np.random.RandomState(0).randn(case["batch"], 512).astype("float32"))
        ws = g.mapping(z, None)
        return lambda: g.synthesis(ws).numpy()

    return setup, baseline


def _our_worker():
    import keras
    import numpy as np

    import keras_stylegan
    from keras_stylegan.sampling import compiled_synthesis

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def setup(case):
        keras.utils.set_random_seed(0)
        g = keras_stylegan.Generator(architecture="stylegan3", block_architecture=case["config"],
                                     resolution=case["resolution"])
        z = np.random.RandomState(0).randn(case["batch"], 512).astype("float32")
        ws = np.asarray(g.mapping(z))
        synthesis = compiled_synthesis(g)
        return lambda: synthesis(ws)

    return setup, baseline


def _serve(worker, args):
    """Answers one JSON line per command read from stdin."""
    out = sys.stdout
    sys.stdout = sys.stderr  # library chatter must not corrupt the protocol
    setup, baseline = _official_worker(args.official) if worker == "official" else _our_worker()
    run = None
    for line in sys.stdin:
        command = json.loads(line)
        if command["op"] == "setup":
            run = None  # free the previous model first
            run = setup(command["case"])
            run()  # trace, allocate and warm up
            reply = {}
        elif command["op"] == "time":
            start = time.perf_counter()
            for _ in range(command["iterations"]):
                run()
            reply = {"seconds": (time.perf_counter() - start) / command["iterations"]}
        elif command["op"] == "rss":
            run = setup(command["case"])
            run()
            reply = {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                     "baseline_mb": baseline}
        else:
            raise ValueError(f"unknown op {command['op']!r}")
        out.write(json.dumps(reply) + "\n")
        out.flush()


def _worker(name, python, args):
    """A worker process running this script's `--worker NAME` (the driver's Worker of versus_official.py)."""
    return Worker(name, [python, os.path.abspath(__file__), "--worker", name, "--official", args.official,
                         "--python", python])


def _parse_cases(text):
    cases = []
    for item in text.split(","):
        config, _, resolution = item.strip().partition("@")
        if config not in CONFIGS or not resolution.isdigit():
            raise SystemExit(f"Error: --cases items are CONFIG@RESOLUTION with CONFIG t or r, e.g. t@256. "
                             f"Received: {item!r}")
        cases.append(dict(config=config, resolution=int(resolution), batch=1))
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", required=True, help="a checkout of NVlabs/stylegan3")
    parser.add_argument("--python", required=True, help="a Python with torch, to run NVIDIA's code")
    parser.add_argument("--cases", default="t@256,r@256,t@1024,r@1024", help="CONFIG@RESOLUTION, comma-separated")
    parser.add_argument("--repeats", type=int, default=3,
                        help="A/B rounds per case (the median is shown); 0: peak memory only")
    parser.add_argument("--iterations", type=int, default=1, help="timed images per worker per round")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-RSS processes")
    parser.add_argument("--one-at-a-time", action="store_true",
                        help="a fresh worker per side and round, never two alive at once (R at 1024² needs "
                             "more memory than both workers together can have on 24 GB)")
    parser.add_argument("--worker", choices=["official", "ours"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return _serve(args.worker, args)
    if not os.path.isfile(os.path.join(args.official, "training", "networks_stylegan3.py")):
        raise SystemExit(f"Error: {args.official} is not a stylegan3 checkout (no training/networks_stylegan3.py)")
    cases = _parse_cases(args.cases)

    if args.repeats > 0:
        _time_cases(cases, args)
    if not args.no_memory:
        _memory_cases(cases, args)


def _time_cases(cases, args):
    print("| StyleGAN3 G, batch 1, CPU | NVIDIA time / our time (median) | min-max | s/image NVIDIA, ours |")
    print("|---|---|---|---|", flush=True)
    sides = [("official", args.python), ("ours", sys.executable)]
    # Long-lived workers (one per side, set up once per case), or a fresh process per timing.
    workers = None if args.one_at_a_time else [_worker(name, python, args) for name, python in sides]

    def timed(index, case):
        if workers:
            return workers[index].ask(op="time", iterations=args.iterations)["seconds"]
        worker = _worker(*sides[index], args)
        try:
            worker.ask(op="setup", case=case)
            return worker.ask(op="time", iterations=args.iterations)["seconds"]
        finally:
            worker.close()

    try:
        for case in cases:
            for worker in workers or ():
                worker.ask(op="setup", case=case)
            seconds = {name: [] for name, _ in sides}
            ratios = []
            for round_index in range(args.repeats):
                for index in (0, 1) if round_index % 2 == 0 else (1, 0):
                    seconds[sides[index][0]].append(timed(index, case))
                ratios.append(seconds["official"][-1] / seconds["ours"][-1])
            name = f"{case['config'].upper()} {case['resolution']}²"
            print(f"| {name} synthesis | {statistics.median(ratios):.2f}x | {min(ratios):.2f}-{max(ratios):.2f} | "
                  f"{statistics.median(seconds['official']):.2f}, {statistics.median(seconds['ours']):.2f} |",
                  flush=True)
    finally:
        for worker in workers or ():
            worker.close()


def _memory_cases(cases, args):
    """One fresh process per side and case, one after the other (so each has the machine's memory)."""
    print("\n| StyleGAN3 G, batch 1, CPU | peak RSS NVIDIA / ours | NVIDIA MB (baseline) | ours MB (baseline) |")
    print("|---|---|---|---|", flush=True)
    for case in cases:
        peaks = {}
        for name, python in (("official", args.python), ("ours", sys.executable)):
            worker = _worker(name, python, args)
            try:
                peaks[name] = worker.ask(op="rss", case=case)
            finally:
                worker.close()
        official, ours = peaks["official"], peaks["ours"]
        print(f"| {case['config'].upper()} {case['resolution']}² | {official['peak_rss_mb'] / ours['peak_rss_mb']:.2f}x "
              f"| {official['peak_rss_mb']:.0f} ({official['baseline_mb']:.0f}) "
              f"| {ours['peak_rss_mb']:.0f} ({ours['baseline_mb']:.0f}) |", flush=True)


if __name__ == "__main__":
    main()
