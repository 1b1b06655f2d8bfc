"""Generator speed on each Keras backend installed: eager and compiled, relative to TensorFlow compiled.

Each backend runs in its own process (`KERAS_BACKEND` is fixed when Keras loads), on the same
StyleGAN2 generator (random weights, `noise_mode="const"`). "compiled" is what the sampling
functions use (`keras_stylegan.sampling.compiled_synthesis`): `tf.function` on TensorFlow,
`jax.jit` on JAX, the eager network under `torch.no_grad()` on PyTorch; `--torch-compile` also
tries `torch.compile` (inductor, CPU). Nothing is asserted: it prints figures.

    python benchmarks/backends_speed.py --resolution 256 --batch 1
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

BACKENDS = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def _rate(run, ws, batch, min_seconds):
    """Images/second of `run(ws)` after one warm-up call (which also compiles), and that first call's time."""
    start = time.perf_counter()
    run(ws)
    first = time.perf_counter() - start
    runs, start = 0, time.perf_counter()
    while True:
        run(ws)
        runs += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds and runs >= 2:
            return runs * batch / elapsed, first


def worker(args):
    import keras
    import numpy as np
    from keras import ops

    from keras_stylegan import Generator
    from keras_stylegan.sampling import compiled_synthesis, map_seeds

    start = time.perf_counter()
    g = Generator(resolution=args.resolution, channel_base=args.channel_base, channel_max=args.channel_max)
    build = time.perf_counter() - start
    ws = map_seeds(g, list(range(args.batch)))
    network = g.synthesis
    result = {"backend": keras.backend.backend(), "build_s": build}
    result["eager"], result["eager_first_s"] = _rate(
        lambda w: ops.convert_to_numpy(network(w, noise_mode="const")), ws, args.batch, args.min_seconds)
    result["compiled"], result["compiled_first_s"] = _rate(compiled_synthesis(g), ws, args.batch, args.min_seconds)
    if args.torch_compile and result["backend"] == "torch":
        import torch

        try:
            compiled = torch.compile(lambda w: network(w, noise_mode="const"))

            def run(w):
                with torch.no_grad():
                    return ops.convert_to_numpy(compiled(np.asarray(w)))

            result["torch.compile"], result["torch.compile_first_s"] = _rate(run, ws, args.batch, args.min_seconds)
        except Exception as e:  # report why, as a figure: nothing here is asserted
            result["torch.compile_error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
    result["tensorflow_imported"] = "tensorflow" in sys.modules
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--channel-base", type=int, default=None, help="default: the library's (config-f)")
    parser.add_argument("--channel-max", type=int, default=512)
    parser.add_argument("--min-seconds", type=float, default=10.0)
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS))
    parser.add_argument("--torch-compile", action="store_true", help="also time torch.compile on the torch backend")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    results = []
    for backend in args.backends:
        if importlib.util.find_spec(BACKENDS[backend]) is None:
            print(f"{backend}: not installed (pip install 'keras-stylegan[backends]')", file=sys.stderr)
            continue
        command = [sys.executable, __file__, "--worker"] + [a for a in sys.argv[1:] if a != "--worker"]
        out = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "KERAS_BACKEND": backend})
        if out.returncode:
            print(f"{backend}: failed: {out.stderr.strip().splitlines()[-1]}", file=sys.stderr)
            continue
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    base = next((r["compiled"] for r in results if r["backend"] == "tensorflow"), None)
    print(f"{args.resolution}x{args.resolution}, batch {args.batch}, channel_base {args.channel_base or 'default'}, "
          f"{os.cpu_count()} CPU cores; img/s (ratio to TensorFlow compiled)")
    print("| backend | build s | eager img/s | compiled img/s | first compiled call s | TensorFlow imported |")
    print("|---|---|---|---|---|---|")
    for r in results:
        ratio = (lambda v: f" ({v / base:.2f}x)") if base else (lambda v: "")
        compiled = f"{r['compiled']:.2f}{ratio(r['compiled'])}"
        if "torch.compile" in r:
            compiled += f"; torch.compile {r['torch.compile']:.2f}{ratio(r['torch.compile'])}, " \
                        f"first call {r['torch.compile_first_s']:.1f} s"
        elif "torch.compile_error" in r:
            compiled += f"; torch.compile failed: {r['torch.compile_error']}"
        print(f"| {r['backend']} | {r['build_s']:.1f} | {r['eager']:.2f}{ratio(r['eager'])} | {compiled} | "
              f"{r['compiled_first_s']:.1f} | {r['tensorflow_imported']} |")


if __name__ == "__main__":
    main()
