"""Speed and memory against NVIDIA's stylegan2-ada-pytorch, side by side, as ratios.

NVIDIA's code is not part of this project (its licence forbids copying it): clone it yourself and
give its path and the Python of a virtualenv that has torch (CPU is fine: NVIDIA's custom ops fall
back to their reference code there):

    git clone https://github.com/NVlabs/stylegan2-ada-pytorch /tmp/sg2ada
    python -m venv /tmp/torch-venv && /tmp/torch-venv/bin/pip install torch numpy click requests pillow scipy
    python benchmarks/versus_official.py --official /tmp/sg2ada --python /tmp/torch-venv/bin/python

Two worker processes stay alive for the whole run, one per implementation, each building the same
architecture with random weights. Every case is timed A, B, B, A, A, B... (`--repeats` rounds), so
both see the same machine load; the table shows the median of the per-round ratios
`NVIDIA time / our time` (> 1: we are faster) and their spread. Absolute times on a shared machine
are noise and are not printed. Peak memory (RSS) is measured in a fresh process per side.

Cases (float32 unless named, noise const, NVIDIA in `eval()` mode under `torch.no_grad()`):
- synthesis `ws -> image`: ours through `keras_stylegan.sampling.compiled_synthesis` (what
  `generate_images`, `synthesize` and the CLI use); 256² (channel_base 16384) and 1024²
  (config-f, channel_base 32768), batch 1 and 8;
- at 256² batch 1 also: the plain Keras call `g(z)` (eager) and `Generator(dtype="mixed_bfloat16")`
  through `compiled_synthesis` (with its max |error| against float32, in units of the image std);
- a training step (G and D forward + backward and Adam, lazy R1 every 16 and path length every 4
  steps, EMA), weighted as 12 plain + 3 path-length + 1 R1-and-path-length steps of 16, at 64²
  (batch 8) and 256² (batch 2), channel_base 16384, channel_max 512, D resnet, no augmentation;
- peak RSS at 1024² batch 1 (model built, two synthesis calls).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

SYNTHESIS_CASES = {  # name: (resolution, channel_base, batch)
    "synthesis 256² batch 1": (256, 16384, 1),
    "synthesis 256² batch 8": (256, 16384, 8),
    "synthesis 1024² batch 1": (1024, 32768, 1),
    "synthesis 1024² batch 8": (1024, 32768, 8),
}
TRAINING_CASES = {  # name: (resolution, batch)
    "training step 64² batch 8": (64, 8),
    "training step 256² batch 2": (256, 2),
}
R1_INTERVAL, PL_INTERVAL = 16, 4
# Of 16 steps: 12 plain, 3 with path length only, 1 with both (R1 and path length).
STEP_MIX = {"plain": 12 / 16, "pl": 3 / 16, "both": 1 / 16}


# ----------------------------------------------------------------------------------------------
# Workers: one per implementation, driven by JSON lines on stdin/stdout.

def _official_worker(official_path):
    sys.path.insert(0, official_path)
    import copy

    import numpy as np
    import torch
    from training import loss as official_loss
    from training import networks

    torch.set_grad_enabled(False)
    state = {}

    def build_generator(resolution, channel_base):
        return networks.Generator(
            z_dim=512, c_dim=0, w_dim=512, img_resolution=resolution, img_channels=3,
            mapping_kwargs=dict(num_layers=8),
            synthesis_kwargs=dict(channel_base=channel_base, channel_max=512, num_fp16_res=0, conv_clamp=None))

    def setup(case):
        state.clear()
        torch.manual_seed(0)
        if case["kind"] in ("synthesis", "rss"):
            g = build_generator(case["resolution"], case["channel_base"]).eval().requires_grad_(False)
            z = torch.from_numpy(np.random.RandomState(0).randn(case["batch"], 512).astype("float32"))
            ws = g.mapping(z, None)
            state["run"] = lambda: g.synthesis(ws, noise_mode="const")
        else:
            resolution, batch = case["resolution"], case["batch"]
            g = build_generator(resolution, 16384).train().requires_grad_(False)
            d = networks.Discriminator(
                c_dim=0, img_resolution=resolution, img_channels=3, channel_base=16384, channel_max=512,
                num_fp16_res=0, conv_clamp=None, epilogue_kwargs=dict(mbstd_group_size=min(4, batch))
            ).train().requires_grad_(False)
            g_ema = copy.deepcopy(g).eval()
            loss = official_loss.StyleGAN2Loss(device=torch.device("cpu"), G_mapping=g.mapping,
                                               G_synthesis=g.synthesis, D=d, r1_gamma=1.0, pl_weight=2.0)
            phases = []
            for name, module, interval in (("G", g, PL_INTERVAL), ("D", d, R1_INTERVAL)):
                ratio = interval / (interval + 1)  # NVIDIA's lazy-regularization Adam correction
                opt = torch.optim.Adam(module.parameters(), lr=0.0025 * ratio, betas=(0.0, 0.99 ** ratio), eps=1e-8)
                phases += [(name + "main", module, opt, 1), (name + "reg", module, opt, interval)]
            reals = torch.from_numpy(np.random.RandomState(1).uniform(-1, 1, [batch, 3, resolution, resolution])
                                     .astype("float32"))
            empty_c = torch.zeros([batch, 0])

            def step(kind):
                with torch.enable_grad():
                    for name, module, opt, interval in phases:
                        if name == "Greg" and kind == "plain" or name == "Dreg" and kind != "both":
                            continue
                        opt.zero_grad(set_to_none=True)
                        module.requires_grad_(True)
                        loss.accumulate_gradients(phase=name, real_img=reals, real_c=empty_c,
                                                  gen_z=torch.randn([batch, 512]), gen_c=empty_c, sync=True,
                                                  gain=interval)
                        module.requires_grad_(False)
                        for param in module.parameters():
                            if param.grad is not None:
                                torch.nan_to_num(param.grad, nan=0, posinf=1e5, neginf=-1e5, out=param.grad)
                        opt.step()
                beta = 0.5 ** (batch / 10000.0)
                for p_ema, p in zip(g_ema.parameters(), g.parameters()):
                    p_ema.copy_(p.lerp(p_ema, beta))

            state["step"] = step
        return {}

    return setup, state


def _our_worker():
    import numpy as np
    import tensorflow as tf

    import keras_stylegan
    from keras_stylegan.sampling import compiled_synthesis

    state = {}

    def setup(case):
        state.clear()
        tf.random.set_seed(0)
        if case["kind"] in ("synthesis", "rss"):
            g = keras_stylegan.Generator(resolution=case["resolution"], channel_base=case["channel_base"])
            z = np.random.RandomState(0).randn(case["batch"], 512).astype("float32")
            ws = np.asarray(g.mapping(z))
            variant = case.get("variant", "compiled")
            info = {}
            if variant == "eager":
                state["run"] = lambda: np.asarray(g(z, noise_mode="const"))
            elif variant == "bf16":
                g16 = keras_stylegan.Generator(resolution=case["resolution"], channel_base=case["channel_base"],
                                               dtype="mixed_bfloat16")
                g16.set_weights(g.get_weights())
                reference = compiled_synthesis(g)(ws)
                synthesis = compiled_synthesis(g16)
                images = synthesis(ws)
                info["max_error_in_std"] = float(np.max(np.abs(images - reference)) / np.std(reference))
                state["run"] = lambda: synthesis(ws)
            else:
                synthesis = compiled_synthesis(g)
                state["run"] = lambda: synthesis(ws)
            return info
        from keras_stylegan import Discriminator
        from keras_stylegan.training.stylegan import StyleGAN

        resolution, batch = case["resolution"], case["batch"]
        g = keras_stylegan.Generator(resolution=resolution, channel_base=16384, name="generator")
        d = Discriminator(resolution=resolution, channel_base=16384, mbstd_group_size=min(4, batch),
                          name="discriminator")
        gan = StyleGAN(g, d, r1_gamma=1.0, r1_interval=R1_INTERVAL, pl_interval=PL_INTERVAL)
        gan.compile()
        train_step = tf.function(gan.train_step)
        reals = tf.constant(np.random.RandomState(1).uniform(-1, 1, [batch, resolution, resolution, 3])
                            .astype("float32"))
        first_step = {"plain": 1, "pl": PL_INTERVAL, "both": 0}  # step % interval == 0 turns a regularizer on

        def step(kind):
            gan.step.assign(first_step[kind])
            logs = train_step(reals)
            float(logs["g_loss"])  # wait for the step

        state["step"] = step
        return {}

    return setup, state


def _serve(worker, args):
    """Reads commands from stdin, answers one JSON line each on the real stdout."""
    out = sys.stdout
    sys.stdout = sys.stderr  # library chatter must not corrupt the protocol
    setup, state = _official_worker(args.official) if worker == "official" else _our_worker()
    for line in sys.stdin:
        command = json.loads(line)
        if command["op"] == "setup":
            reply = setup(command["case"])
            for kind in _step_weights(command["case"]):  # trace, allocate and warm up
                _run_once(state, kind)
        elif command["op"] == "time":
            start = time.perf_counter()
            for _ in range(command["iterations"]):
                _run_once(state, command["step_kind"])
            reply = {"seconds": (time.perf_counter() - start) / command["iterations"]}
        elif command["op"] == "rss":
            setup(command["case"])
            _run_once(state, "plain")
            _run_once(state, "plain")
            reply = {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
        else:
            raise ValueError(f"unknown op {command['op']!r}")
        out.write(json.dumps(reply) + "\n")
        out.flush()


def _step_weights(case):
    """The kinds of call a case times, each with its weight in the case's total."""
    return STEP_MIX if case["kind"] == "training" else {"plain": 1.0}


