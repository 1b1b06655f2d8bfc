"""`kstylegan encoder train`: learn an image -> w encoder from a generator's own samples."""
import os

import click

from keras_stylegan.cli.common import PSI, SEED, FiniteFloat, OneLineGroup, check_writable_dir, count, one_line_errors
from keras_stylegan.cli.sample import load_generator, model_option


@click.group("encoder", cls=OneLineGroup)
def encoder_group():
    """Image -> w encoders: a better start for `kstylegan project --init encoder`.

    Example: kstylegan encoder train --model emoji --steps 2000
    """


def _output_path(out, model):
    """`--out DIR` -> DIR/encoder.keras, `--out FILE.keras` as is, none -> beside the model."""
    from keras_stylegan.editing.encoder import ENCODER_FILE, default_encoder_path

    if out is None:
        path = default_encoder_path(model)
    else:
        path = out if out.lower().endswith(".keras") else os.path.join(out, ENCODER_FILE)
    directory = os.path.dirname(os.path.abspath(path))
    check_writable_dir(directory, f"the encoder to {path}")
    return path


@encoder_group.command("train")
@model_option
@click.option("--steps", type=count(1_000_000), default=2000, show_default=True, help="Training steps.")
@click.option("--batch", type=count(1024), default=16, show_default=True, help="Images per step.")
@click.option("--w-plus", is_flag=True, help="Predict one w per layer (W+) instead of one w.")
@click.option("--pixel-weight", type=FiniteFloat(min=0), default=0.0, show_default=True,
              help="Weight of the pixel loss of the re-synthesized image (slower).")
@click.option("--lr", type=FiniteFloat(min=0, min_open=True), default=1e-3, show_default=True,
              help="Adam learning rate.")
@click.option("--psi", type=PSI, default=1.0, show_default=True, help="Truncation psi of the training ws.")
@click.option("--filters", type=count(256), default=32, show_default=True,
              help="Channels of the encoder's first block (doubled per block, capped at 256).")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the training latents.")
@click.option("--out", default=None, metavar="DIR|FILE.keras",
              help="Where to save (DIR/encoder.keras).  [default: encoder.keras in the model's preset directory]")
@one_line_errors
def train_command(model, steps, batch, w_plus, pixel_weight, lr, psi, filters, seed, out):
    """Train an encoder on (G(w), w) pairs sampled from the model and save it as a .keras file.

    \b
    Example:
      kstylegan encoder train --model models/emoji --steps 2000 --out models/emoji
      kstylegan project --model models/emoji --target photo.png --init encoder
    """
    from keras_stylegan.editing import train_encoder

    path = _output_path(out, model)
    generator = load_generator(model)
    encoder = train_encoder(generator, steps=steps, batch_size=batch, w_plus=w_plus, learning_rate=lr,
                            pixel_weight=pixel_weight, psi=psi, seed=seed, base_filters=filters)
    from keras_stylegan.utils.files import atomic_path

    with atomic_path(path, suffix=".keras") as tmp:
        encoder.save(tmp)
    click.echo(f"wrote {path}")
