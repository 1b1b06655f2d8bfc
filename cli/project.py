"""`kstylegan project`: find the latent (W or W+) of a real image."""
import contextlib
import os

import click
import numpy as np

from keras_stylegan.cli.common import SEED, FiniteFloat, OneLineCommand, check_writable_dir, count, one_line_errors

MAX_VIDEO_FRAMES = 60
MAX_VIDEO_HEIGHT = 256
MAX_STEPS = 1_000_000


def _writable_outdir(outdir):
    return check_writable_dir(outdir, f"to --outdir {outdir}")


def _video_frames(result):
    """Target | projection side by side, as RGB (alpha composited onto black), at most 256 px high."""
    from keras_stylegan.data.images import convert_channels
    from keras_stylegan.utils.images import to_pil_image

    snapshots = [r["image"] for r in result.history if "image" in r]
    target = convert_channels(result.target, 3)
    frames = [to_pil_image(np.concatenate([target, convert_channels(image, 3)], axis=1)) for image in snapshots]
    scale = min(1.0, MAX_VIDEO_HEIGHT / target.shape[0])
    if scale < 1:
        frames = [f.resize((round(f.width * scale), round(f.height * scale))) for f in frames]
    return frames


def _write_outputs(outdir, result, save_video):
    """Writes every file under a temporary name first, then renames them all into place."""
    from keras_stylegan.utils.files import atomic_path
    from keras_stylegan.utils.images import to_pil_image

    writers = {
        "projected_w.npz": lambda f: np.savez(f, w=result.ws.astype(np.float32)),
        "proj.png": lambda f: to_pil_image(result.image).save(f, format="PNG"),
        "target.png": lambda f: to_pil_image(result.target).save(f, format="PNG"),
    }
    if save_video:
        frames = _video_frames(result)
        writers["proj.gif"] = lambda f: frames[0].save(f, format="GIF", save_all=True, append_images=frames[1:],
                                                       duration=100, loop=0)
    # Each atomic_path renames its file when its context exits: all of them after the last write
    # succeeded, none (every temporary removed) if any write fails.
    with contextlib.ExitStack() as stack:
        for name, write in writers.items():
            tmp = stack.enter_context(atomic_path(os.path.join(outdir, name)))
            with open(tmp, "wb") as f:
                write(f)
    return [os.path.join(outdir, name) for name in writers]


@click.command("project", cls=OneLineCommand)
@click.option("--target", required=True, metavar="FILE", help="Image to project (cropped and resized to the model).")
@click.option("--model", default="emoji", show_default=True, help="Model card name or local preset/pickle path.")
@click.option("--steps", type=count(MAX_STEPS), default=1000, show_default=True, help="Optimization steps.")
@click.option("--w-plus", is_flag=True, help="Optimize one w per layer (W+) instead of one w.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the initial noise maps.")
@click.option("--vgg-weights", default="imagenet", show_default=True, metavar="imagenet|PATH|none",
              help="VGG16 weights of the perceptual distance; offline, a local notop .h5 file.")
@click.option("--pixel-weight", type=FiniteFloat(min=0), default=0.0, show_default=True,
              help="Weight of an extra pixel MSE term.")
@click.option("--init", type=click.Choice(("w_avg", "encoder")), default="w_avg", show_default=True,
              help="Start from the mean w, or from an encoder's guess (`kstylegan encoder train`).")
@click.option("--encoder", "encoder_path", default=None, metavar="FILE.keras",
              help="Encoder for --init encoder.  [default: encoder.keras beside the model]")
@click.option("--outdir", default="out", show_default=True, metavar="DIR", help="Where to write the results.")
@click.option("--save-video", is_flag=True, help="Also write proj.gif, the optimization progress.")
@one_line_errors
def project_command(target, model, steps, w_plus, seed, vgg_weights, pixel_weight, init, encoder_path, outdir,
                    save_video):
    """Project an image into a generator's latent space (NVIDIA's projector).

    Writes projected_w.npz (key `w`, [1, num_ws, w_dim]), proj.png, target.png and, with
    --save-video, proj.gif.

    \b
    Example:
      kstylegan project --target photo.png --model ffhq --steps 1000 --outdir out --save-video
      kstylegan project --target photo.png --model models/emoji --steps 200 --init encoder
    """
    if not os.path.isfile(target):
        raise FileNotFoundError(f"--target not found: {target}")
    if init == "encoder":
        from keras_stylegan.editing import default_encoder_path

        encoder_path = encoder_path or default_encoder_path(model)
        if not os.path.isfile(encoder_path):
            raise FileNotFoundError(f"no encoder at {encoder_path}: train one with `kstylegan encoder train "
                                    f"--model {model}` or pass --encoder FILE.keras")
    elif encoder_path is not None:
        raise ValueError("--encoder is used with --init encoder only")
    _writable_outdir(outdir)
    from keras_stylegan import zoo
    from keras_stylegan.projection import project

    generator = zoo.load(model)
    result = project(
        generator, target, num_steps=steps, w_plus=w_plus, seed=seed,
        vgg_weights=None if vgg_weights.lower() == "none" else vgg_weights, pixel_weight=pixel_weight,
        snapshot_every=max(1, steps // MAX_VIDEO_FRAMES) if save_video else 0, init=init, encoder=encoder_path,
    )
    for path in _write_outputs(outdir, result, save_video):
        click.echo(f"wrote {path}")