def _run_once(state, kind):
    if "run" in state:
        state["run"]()
    else:
        state["step"](kind)


# ----------------------------------------------------------------------------------------------
# Driver.

class Worker:
    def __init__(self, name, command):
        self.name = name
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))

    def ask(self, **command):
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"Error: the {self.name} worker stopped (see its messages above)")
        return json.loads(line)

    def close(self):
        self.process.stdin.close()
        self.process.wait()


def _worker_command(python, worker, args):
    return [python, os.path.abspath(__file__), "--worker", worker, "--official", args.official, "--python", python]


def _time_case(workers, case, repeats, iterations):
    """Per-round ratios NVIDIA time / our time, our setup's info, and the median ratio per step kind."""
    infos = [worker.ask(op="setup", case=case) for worker in workers]
    ratios = []
    weights = _step_weights(case)
    kind_ratios = {kind: [] for kind in weights}
    for round_index in range(repeats):
        order = workers if round_index % 2 == 0 else workers[::-1]
        seconds = {}
        for worker in order:
            seconds[worker.name] = {kind: worker.ask(op="time", step_kind=kind, iterations=iterations)["seconds"]
                                    for kind in weights}
        totals = {name: sum(weights[kind] * value for kind, value in by_kind.items())
                  for name, by_kind in seconds.items()}
        ratios.append(totals["official"] / totals["ours"])
        for kind in kind_ratios:
            kind_ratios[kind].append(seconds["official"][kind] / seconds["ours"][kind])
    return ratios, infos[1], {kind: statistics.median(values) for kind, values in kind_ratios.items()}


