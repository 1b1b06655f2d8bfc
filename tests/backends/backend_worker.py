"""Runs the tiny models of the backend-parity test on whatever backend Keras was started with.

    KERAS_BACKEND=jax python backend_worker.py PRESET_DIR PICKLE OUT.npz [CLI_OUTDIR]

Writes float images (and discriminator scores) to OUT.npz, plus `tensorflow_imported`. The
parent test calls `run_models` in its own (TensorFlow) process for the reference.
"""
import json
import os
import sys

import numpy as np

GENERATOR_CONFIG = "generator_config.json"  # constructor arguments of the pickle's generator, next to it
SEEDS = [0, 1, 2]
PSI = 0.7


def _float_images(generator):
    from keras import ops

    from keras_stylegan.sampling import compiled_synthesis, map_seeds

    ws = map_seeds(generator, SEEDS, psi=PSI)
    eager = ops.convert_to_numpy(generator.synthesis(ws, noise_mode="const"))
    return ws, eager, compiled_synthesis(generator)(ws)


def run_models(preset_dir, pickle_path):
    """`{name: array}` of everything the parity test compares across backends."""
    from keras import ops

    from keras_stylegan import Generator, zoo

    out = {}
    g, d = zoo.load(preset_dir, discriminator=True)
    out["preset_ws"], out["preset_images"], out["preset_compiled"] = _float_images(g)
    out["preset_dscore"] = ops.convert_to_numpy(d(out["preset_images"]))

    g, d = zoo.load(pickle_path, discriminator=True)
    out["pickle_ws"], out["pickle_images"], out["pickle_compiled"] = _float_images(g)
    out["pickle_dscore"] = ops.convert_to_numpy(d(out["pickle_images"]))
    # The grouped-convolution path. (Its config comes from a file: Keras' `get_config` imports
    # TensorFlow whenever it is installed, on any backend.)
    with open(os.path.join(os.path.dirname(pickle_path), GENERATOR_CONFIG)) as f:
        grouped = Generator(**dict(json.load(f), fused_modconv=True))
    grouped.set_weights(g.get_weights())
    _, out["pickle_grouped"], _ = _float_images(grouped)
    return out


def run_cli(preset_dir, outdir):
    """Runs every sampling command in this process; `{command: exit code}`."""
    from click.testing import CliRunner

    from keras_stylegan.cli.main import cli

    commands = {
        "sample": ["sample", "--seeds", "0-2", "--psi", str(PSI), "--out", f"{outdir}/sample.png"],
        "mix": ["mix", "--rows", "1,2", "--cols", "3", "--styles", "0-1", "--out", f"{outdir}/mix.png"],
        "interpolate": ["interpolate", "--seeds", "1,2", "--frames", "4", "--out", f"{outdir}/walk.gif"],
        "noise": ["noise", "--seed", "3", "--draws", "2", "--out", f"{outdir}/noise.png"],
    }
    codes = {}
    for name, args in commands.items():
        result = CliRunner().invoke(cli, args + ["--model", preset_dir])
        codes[name] = result.exit_code
        if result.exit_code:
            print(f"{name}: {result.output}", file=sys.stderr)
    return codes


def main():
    preset_dir, pickle_path, out_path = sys.argv[1:4]
    import keras

    out = run_models(preset_dir, pickle_path)
    codes = run_cli(preset_dir, sys.argv[4]) if len(sys.argv) > 4 else {}
    out["cli_exit_codes"] = np.array(json.dumps(codes))
    out["backend"] = np.array(keras.backend.backend())
    out["tensorflow_imported"] = np.array("tensorflow" in sys.modules)
    np.savez(out_path, **out)


if __name__ == "__main__":
    main()
