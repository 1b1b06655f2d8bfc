"""`kstylegan train`: train or resume a StyleGAN run."""
import sys

import click

from keras_stylegan.cli.common import OneLineCommand, one_line_errors


@click.command("train", cls=OneLineCommand)
@click.option("--data", required=True, type=click.Path(), help="Folder, .zip, .npz or .npy of images.")
@click.option("--outdir", required=True, type=click.Path(), help="Run directory (an existing run is resumed).")
@click.option("--arch", type=click.Choice(["stylegan2", "stylegan"]), default="stylegan2", show_default=True,
              help="StyleGAN2, or StyleGAN (2019) with progressive growing.")
@click.option("--resolution", default="32", show_default=True, help="Training size: 32 or WxH such as 64x32.")
@click.option("--channels", type=click.IntRange(1, 4), default=None,
              help="1 gray, 2 gray+alpha, 3 RGB, 4 RGBA [default: the data's].")
@click.option("--kimg", type=click.FloatRange(min=0, min_open=True), default=1000, show_default=True,
              help="Total thousands of real images to show.")
@click.option("--batch", type=click.IntRange(min=1), default=None, help="Global batch size [default: by resolution].")
@click.option("--aug", type=click.Choice(["ada", "fixed", "none"]), default="ada", show_default=True,
              help="Discriminator augmentation: adaptive, fixed probability (--p), or none.")
@click.option("--p", "augment_p", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Augmentation probability (fixed, or ADA's starting value).")
@click.option("--target", type=click.FloatRange(0, 1), default=0.6, show_default=True, help="ADA target.")
@click.option("--ada-kimg", type=click.FloatRange(min=0, min_open=True), default=500.0, show_default=True,
              help="ADA speed: kimg for p to go from 0 to 1.")
@click.option("--gamma", type=click.FloatRange(min=0), default=None, help="R1 weight [default: 0.0002*res^2/batch].")
@click.option("--r1-interval", type=click.IntRange(min=1), default=None,
              help="Lazy R1: every this many steps [default: 16 StyleGAN2, 1 StyleGAN].")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None, help="Learning rate.")
@click.option("--loss", type=click.Choice(["logistic", "wgan-gp"]), default="logistic", show_default=True)
@click.option("--cbase", type=click.IntRange(min=1), default=None, help="Channel base (width numerator).")
@click.option("--cmax", type=click.IntRange(min=1), default=None, help="Maximum channels per layer.")
@click.option("--map", "mapping_layers", type=click.IntRange(min=1), default=None, help="Mapping layers.")
@click.option("--zdim", type=click.IntRange(min=1), default=None, help="Latent width.")
@click.option("--wdim", type=click.IntRange(min=1), default=None, help="Intermediate latent width.")
@click.option("--ema", type=click.FloatRange(min=0), default=None, help="Generator EMA half-life in kimg.")
@click.option("--mbstd", type=click.IntRange(min=0), default=None,
              help="Discriminator minibatch-stddev group size, 0 off [default: 4].")
@click.option("--mirror", is_flag=True, help="Mirror half of the reals left-right.")
@click.option("--cond", is_flag=True, help="Condition on the labels of the data's dataset.json.")
@click.option("--tick", type=click.FloatRange(min=0, min_open=True), default=4.0, show_default=True,
              help="kimg per tick (stats, sample grid, checkpoint).")
@click.option("--snap", type=click.IntRange(min=1), default=10, show_default=True,
              help="Network snapshot every this many ticks.")
@click.option("--lod-kimg", type=click.FloatRange(min=0), default=600.0, show_default=True,
              help="StyleGAN: kimg stabilizing each resolution (and fading it in, unless --lod-fade-kimg).")
@click.option("--lod-fade-kimg", type=click.FloatRange(min=0), default=None,
              help="StyleGAN: kimg fading in each resolution [default: --lod-kimg].")
@click.option("--lod-start", type=click.IntRange(min=4), default=8, show_default=True,
              help="StyleGAN: resolution progressive growing starts at.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--strategy", type=click.Choice(["none", "mirrored", "multiworker"]), default="none",
              show_default=True, help="Several devices (mirrored) or machines (multiworker, from TF_CONFIG).")
@one_line_errors
def train_command(data, outdir, arch, resolution, channels, kimg, batch, aug, augment_p, target, ada_kimg, gamma,
                  r1_interval, lr, loss, cbase, cmax, mapping_layers, zdim, wdim, ema, mbstd, mirror, cond, tick, snap,
                  lod_kimg, lod_fade_kimg, lod_start, seed, strategy):
    """Train a StyleGAN on a folder or zip of images; rerun on the same --outdir to resume.

    Example: kstylegan train --data emoji64.zip --outdir runs/emoji --resolution 32 --channels 4 --kimg 300
    """
    import os

    if not os.path.exists(data):
        raise ValueError(f"--data not found: {data}")
    from keras_stylegan.training.run import TrainingError, train

    try:
        fade_kimg = lod_kimg if lod_fade_kimg is None else lod_fade_kimg
        train(data, outdir, architecture=arch, resolution=resolution, channels=channels, kimg=kimg, batch_size=batch,
              augment=aug, augment_p=augment_p, ada_target=target, ada_kimg=ada_kimg, r1_gamma=gamma,
              r1_interval=r1_interval, learning_rate=lr, loss=loss,
              channel_base=cbase, channel_max=cmax, mapping_layers=mapping_layers, z_dim=zdim, w_dim=wdim,
              ema_kimg=ema, mbstd_group_size=mbstd, xflip=mirror, conditional=cond, tick_kimg=tick, snapshot_ticks=snap,
              lod_initial_resolution=lod_start, lod_training_kimg=lod_kimg, lod_transition_kimg=fade_kimg,
              seed=seed, strategy=strategy, verbose=1 if sys.stdout.isatty() else 2)
    except TrainingError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