def _peak_rss(python, worker, args, case):
    process = Worker(worker, _worker_command(python, worker, args))
    try:
        return process.ask(op="rss", case=case)["peak_rss_mb"]
    finally:
        process.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", required=True, help="a checkout of NVlabs/stylegan2-ada-pytorch")
    parser.add_argument("--python", required=True, help="a Python with torch, to run NVIDIA's code")
    parser.add_argument("--repeats", type=int, default=3, help="A/B rounds per case (the median is shown)")
    parser.add_argument("--iterations", type=int, default=2, help="timed calls per worker per round")
    parser.add_argument("--cases", default="all",
                        help="comma-separated subset of: synthesis, 1024b8, variants, training, memory")
    parser.add_argument("--worker", choices=["official", "ours"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return _serve(args.worker, args)
    if not os.path.isfile(os.path.join(args.official, "training", "networks.py")):
        raise SystemExit(f"Error: {args.official} is not a stylegan2-ada-pytorch checkout (no training/networks.py)")
    wanted = {"synthesis", "variants", "training", "memory"} if args.cases == "all" else set(args.cases.split(","))

    rows = []
    print("| case | NVIDIA time / our time (median) | min-max | note |")
    print("|---|---|---|---|", flush=True)

    def report(name, ratios, note=""):
        line = f"| {name} | {statistics.median(ratios):.2f}x | {min(ratios):.2f}-{max(ratios):.2f} | {note} |"
        rows.append(line)
        print(line, flush=True)

    workers = [Worker("official", _worker_command(args.python, "official", args)),
               Worker("ours", _worker_command(sys.executable, "ours", args))]
    try:
        for name, (resolution, channel_base, batch) in SYNTHESIS_CASES.items():
            if "synthesis" not in wanted or ("batch 8" in name and resolution == 1024 and "1024b8" not in wanted):
                continue
            case = dict(kind="synthesis", resolution=resolution, channel_base=channel_base, batch=batch)
            ratios, _, _ = _time_case(workers, case, args.repeats, args.iterations)
            report(name + ", compiled float32", ratios, "`compiled_synthesis`: generate_images, the CLI")
        if "variants" in wanted:
            base = dict(kind="synthesis", resolution=256, channel_base=16384, batch=1)
            ratios, _, _ = _time_case(workers, dict(base, variant="eager"), args.repeats, args.iterations)
            report("synthesis 256² batch 1, eager `g(z)`", ratios, "the plain Keras call")
            ratios, info, _ = _time_case(workers, dict(base, variant="bf16"), args.repeats, args.iterations)
            report("synthesis 256² batch 1, mixed_bfloat16", ratios,
                   f"max error {info['max_error_in_std']:.2g} x image std vs float32")
        if "training" in wanted:
            for name, (resolution, batch) in TRAINING_CASES.items():
                case = dict(kind="training", resolution=resolution, batch=batch)
                ratios, _, by_kind = _time_case(workers, case, args.repeats, 1)
                kinds = ", ".join(f"{kind} {ratio:.2f}x" for kind, ratio in by_kind.items())
                report(name, ratios, f"G+D fwd+bwd, Adam, lazy R1/16 and path length/4, EMA; by step: {kinds}")
    finally:
        for worker in workers:
            worker.close()
    if "memory" in wanted:
        case = dict(kind="rss", resolution=1024, channel_base=32768, batch=1)
        official = _peak_rss(args.python, "official", args, case)
        ours = _peak_rss(sys.executable, "ours", args, case)
        line = f"| peak RSS 1024² batch 1: NVIDIA / ours | {official / ours:.2f}x | | NVIDIA {official:.0f} MB, " \
               f"ours {ours:.0f} MB |"
        print(line, flush=True)


if __name__ == "__main__":
    main()
