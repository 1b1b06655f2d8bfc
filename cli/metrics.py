"""`kstylegan metrics`: FID, KID, precision/recall, PPL and SWD of a generator, NVIDIA's metric names."""
import click

from keras_stylegan.cli.common import SEED, OneLineCommand, count, one_line_errors
from keras_stylegan.cli.sample import load_generator, model_option

MAX_IMAGES = 1_000_000


@click.command("metrics", cls=OneLineCommand)
@click.option("--metrics", "names", default="fid50k", show_default=True,
              help="Comma-separated: fid50k, kid50k, pr50k3, ppl_zfull, ppl_wfull, ppl_zend, ppl_wend, swd.")
@model_option
@click.option("--data", default=None, help="Real images: folder, .zip, .npz or .npy (not needed for ppl_*).")
@click.option("--num", type=count(MAX_IMAGES), default=None,
              help=f"Generated images / PPL paths, at most {MAX_IMAGES} (default: 50000; swd 16384).")
@click.option("--batch", type=count(1024), default=16, show_default=True, help="Images per forward pass.")
@click.option("--crop", is_flag=True, help="NVIDIA's face crop for PPL (square FFHQ-like images).")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of latents and subsets.")
@click.option("--inception-weights", default="imagenet", show_default=True,
              help="InceptionV3 notop weights: 'imagenet' (Keras download, cached) or a local .h5 file.")
@click.option("--vgg-weights", default="imagenet", show_default=True,
              help="VGG16 notop weights for PPL: 'imagenet' or a local .h5 file.")
@one_line_errors
def metrics_command(names, model, data, num, batch, crop, seed, inception_weights, vgg_weights):
    """Evaluate a generator; prints one `name value` line per result.

    FID/KID/PR use Keras' ImageNet InceptionV3 and PPL an LPIPS-style VGG16 distance without
    LPIPS' learned weights: compare models with each other, not with NVIDIA's tables.

    \b
    Example:
      kstylegan metrics --metrics fid50k,kid50k,pr50k3,ppl_wend,swd --model emoji --data emoji.zip --num 5000
    """
    from keras_stylegan.data import read_images
    from keras_stylegan.metrics import compute_metrics
    from keras_stylegan.metrics.evaluate import parse_metrics

    parsed = parse_metrics(names)
    if data is None and any(not name.startswith("ppl") for name in parsed):
        raise ValueError("--data is required for fid50k, kid50k, pr50k3 and swd")
    g = load_generator(model)
    real, info = (None, None) if data is None else read_images(data, g.resolution, channels=g.channels)
    labels = info.labels if info is not None and g.num_classes else None  # classes as frequent as in the data
    results = compute_metrics(g, real, parsed, num_images=num, inception_weights=inception_weights,
                              vgg_weights=vgg_weights, crop=crop, batch_size=batch, seed=seed, progress=True,
                              real_labels=labels)
    for name, value in results.items():
        click.echo(f"{name} {value:.6g}")
