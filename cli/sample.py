"""`kstylegan sample | mix | interpolate | noise`: images, style mixing, latent walks, noise variation."""
import math
import os

import click

from keras_stylegan.cli.common import PSI, SEED, FiniteFloat, OneLineCommand, check_writable_dir, count, one_line_errors
from keras_stylegan.sampling import NOISE_MODES

# Limits of one run, checked before any list is built or any model is loaded (every image is held in memory).
MAX_IMAGES = 10_000  # sample: --n / --seeds
MAX_FRAMES = 10_000  # interpolate: --frames
MAX_FPS = 1000
MAX_DRAWS = 100  # noise: draws per row (the figure has a row per block plus one)


def model_option(func):
    return click.option("--model", default="emoji", show_default=True,
                        help="Card name (see `kstylegan zoo list`), preset directory, .pkl file or URL.")(func)


def truncation_options(func):
    func = click.option("--class", "class_label", type=click.IntRange(min=0), default=None,
                        help="Class index, for conditional models [default: seed S takes class S mod classes].")(func)
    func = click.option("--cutoff", type=click.IntRange(min=0), default=None,
                        help="Truncate only style layers below this index (default: all).")(func)
    return click.option("--psi", type=PSI, default=1.0, show_default=True,
                        help="Truncation psi (1 = off; 0.7 trades variety for quality).")(func)


def noise_mode_option(func):
    return click.option("--noise-mode", type=click.Choice(NOISE_MODES), default="const", show_default=True,
                        help="Noise inputs: stored maps (reproducible), fresh random draws, or none.")(func)


def check_positive(*options):
    """`check_positive(("--n", n), ("--batch", batch))`: each given value must be >= 1."""
    for option, value in options:
        if value is not None and value < 1:
            raise ValueError(f"{option} must be >= 1. Received: {value}")


def check_finite(option, value):
    if not math.isfinite(value):
        raise ValueError(f"{option} must be a finite number. Received: {value}")
    return value


