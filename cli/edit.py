"""`kstylegan edit`: a strip of images moving one latent along a direction, on chosen style layers."""
import os
import zipfile

import click
import numpy as np

from keras_stylegan.cli.common import PSI, SEED, OneLineCommand, count, one_line_errors
from keras_stylegan.cli.sample import load_generator, model_option, noise_mode_option

MAX_STEPS = 1000


def _read_w(path):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--w not found: {path}")
    try:
        data = np.load(path, allow_pickle=False)
        if not hasattr(data, "files"):  # a .npy file gives a bare array
            raise ValueError(f"--w {path} is a .npy array, not an .npz file with an array 'w'")
        with data:
            if "w" not in data.files:
                raise ValueError(f"--w {path} has no array 'w' (found: {data.files})")
            return np.asarray(data["w"], np.float32)
    except (EOFError, zipfile.BadZipFile, ValueError, OSError) as e:
        message = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ValueError(message if message.startswith("--w ") else f"--w {path}: not a readable .npz file "
                         f"({message})") from None


@click.command("edit", cls=OneLineCommand)
@model_option
@click.option("--seed", type=SEED, default=None, help="Edit the w of this seed (the same z as `sample`).")
@click.option("--w", "w_file", default=None, metavar="FILE.npz", help="Edit this latent (key w, e.g. projected_w.npz).")
@click.option("--psi", type=PSI, default=1.0, show_default=True, help="Truncation psi of the --seed latent.")
@click.option("--direction", required=True, metavar="FILE.npz[:K]",
              help="Row K (default 0) of the file's `directions` (from `kstylegan directions`).")
@click.option("--strength", default="-3,3", show_default=True, metavar="MIN,MAX|S",
              help="Strength range (distance in W along the unit direction); S means -S,S.")
@click.option("--steps", type=count(MAX_STEPS), default=7, show_default=True,
              help=f"Images in the strip (at most {MAX_STEPS}).")
@click.option("--layers", default=None, help="Style layers to edit, e.g. 0-5 or coarse.  [default: all]")
@noise_mode_option
@click.option("--out", default="edit.png", show_default=True, help="Strip image to write.")
@one_line_errors
def edit_command(model, seed, w_file, psi, direction, strength, steps, layers, noise_mode, out):
    """Edit a latent along a direction: one image per strength, left to right.

    \b
    Example:
      kstylegan directions --model emoji --method sefa --layers 0-3 --out dirs.npz
      kstylegan edit --model emoji --seed 7 --direction dirs.npz:0 --strength -3,3 --steps 7 --layers 0-5
      kstylegan edit --model emoji --w out/projected_w.npz --direction smile.npz --out smile.png
    """
    from keras_stylegan import sampling
    from keras_stylegan.editing import edit, load_direction, parse_layers, parse_strengths

    if (seed is None) == (w_file is None):
        raise ValueError("pass exactly one of --seed (a generated image) or --w (a latent file)")
    strengths = parse_strengths(strength, steps)
    vector = load_direction(direction)
    w = _read_w(w_file) if w_file is not None else None
    out = sampling.check_output_path(out)
    generator = load_generator(model)
    sampling.check_image_format(out, generator.channels)
    layers = parse_layers(layers, generator, name="--layers")
    if w is None:
        w = sampling.map_seeds(generator, [seed], psi=psi)[0]
    images = edit(generator, w, vector, strengths, layers=layers, noise_mode=noise_mode)
    click.echo(f"wrote {sampling.save_image(sampling.image_grid(images, cols=len(images)), out)} "
               f"(strengths {', '.join(f'{s:g}' for s in strengths)})")
