"""Runs every save of the library once with a full disk, in a process of its own; prints JSON results.

Usage: python full_disk_worker.py WORKDIR PICKLE      (every save)
       python full_disk_worker.py WORKDIR --train     (a `kstylegan train` run resumed on a full disk)

A full disk is simulated without root: `RLIMIT_FSIZE` (the largest file this process may write)
is lowered below every output's size and `SIGXFSZ` ignored, so a write past the limit fails with
`EFBIG` exactly where a full disk fails with `ENOSPC`. Each scenario first writes a previous
version without the limit, then saves again with it, and reports what it saw: the exception (or
the CLI's exit code and output) and a fingerprint of the directory before and after.
"""
import json
import os
import resource
import signal
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/, for the helpers

import numpy as np  # noqa: E402

from robustness.helpers import fingerprint  # noqa: E402

LIMIT = 200  # bytes: every output below is larger


class FullDisk:
    def __init__(self, limit=LIMIT):
        self.limit = limit

    def __enter__(self):
        self.original = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.limit, self.original[1]))  # lowering needs no root

    def __exit__(self, *exc):
        resource.setrlimit(resource.RLIMIT_FSIZE, self.original)


def tiny_generator(seed):
    from keras_stylegan import Generator

    g = Generator(resolution=8, channels=3, z_dim=8, w_dim=8, channel_base=32, channel_max=8, mapping_layers=1)
    g.mapping.w_avg.assign(np.full([8], float(seed), "float32"))
    return g


class FakeGan:
    """What `save_checkpoint` reads of a StyleGAN: named variables (here 40 KB of them)."""

    def __init__(self, seed):
        import keras

        rng = np.random.RandomState(seed)
        self.variables = {f"generator/{i}": keras.Variable(rng.randn(1000).astype("float32")) for i in range(10)}

    def state_variables(self):
        return self.variables


def fake_saved_model(path):
    """A previous version folder as TF writes one (its content does not matter here, only that it survives)."""
    os.makedirs(os.path.join(path, "variables"))
    for name in ("saved_model.pb", "fingerprint.pb", "variables/variables.index"):
        with open(os.path.join(path, name), "wb") as f:
            f.write(os.urandom(300))


def run_api(directory, save_previous, save):
    save_previous()
    before = fingerprint(directory)
    error = None
    with FullDisk():
        try:
            save()
        except BaseException as e:  # report anything: the test decides what is acceptable
            error = {"type": type(e).__name__, "is_oserror": isinstance(e, OSError), "message": str(e),
                     "traceback": traceback.format_exc()}
    return {"before": before, "after": fingerprint(directory), "error": error}


def guarded(run, *args):
    """One scenario's results, or what stopped it (so each test reports its own scenario)."""
    try:
        return run(*args)
    except BaseException:
        return {"worker_error": traceback.format_exc()}


def run_cli(directory, args_previous, args):
    from click.testing import CliRunner

    from keras_stylegan.cli.main import cli

    previous = CliRunner().invoke(cli, args_previous)
    assert previous.exit_code == 0, previous.output
    before = fingerprint(directory)
    with FullDisk():
        result = CliRunner().invoke(cli, args)
    return {"before": before, "after": fingerprint(directory), "exit_code": result.exit_code,
            "output": result.output, "exception": repr(result.exception)}


def main(workdir, pickle_path):
    from keras_stylegan import sampling
    from keras_stylegan.export import export_saved_model
    from keras_stylegan.training.checkpoint import save_checkpoint
    from keras_stylegan.zoo.presets import save_preset

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a killed process
    results = {}

    def place(name):
        path = os.path.join(workdir, name)
        os.makedirs(path)
        return path

    d = place("checkpoint")
    checkpoint = os.path.join(d, "checkpoint.h5")
    results["checkpoint"] = guarded(run_api, d, lambda: save_checkpoint(checkpoint, FakeGan(0)),
                                    lambda: save_checkpoint(checkpoint, FakeGan(1)))
    d = place("preset")
    preset = os.path.join(d, "p")
    results["preset"] = guarded(run_api, d, lambda: save_preset(preset, tiny_generator(0)),
                                lambda: save_preset(preset, tiny_generator(1), overwrite=True))
    d = place("image")
    image = np.random.RandomState(0).randint(0, 256, [16, 16, 3]).astype(np.uint8)
    grid = os.path.join(d, "grid.png")
    results["image"] = guarded(run_api, d, lambda: sampling.save_image(image, grid),
                               lambda: sampling.save_image(255 - image, grid))
    d = place("animation")
    walk = os.path.join(d, "walk.gif")
    results["animation"] = guarded(run_api, d, lambda: sampling.save_animation([image, image], walk),
                                   lambda: sampling.save_animation([image, 255 - image], walk))
    d = place("savedmodel")
    results["savedmodel"] = guarded(run_api, d, lambda: fake_saved_model(os.path.join(d, "1")),
                                    lambda: export_saved_model(tiny_generator(1), d, overwrite=True))
    d = place("directions")
    np.savez(os.path.join(workdir, "labels.npz"), ws=np.random.RandomState(0).randn(20, 8),
             labels=np.arange(20) % 2)
    args = ["directions", "--method", "labels", "--labels", os.path.join(workdir, "labels.npz"),
            "--out", os.path.join(d, "dirs.npz")]
    results["directions_cli"] = guarded(run_cli, d, args, args)
    d = place("sample")
    args = ["sample", "--seeds", "0-1", "--model", preset, "--out", os.path.join(d, "grid.png")]
    results["sample_cli"] = guarded(run_cli, d, args, args[:2] + ["2-3"] + args[3:])
    d = place("convert")
    args = ["zoo", "convert", pickle_path, os.path.join(d, "p"), "--no-discriminator"]
    results["convert_cli"] = guarded(run_cli, d, args, args + ["--overwrite"])
    print(json.dumps(results))


def main_train(workdir, limit=16_000):
    """A run's first tick without a limit, then its resume with a disk too full for the next checkpoint."""
    from PIL import Image

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    data = os.path.join(workdir, "data")
    os.makedirs(data)
    for i, image in enumerate(np.random.RandomState(0).randint(0, 256, [8, 8, 8, 3]).astype(np.uint8)):
        Image.fromarray(image).save(os.path.join(data, f"{i}.png"))
    run = os.path.join(workdir, "run")
    tiny = ["train", "--data", data, "--outdir", run, "--resolution", "8", "--cmax", "8", "--cbase", "32",
            "--zdim", "8", "--wdim", "8", "--map", "1", "--batch", "4", "--tick", "0.008", "--snap", "100",
            "--aug", "none"]
    first = run_cli_limited(run, tiny + ["--kimg", "0.008"], None)
    assert first["exit_code"] == 0, first
    # The limit is above the small files a tick also writes (stats line, grid), below the checkpoint.
    assert os.path.getsize(os.path.join(run, "checkpoint.h5")) > limit
    print(json.dumps({"train_cli": guarded(run_cli_limited, run, tiny + ["--kimg", "0.016"], limit)}))


def run_cli_limited(directory, args, limit):
    from click.testing import CliRunner

    from keras_stylegan.cli.main import cli

    before = fingerprint(directory) if os.path.isdir(directory) else {}
    if limit:
        with FullDisk(limit):
            result = CliRunner().invoke(cli, args)
    else:
        result = CliRunner().invoke(cli, args)
    return {"before": before, "after": fingerprint(directory), "exit_code": result.exit_code,
            "output": result.output, "exception": repr(result.exception)}


if __name__ == "__main__":
    if sys.argv[2] == "--train":
        main_train(sys.argv[1])
    else:
        main(*sys.argv[1:])