def parse_translate(text):
    """`--translate 'X,Y'` -> `(x, y)` floats (`(0, 0)` when not given)."""
    if text is None:
        return (0.0, 0.0)
    try:
        x, y = (float(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"--translate must be two numbers 'X,Y'. Received: {text!r}") from None
    return check_finite("--translate", x), check_finite("--translate", y)


def load_generator(model):
    """`zoo.load`, with a clear message for a path that does not exist (instead of 'unknown card')."""
    from keras_stylegan.zoo import load

    looks_like_path = os.sep in model or model.startswith(".") or model.endswith((".pkl", ".keras"))
    if looks_like_path and "://" not in model and not os.path.exists(model):
        raise ValueError(f"--model: no such file or directory: {model}")
    return load(model)


@click.command("sample", cls=OneLineCommand)
@model_option
@click.option("--n", "num", type=count(MAX_IMAGES), default=None,
              help=f"Number of images, seeds 0..n-1 (at most {MAX_IMAGES}).  [default: 16]")
@click.option("--seeds", default=None, help="Seeds, NVIDIA style: '0-15', '1,5,9' or '0-3,7'.")
@truncation_options
@noise_mode_option
@click.option("--out", default=None, help="Grid image to write.  [default: samples.png]")
@click.option("--outdir", default=None, help="Write one image per seed (seed0000.png, ...) here instead of a grid.")
@click.option("--cols", type=count(MAX_IMAGES), default=None,
              help="Grid columns, at most the number of images (default: a square-ish grid).")
@click.option("--batch", type=click.IntRange(min=1), default=8, show_default=True, help="Images per forward pass.")
@click.option("--translate", default=None, help="StyleGAN3 only: translate the images by 'X,Y' (image widths).")
@click.option("--rotate", type=FiniteFloat(), default=None,
              help="StyleGAN3 only: rotate the images by this many degrees.")
@click.option("--precision", type=click.Choice(["fp32", "bf16"]), default="fp32", show_default=True,
              help="bf16: convolutions in bfloat16: only for CPUs/GPUs with bfloat16 units (elsewhere "
                   "it is slower); images differ from fp32 by ~1% of their std on average.")
@one_line_errors
def sample_command(model, num, seeds, psi, cutoff, class_label, noise_mode, out, outdir, cols, batch, translate,
                   rotate, precision):
    """Generate images from seeds: one grid, or one file per seed.

    \b
    Example:
      kstylegan sample --n 16 --psi 0.7 --model emoji --out grid.png
      kstylegan sample --seeds 0-3,7 --outdir samples/
      kstylegan sample --model stylegan3-t-ffhqu-256 --seeds 0-3 --translate 0.1,0 --rotate 10
      kstylegan sample --model emoji --seeds 0-7 --precision bf16
    """
    from keras_stylegan import sampling

    seeds = sampling.parse_seeds(seeds) if seeds is not None else list(range(16 if num is None else num))
    if len(seeds) > MAX_IMAGES:
        raise ValueError(f"--seeds names {len(seeds)} seeds; at most {MAX_IMAGES} images per run")
    if num is not None and len(seeds) != num:
        raise ValueError(f"--n {num} does not match --seeds ({len(seeds)} seeds); pass one of them")
    if out is not None and outdir is not None:
        raise ValueError("pass --out (one grid) or --outdir (one file per seed), not both")
    if outdir is not None and cols is not None:
        raise ValueError("--cols lays out a grid; it does not apply to --outdir")
    if cols is not None and cols > len(seeds):
        raise ValueError(f"--cols must be at most the number of images ({len(seeds)}). Received: {cols}")
    if outdir is None:
        out = sampling.check_output_path(out or "samples.png")
    elif not outdir.strip():
        raise ValueError("--outdir must name a directory. Received: ''")
    shift = parse_translate(translate)
    g = load_generator(model)
    if outdir is not None:
        check_writable_dir(outdir, f"images to --outdir {outdir}")
    else:
        sampling.check_image_format(out, g.channels)
    if translate is not None or rotate is not None:
        from keras_stylegan.networks.stylegan3 import set_input_transform

        set_input_transform(g, translate=shift, rotate=rotate or 0.0)  # FiniteFloat checked it
    if precision != "fp32":
        if g.architecture == "stylegan3":
            raise ValueError(f"--precision {precision} is not supported for StyleGAN3 models; use fp32")
        g = g.with_precision(precision)
    images = sampling.generate_images(g, seeds, psi=psi, truncation_cutoff=cutoff, noise_mode=noise_mode,
                                      class_label=class_label, batch_size=batch, progress=True)
    if outdir is None:
        click.echo(f"wrote {sampling.save_image(sampling.image_grid(images, cols), out)}")
        return
    for seed, image in zip(seeds, images):
        sampling.save_image(image, os.path.join(outdir, f"seed{seed:04d}.png"))
    click.echo(f"wrote {len(images)} images to {outdir}")


@click.command("mix", cls=OneLineCommand)
@model_option
@click.option("--rows", required=True, help="Seeds of the rows (the images styles are copied into).")
@click.option("--cols", required=True, help="Seeds of the columns (the images styles are copied from).")
@click.option("--styles", default="coarse", show_default=True,
              help="Style layers taken from the column seeds: coarse (4²-8²), middle (16²-32²), fine (64²+), "
                   "or indices like 0-6.")
@truncation_options
@noise_mode_option
@click.option("--out", default="mix.png", show_default=True, help="Grid image to write.")
@click.option("--batch", type=click.IntRange(min=1), default=8, show_default=True, help="Images per forward pass.")
@one_line_errors
def mix_command(model, rows, cols, styles, psi, cutoff, class_label, noise_mode, out, batch):
    """Style-mixing grid (StyleGAN paper figure 3).

    The top row shows the column seeds, the left column the row seeds; each cell is its
    row seed with the --styles layers taken from its column seed.

    \b
    Example:
      kstylegan mix --rows 85,100,75 --cols 55,821,1789 --styles coarse --out mix.png
    """
    from keras_stylegan import sampling

    rows, cols = sampling.parse_seeds(rows), sampling.parse_seeds(cols)
    if len(rows) * len(cols) > sampling.MAX_MIX_CELLS:
        raise ValueError(f"--rows x --cols is {len(rows)} x {len(cols)} mixed cells; at most "
                         f"{sampling.MAX_MIX_CELLS} per grid")
    out = sampling.check_output_path(out)
    g = load_generator(model)
    sampling.check_image_format(out, g.channels)
    grid = sampling.style_mixing_grid(g, rows, cols, styles=styles, psi=psi, truncation_cutoff=cutoff,
                                      noise_mode=noise_mode, class_label=class_label, batch_size=batch)
    click.echo(f"wrote {sampling.save_image(grid, out)}")


@click.command("interpolate", cls=OneLineCommand)
@model_option
@click.option("--seeds", default="0-3", show_default=True, help="Seeds to walk through (the walk loops back).")
@click.option("--frames", type=count(MAX_FRAMES), default=60, show_default=True,
              help=f"Frames in the whole loop (at most {MAX_FRAMES}).")
@click.option("--space", type=click.Choice(("z", "w")), default="z", show_default=True,
              help="Interpolate z (slerp) or w (lerp).")
@truncation_options
@noise_mode_option
@click.option("--fps", type=count(MAX_FPS), default=30, show_default=True, help="Frames per second.")
@click.option("--out", default="interpolation.gif", show_default=True,
              help="Animation to write: .gif, or .mp4 with the video extra (imageio-ffmpeg).")
@click.option("--batch", type=click.IntRange(min=1), default=8, show_default=True, help="Images per forward pass.")
@click.option("--translate", default=None,
              help="StyleGAN3 only: instead of a walk, pan one seed's image by 'X,Y' (image widths) over the frames.")
@click.option("--rotate", type=FiniteFloat(), default=None,
              help="StyleGAN3 only: instead of a walk, rotate one seed's image by this many degrees over the frames.")
@one_line_errors
def interpolate_command(model, seeds, frames, space, psi, cutoff, class_label, noise_mode, fps, out, batch, translate,
                        rotate):
    """Animate a looping walk through the seeds' latents, or (StyleGAN3) pan/rotate one seed.

    \b
    Example:
      kstylegan interpolate --seeds 1,2,3 --frames 60 --space w --out walk.gif
      kstylegan interpolate --model stylegan3-r-afhqv2-512 --seeds 7 --rotate 90 --out spin.gif
    """
    from keras_stylegan import sampling

    seeds = sampling.parse_seeds(seeds)
    if translate is not None or rotate is not None:  # the equivariance animation of StyleGAN3
        shift = parse_translate(translate)
        angle = rotate or 0.0  # FiniteFloat checked it
        if len(seeds) != 1:
            raise ValueError(f"--translate/--rotate animate one seed: pass --seeds N. Received: {len(seeds)} seeds")
        out = sampling.check_animation_path(out)
        g = load_generator(model)
        if g.architecture != "stylegan3":
            raise ValueError(f"--translate/--rotate need a StyleGAN3 model; this one is {g.architecture!r}")
        from keras_stylegan.networks.stylegan3 import transform_frames

        ws = sampling.map_seeds(g, seeds, psi=psi, truncation_cutoff=cutoff, class_label=class_label)
        images = sampling.to_uint8(transform_frames(g, ws, frames=frames, translate=shift, rotate=angle))
        click.echo(f"wrote {sampling.save_animation(list(images), out, fps=fps)}")
        return
    if len(seeds) < 2:
        raise ValueError(f"--seeds must name at least two seeds to interpolate. Received: {seeds}")
    out = sampling.check_animation_path(out)
    g = load_generator(model)
    images = sampling.interpolate(g, seeds, frames=frames, space=space, psi=psi, truncation_cutoff=cutoff,
                                  noise_mode=noise_mode, class_label=class_label, batch_size=batch, progress=True)
    click.echo(f"wrote {sampling.save_animation(images, out, fps=fps)}")


@click.command("noise", cls=OneLineCommand)
@model_option
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of z (the same z as `sample`).")
@click.option("--draws", type=count(MAX_DRAWS), default=4, show_default=True,
              help=f"Noise draws per row (at most {MAX_DRAWS}).")
@click.option("--hold", type=click.Choice(("const", "none")), default="const", show_default=True,
              help="Noise of the blocks not varied: stored maps, or zero.")
@truncation_options
@click.option("--out", default="noise.png", show_default=True, help="Figure to write.")
@one_line_errors
def noise_command(model, seed, draws, hold, psi, cutoff, class_label, out):
    """Stochastic variation (StyleGAN paper figures 4-5): one w, several noise draws.

    Row 1 varies the noise of every block, each further row only one block (4x4, 8x8,
    ...); the last column is the per-pixel standard deviation over the draws.

    \b
    Example:
      kstylegan noise --seed 3 --draws 4 --out noise.png
    """
    from keras_stylegan import sampling
    from keras_stylegan.utils.shapes import block_name, block_shapes

    out = sampling.check_output_path(out)
    g = load_generator(model)
    if g.architecture == "stylegan3":
        raise ValueError("StyleGAN3 models have no noise inputs: there is no stochastic variation to show")
    sampling.check_image_format(out, g.channels)
    figure = sampling.noise_figure(g, seed, num_draws=draws, psi=psi, truncation_cutoff=cutoff, hold=hold,
                                   class_label=class_label)
    rows = ", ".join(["all blocks"] + [block_name(shape) for shape in block_shapes(g.resolution)])
    click.echo(f"wrote {sampling.save_image(figure, out)} (rows: {rows}; last column: std)")


COMMANDS = (sample_command, mix_command, interpolate_command, noise_command)
